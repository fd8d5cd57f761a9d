// npm run bench:frozen-slave [-- --seconds 6]
// How fast the master's own thumbnails (/thumbnail/, from its disk) stay while a slave is
// frozen (SIGSTOP) under a static load that keeps meeting it, against the same
// measurement with both slaves healthy, in one run on the local cluster of `npm start`
// (infra/local/launcher.ts, free loopback ports, a generated sample tree). Prints the
// latency percentiles of each phase and their ratio. Never run by `npm test`: the fault
// test (test/e2e/slave-faults.test.ts) only requires that no thumbnail waits for a slave.
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { startE2E, steadyLoad, type E2E, type Outcome } from "../test/helpers/e2e.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "6" } } });
const SECONDS = Number(values.seconds);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

interface Phase {
  name: string;
  thumbnails: Outcome[];
  staticFailed: number;
}

/** Thumbnails at a steady pace next to a static load over both slaves, for SECONDS. */
async function phase(e2e: E2E, name: string, during: () => void, after: () => void): Promise<Phase> {
  const statics = steadyLoad(e2e, e2e.tree.stills.slice(0, 8).map((path) => ({ path })), { concurrency: 4 });
  const thumbs = steadyLoad(e2e, e2e.tree.thumbnails.slice(0, 6).map((path) => ({ path })), { concurrency: 1, pauseMs: 10 });
  await statics.until(20);
  const from = performance.now();
  during();
  try {
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
  } finally {
    after();
  }
  const s = await statics.stop();
  const t = await thumbs.stop();
  return { name, thumbnails: t.outcomes.filter((o) => o.at >= from), staticFailed: s.failed.length };
}

async function main() {
  const e2e = await startE2E("bench-frozen");
  try {
    const [slave01] = e2e.cluster.slaves;
    const healthy = await phase(e2e, "both slaves healthy", () => {}, () => {});
    const frozen = await phase(e2e, "slave01 frozen (SIGSTOP)", () => slave01!.pause(), () => slave01!.resume());
    const stats = (p: Phase) => {
      const ms = p.thumbnails.map((o) => o.ms).sort((a, b) => a - b);
      return { n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.at(-1) ?? NaN };
    };
    const a = stats(healthy);
    const b = stats(frozen);
    const f = (n: number) => n.toFixed(1);
    console.log(`# Master thumbnails while a slave is frozen (${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}, ${SECONDS}s per phase)\n`);
    console.log("| phase | thumbnails | p50 ms | p99 ms | max ms | failed static requests |");
    console.log("|---|---|---|---|---|---|");
    for (const [p, s] of [[healthy, a], [frozen, b]] as const) console.log(`| ${p.name} | ${s.n} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.max)} | ${p.staticFailed} |`);
    console.log(`\nratio frozen / healthy: p50 ${(b.p50 / a.p50).toFixed(2)}, p99 ${(b.p99 / a.p99).toFixed(2)}, max ${(b.max / a.max).toFixed(2)}`);
  } finally {
    await e2e.close();
  }
}

void main();
