// Tier 5: one resizer container exactly as production declares it (Pulumi.prod.yaml: its
// RESIZER_* environment, 1024 MB memory limit, 2 CPUs, read-only root, uid 1000) under
// the heaviest valid requests a client can send at once. Before memory admission, two
// 4096x4096 AVIF enlargements OOM-killed it within seconds. The peak RSS of the container's
// processes and the cgroup's peak usage are reported (t.diagnostic).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { after, before, it } from "node:test";
import { planCluster } from "../../infra/topology.js";
import { writeSampleTree } from "../../scripts/sample-images.js";
import {
  baseImageOf, containerName, docker, fetchWithin, hostPort, inspect, logs, removeContainers, requireDocker, requireImage, runDetached, waitHttp,
} from "../helpers/docker.js";
import { stackSpec } from "../helpers/stage.js";

const name = containerName("resizer-memory");
const prod = planCluster(stackSpec("Pulumi.prod.yaml"));
const replica = prod.hosts[0]!.resizers[0]!;
let treeDir = "";
let base = "";
let containerId = "";

before(async () => {
  await requireDocker();
  await requireImage(await baseImageOf("resizer/Dockerfile"));
  // By image id, not by tag: other work on this engine may retag the shared test tag.
  const image = await docker(["build", "--quiet", "-f", "resizer/Dockerfile", "."], { timeoutMs: 600_000 });
  treeDir = mkdtempSync(path.join(tmpdir(), "resizer-memory-"));
  chmodSync(treeDir, 0o755);
  await writeSampleTree(path.join(treeDir, "images"), { thumbnails: 1, stills: 1 });
  const port = Number(replica.env.RESIZER_PORT);
  containerId = await runDetached(name, [
    "--read-only",
    "--user", "1000:1000",
    "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges",
    "--memory", `${replica.memoryMb}m`,
    "--memory-swap", `${replica.memoryMb}m`,
    // Prod's replica may use up to 4 CPUs; an engine refuses a limit above its own (this one
    // may have 2). Its concurrency, and so its workers and their memory, stay prod's.
    "--cpus", String(Math.min(replica.cpus, availableParallelism())),
    "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=128m,uid=1000,gid=1000",
    ...Object.entries(replica.env).flatMap(([k, v]) => ["-e", `${k}=${k === "RESIZER_HOST" ? "0.0.0.0" : v}`]),
    "-v", `${path.join(treeDir, "images")}:/images:ro`,
    "-p", `127.0.0.1::${port}`,
  ], image);
  base = `http://127.0.0.1:${await hostPort(name, port)}`;
  await waitHttp(`${base}/healthz`);
}, { timeout: 900_000 });

after(async () => {
  await removeContainers(name);
  if (treeDir) rmSync(treeDir, { recursive: true, force: true });
});

/** The container's cgroup (v1 or v2), for its peak memory usage. */
function cgroupPeakBytes(): number | undefined {
  for (const file of [
    `/sys/fs/cgroup/memory/docker/${containerId}/memory.max_usage_in_bytes`,
    `/sys/fs/cgroup/system.slice/docker-${containerId}.scope/memory.peak`,
  ]) {
    if (existsSync(file)) return Number(readFileSync(file, "utf8").trim());
  }
  return undefined;
}

/** Sum of VmRSS (MiB) of every process in the container, seen from the host. */
function containerRssMiB(): number {
  let pids: string[] = [];
  try {
    pids = execFileSync("docker", ["top", name, "-eo", "pid"], { encoding: "utf8" }).trim().split("\n").slice(1).map((l) => l.trim());
  } catch {
    return 0;
  }
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // exited between the listing and the read
    }
  }
  return kb / 1024;
}

const HERO = "src=images/poster/hero.jpg";
/** The heaviest valid requests found: huge enlargements, AVIF, saliency crops, PNG. */
const WORST_MIX: { path: string; accept?: string }[] = [
  { path: `/resize?${HERO}&w=4096&h=4096&enlarge=1&fmt=avif` },
  { path: `/resize?${HERO}&w=4096&h=4096&enlarge=1&fmt=avif&position=attention` },
  { path: `/resize?${HERO}&w=4096&h=4096&enlarge=1&fmt=auto`, accept: "image/avif,image/webp,*/*" },
  { path: `/resize?${HERO}&w=4096&h=4095&enlarge=1&fmt=avif` },
  { path: `/resize?${HERO}&w=4096&h=4096&enlarge=1&fmt=jpeg&position=attention` },
  { path: `/resize?${HERO}&w=4096&h=4094&enlarge=1&fmt=jpeg&position=entropy` },
  { path: `/resize?${HERO}&w=4096&h=4096&enlarge=1&fmt=png` },
  { path: `/resize?${HERO}&w=4096&h=4096&enlarge=1&fmt=webp` },
  { path: `/resize?${HERO}&w=1920&h=1080&enlarge=1&fmt=avif&position=attention` },
  { path: `/resize?${HERO}&w=1920&h=1079&enlarge=1&fmt=avif` },
];

