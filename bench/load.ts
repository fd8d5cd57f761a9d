// Running the load: wrk against a URL with a list of paths, raw sharp in its own process,
// and the resizers' transform counters. Not pure: spawns processes, talks HTTP.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../infra/local/launcher.js";
import { findJemalloc } from "../infra/local/tools.js";
import { cpuTicks, parentPid } from "./lib/procstat.js";
import { transformsDone } from "./lib/prometheus.js";
import type { CpuParts, Run } from "./lib/results.js";
import { parseWrkOutput, WRK_SCRIPT, wrkArgs } from "./lib/wrk.js";

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(command)} exited with ${code}:\n${err.trim() || out.trim()}`))));
  });
}

export interface LoadOptions {
  threads: number;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Every process's /proc/<pid>/stat line, read once, and its children. */
function processTable() {
  const stats = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      stats.set(Number(entry), readFileSync(`/proc/${entry}/stat`, "utf8"));
    } catch {
      // gone meanwhile
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) {
    const parent = parentPid(stat);
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const ticksOf = (pid: number) => {
    const stat = stats.get(pid);
    return stat === undefined ? 0 : cpuTicks(stat);
  };
  const us = (ticks: number) => (ticks * 1e6) / TICKS_PER_SECOND;
  return {
    /** CPU time (µs) used so far by `roots` and all their descendants. */
    treeUs(roots: readonly number[]): number {
      let ticks = 0;
      const seen = new Set<number>();
      const visit = (pid: number) => {
        if (seen.has(pid)) return;
        seen.add(pid);
        ticks += ticksOf(pid);
        for (const c of children.get(pid) ?? []) visit(c);
      };
      roots.forEach(visit);
      return us(ticks);
    },
    /** CPU time (µs) used so far by `pids` alone, without their children. */
    ownUs: (pids: readonly number[]): number => us(pids.reduce((n, pid) => n + ticksOf(pid), 0)),
  };
}

/** CPU time (µs) used so far by the processes `roots` and all their descendants. */
export function treeCpuUs(roots: readonly number[]): number {
  return processTable().treeUs(roots);
}

/** The serving processes of a local cluster, for the CPU split of its rows. */
export interface ClusterPids {
  nginx: readonly number[];
  resizers: readonly number[];
}

/** A cluster's CPU so far (µs), by part, from one reading of the process table. */
function clusterCpu(pids: ClusterPids): CpuParts {
  const table = processTable();
  const resizers = table.treeUs(pids.resizers);
  const resizerHttp = table.ownUs(pids.resizers);
  return { nginx: table.treeUs(pids.nginx), resizerHttp, transformWorkers: resizers - resizerHttp };
}

/**
 * Writes `paths` to `file` and runs wrk over them against `base`; with `servers`, also the
 * CPU those processes (and their children) used per request, and with a cluster's pids
 * that CPU split by process.
 */
export async function wrk(base: string, paths: readonly string[], file: string, o: LoadOptions, servers?: readonly number[] | ClusterPids): Promise<Run> {
  writeFileSync(file, `${paths.join("\n")}\n`);
  const cluster = servers !== undefined && !Array.isArray(servers) ? (servers as ClusterPids) : undefined;
  const roots = cluster ? undefined : (servers as readonly number[] | undefined);
  const sample = (): { total: number; parts?: CpuParts } | undefined => {
    if (cluster === undefined) return roots ? { total: treeCpuUs(roots) } : undefined;
    const parts = clusterCpu(cluster);
    return { total: parts.nginx + parts.resizerHttp + parts.transformWorkers, parts };
  };
  const before = sample();
  const out = await run("wrk", wrkArgs({ url: base, script: path.join(PROJECT_ROOT, WRK_SCRIPT), pathsFile: file, threads: o.threads, connections: o.connections, seconds: o.seconds, timeoutSeconds: 10, ...(o.headers && { headers: o.headers }) }));
  const after = sample();
  const r = parseWrkOutput(out);
  const perRequest = (us: number) => us / r.requests;
  return {
    rps: r.rps,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    requests: r.requests,
    errors: r.errors,
    ...(before &&
      after &&
      r.requests > 0 && {
        cpuUs: perRequest(after.total - before.total),
        ...(before.parts &&
          after.parts && {
            cpuParts: {
              nginx: perRequest(after.parts.nginx - before.parts.nginx),
              resizerHttp: perRequest(after.parts.resizerHttp - before.parts.resizerHttp),
              transformWorkers: perRequest(after.parts.transformWorkers - before.parts.transformWorkers),
            },
          }),
      }),
  };
}

/**
 * Raw sharp in-process (bench/raw-sharp.ts) over `sizes`, with the allocator the resizers
 * run with (jemalloc) and the default libuv threadpool.
 */
export async function rawSharp(file: string, sizes: readonly { w: number; h: number }[], sizesFile: string, o: { connections: number; seconds: number; quality: number }): Promise<Run> {
  writeFileSync(sizesFile, `${sizes.map((s) => `${s.w} ${s.h}`).join("\n")}\n`);
  const jemalloc = findJemalloc();
  const out = await run(
    process.execPath,
    ["--import", "tsx", "bench/raw-sharp.ts", "--file", file, "--fmt", "jpeg", "--connections", String(o.connections), "--seconds", String(o.seconds), "--quality", String(o.quality), "--sizes", sizesFile],
    { ...process.env, ...(jemalloc && { LD_PRELOAD: jemalloc }) },
  );
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as { rps: number; p50: number; p99: number; n: number; cpuUs: number };
  return { rps: r.rps, p50: r.p50, p99: r.p99, requests: r.n, errors: 0, cpuUs: r.cpuUs };
}

/** Transforms done so far, summed over the resizers' /metrics. */
export async function transforms(resizerUrls: readonly string[]): Promise<number> {
  let sum = 0;
  for (const u of resizerUrls) {
    const res = await fetch(`${u}/metrics`);
    if (!res.ok) throw new Error(`${u}/metrics answered ${res.status}`);
    sum += transformsDone(await res.text());
  }
  return sum;
}

/**
 * The transform count once it stops moving: a resizer counts a request when its answer
 * has been handed to the socket, a moment after the client may have read it.
 */
export async function settledTransforms(resizerUrls: readonly string[]): Promise<number> {
  let last = await transforms(resizerUrls);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = await transforms(resizerUrls);
    if (now === last) return now;
    last = now;
  }
  return last;
}
