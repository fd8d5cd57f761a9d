// npm run status -- [--stack local|prod] [--plan <plan.json>] [--once] [--interval <s>]
// A live view of every host, refreshed like top: health per published port, requests/s,
// 5xx and cache hit ratios, the resizers' in-flight, queue, 503s and p99, certificate
// days left. Rates are measured over the interval between two reads. `--once` prints one
// table (two reads an interval apart) and exits: 0 when every host is healthy, 1 otherwise.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../config.js";
import { readHost } from "../status/collect.js";
import { hostStatus, renderStatus, type HostRead } from "../status/view.js";
import { specFromStackYaml, stackFileName } from "../stack.js";
import { planCluster, type ClusterPlan } from "../topology.js";

const USAGE = `usage: npm run status -- [--stack <name>] [--plan <plan.json>] [--once] [--interval <seconds>]

  --stack <name>    read the hosts of Pulumi.<name>.yaml (default: local, as npm start runs it);
                    a deployed stack is read through each host's ssh (docker exec into <host>-ops)
  --plan <file>     a plan.json instead: the one npm start writes into its work directory
                    (any ports), or npm run render's
  --once            print one table and exit (1 when a host has a problem)
  --interval <s>    seconds between reads (default 2)`;

const projectRoot = resolve(__dirname, "../..");

function loadPlan(args: { stack?: string; plan?: string }): ClusterPlan {
  if (args.plan !== undefined) return JSON.parse(readFileSync(resolve(args.plan), "utf8")) as ClusterPlan;
  const stack = args.stack ?? "local";
  const file = stackFileName(stack);
  const spec = specFromStackYaml(readFileSync(join(projectRoot, file), "utf8"), file);
  // The local stack is what `npm start` runs (its own ports on loopback); others are deployed.
  return planCluster(spec, stack === "local" ? { kind: "local", root: "/" } : { kind: "container" });
}

const readAll = (plan: ClusterPlan) => Promise.all(plan.hosts.map((h) => readHost(plan, h)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function view(plan: ClusterPlan, before: HostRead[], after: HostRead[], label: string): { text: string; healthy: boolean } {
  const statuses = after.map((a, i) => hostStatus(before[i]!, a));
  const seconds = ((after[0]?.at ?? 0) - (before[0]?.at ?? 0)) / 1000;
  const title = `image-origin status: ${label}, ${plan.hosts.length} host${plan.hosts.length === 1 ? "" : "s"}, ${new Date().toISOString().replace("T", " ").slice(0, 19)} UTC, rates over ${seconds.toFixed(1)} s`;
  return { text: renderStatus(title, statuses), healthy: statuses.every((s) => s.problems.length === 0) };
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({ options: { stack: { type: "string" }, plan: { type: "string" }, once: { type: "boolean" }, interval: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) return void process.stdout.write(`${USAGE}\n`);
  const interval = Number(args.interval ?? "2");
  if (!(interval > 0 && interval <= 300)) {
    process.stderr.write(`--interval: seconds between 0 and 300\n${USAGE}\n`);
    process.exit(2);
  }
  let plan: ClusterPlan;
  try {
    plan = loadPlan(args);
  } catch (e) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : `npm run status: ${(e as Error).message}`}\n`);
    process.exit(1);
  }
  const label = args.plan !== undefined ? `plan ${args.plan}` : `stack ${args.stack ?? "local"}`;

  let before = await readAll(plan);
  if (args.once) {
    await sleep(interval * 1000);
    const out = view(plan, before, await readAll(plan), label);
    process.stdout.write(out.text);
    process.exit(out.healthy ? 0 : 1);
  }
  // Live: redraw in place until q or Ctrl-C.
  let running = true;
  const quit = () => {
    running = false;
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.stdout.write("\n");
    process.exit(0);
  };
  process.on("SIGINT", quit);
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.on("data", (d) => (d.toString() === "q" || d[0] === 3 ? quit() : undefined));
  }
  while (running) {
    await sleep(interval * 1000);
    const after = await readAll(plan);
    process.stdout.write(`\x1b[H\x1b[2J${view(plan, before, after, label).text}\n(every ${interval} s; q to quit)\n`);
    before = after;
  }
}

void main();