/** VmRSS (MiB) of each process in the container, by command. */
function rssByProcess(): string {
  const rows = execFileSync("docker", ["top", name, "-eo", "pid,args"], { encoding: "utf8" }).trim().split("\n").slice(1);
  return rows
    .map((row) => {
      const [pid, ...args] = row.trim().split(/\s+/);
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
      return `${args.join(" ").replace(/^node (--enable-source-maps )?/, "")} ${Math.round(kb / 1024)} MiB`;
    })
    .join(", ");
}

it("the heaviest valid requests at once never get the prod-sized container OOM-killed", { timeout: 300_000 }, async (t) => {
  t.diagnostic(`idle: ${rssByProcess()}; cgroup usage ${Math.round((cgroupPeakBytes() ?? 0) / 2 ** 20)} MiB peak so far`);
  let peakRss = 0;
  let cgroupPeak: number | undefined;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, containerRssMiB());
    cgroupPeak = cgroupPeakBytes() ?? cgroupPeak; // the cgroup goes when the container dies
  }, 100);
  const started = performance.now();
  try {
    const answers = await Promise.all(
      [...WORST_MIX, ...WORST_MIX].map(async ({ path: p, accept }) => {
        try {
          const res = await fetchWithin(base + p, 120_000, { headers: accept ? { accept } : {} });
          const body = Buffer.from(await res.arrayBuffer());
          return { p, status: res.status, detail: res.status === 200 ? `${body.length} B` : body.toString("utf8").slice(0, 200) };
        } catch (err) {
          return { p, status: 0, detail: (err as Error).message };
        }
      }),
    );
    // Abandoned work may still run after its 503: wait until the replica is idle (or dead).
    const idleBy = Date.now() + 120_000;
    while (Date.now() < idleBy) {
      const metrics = await fetchWithin(`${base}/metrics`, 5_000).then((r) => r.text(), () => undefined);
      if (metrics === undefined || /^resizer_transforms_active 0$/m.test(metrics)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    clearInterval(sampler);
    const state = await inspect<{ Running: boolean; OOMKilled: boolean; ExitCode: number }>(name, ".State");
    cgroupPeak = cgroupPeakBytes() ?? cgroupPeak;
    t.diagnostic(
      `limit ${replica.memoryMb} MiB; peak RSS of the container's processes ${Math.round(peakRss)} MiB (sampled every 100 ms); ` +
        `cgroup peak usage ${cgroupPeak === undefined ? "n/a" : Math.round(cgroupPeak / 2 ** 20) + " MiB"}; ` +
        `${answers.length} requests in ${((performance.now() - started) / 1000).toFixed(1)}s`,
    );
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    t.diagnostic(`answers: ${[...byStatus].map(([s, n]) => `${n} x ${s}`).join(", ")}`);
    for (const a of answers.filter((x) => x.status !== 200)) t.diagnostic(`${a.status} ${a.p}: ${a.detail}`);
    assert.equal(state.OOMKilled, false, `the container was OOM-killed:\n${(await logs(name)).slice(-2000)}`);
    assert.equal(state.Running, true, `the container stopped (exit ${state.ExitCode})`);
    // Every request gets an answer: a result, a refusal naming the limit, or busy.
    for (const a of answers) assert.ok([200, 400, 503].includes(a.status), `${a.p}: ${a.status} ${a.detail}`);
    assert.ok(answers.some((a) => a.status === 200), "some of the heavy requests are served");
    assert.equal((await fetchWithin(`${base}/healthz`, 10_000)).status, 200);
    const small = await fetchWithin(`${base}/resize?${HERO}&w=320&h=180&fmt=avif`, 30_000);
    assert.equal(small.status, 200, "a thumbnail still resizes afterwards");
  } finally {
    clearInterval(sampler);
  }
});
