// What one `npm run bench` measured, as plain data: bench/run.ts fills it, report.ts turns
// it into RESULTS.md and the chart, results.json keeps it for comparing runs. Pure types
// and the few derived figures every consumer needs.
import type { BarKind } from "./chart.js";
import { median, pairedRatio, spread, type Spread } from "./stats.js";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  /** 1/5/15-minute load averages when the run started and ended. */
  loadStart: number[];
  loadEnd: number[];
  /** ISO date-time of the start. */
  date: string;
  /** Wall-clock seconds from the harness's start (clusters, peers, containers) to its last measurement (absent in older results). */
  durationSeconds?: number;
}

export interface Versions {
  node: string;
  sharp: string;
  libvips: string;
  nginx: string;
  php: string;
  gd: string;
  wrk: string;
}

export interface Settings {
  quick: boolean;
  rounds: number;
  seconds: number;
  /** The command as typed, e.g. `npm run bench -- --rounds 1 --seconds 1` (absent in older results). */
  command?: string;
  /** Seconds of each row's warm-up before round 1 (0: none). */
  warmupSeconds?: number;
  /** Connections of the resize rows and of the cached-bytes rows. */
  resizeConnections: number;
  cachedConnections: number;
  wrkThreads: number;
}

/** One measured run of one path. */
export interface Run {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  /** Resizer transforms during the run (MISS rows: one per request means every request missed). */
  transforms?: number;
  /**
   * CPU time of the serving processes per request, in µs (nginx workers, resizers; raw
   * sharp: its own process). What other work on a shared machine disturbs least.
   */
  cpuUs?: number;
  /**
   * Rows through a local cluster: `cpuUs` split by process (µs per request): nginx, the
   * resizers' HTTP processes, their transform workers.
   */
  cpuParts?: CpuParts;
}

export interface CpuParts {
  nginx: number;
  resizerHttp: number;
  transformWorkers: number;
}

export type Group = "resize1080" | "resize4000" | "cached" | "containers";

export interface PathResult {
  id: string;
  label: string;
  kind: BarKind;
  group: Group;
  connections: number;
  /** Exactly what the row does, for the report's list. */
  measures: string;
  /** Ids of the rows this one is compared with, round by round. */
  versus: string[];
  /** One run per round, in round order. */
  runs: Run[];
  /** A variant measured to show what one setting costs: in the tables, not in the chart. */
  detail?: boolean;
}

export interface StallTrial {
  /** From sending the requests to the last complete answer. */
  allMs: number;
  /** Median latency of the individual requests. */
  p50Ms: number;
  transforms: number;
  /** X-Cache-Status values seen (MISS, HIT, UPDATING...) and how often. */
  cacheStatuses: Record<string, number>;
  /** Answers other than 200. */
  failures: number;
  /**
   * The same n requests sent again at once once the variant is cached (all HITs): the time
   * this machine takes to answer n at once at all, the floor under allMs. Absent when a
   * repeat was not a HIT (and in older results).
   */
  cachedAllMs?: number;
}

export interface StallResult {
  /** How the master picked the replica (resizer.balance), i.e. which design was measured. */
  balance: string;
  concurrency: number;
  /** The source whose new sizes the trials ask for. */
  src: string;
  trials: StallTrial[];
}

export interface EncoderResult {
  encoder: string;
  /** Lowest q reaching the GD output's SSIM (or the highest tried when not reached). */
  q: number;
  bytes: number;
  ssim: number;
  reached: boolean;
  /** The same encoder at the resizer's default quality. */
  atDefault: { q: number; bytes: number; ssim: number };
  /** CPU time of one encode of this source's 320×180 pixels (median, in-process, ms). */
  cpuMs?: number;
}

export interface QualityResult {
  src: string;
  title: string;
  width: number;
  height: number;
  /** The seeds' GD output (JPEG at q80) and its lossless twin (resampling only). */
  gd: { q: number; bytes: number; ssim: number; losslessSsim: number };
  /** The resizer's lossless output (its resampling only). */
  resizerLosslessSsim: number;
  encoders: EncoderResult[];
}

export interface BenchResults {
  machine: Machine;
  versions: Versions;
  settings: Settings;
  paths: PathResult[];
  stalls: StallResult[];
  quality: QualityResult[];
  /** Anything the run noticed (a MISS row that was not all misses, errors...). */
  notes: string[];
}

// ---------------------------------------------------------------------------------------
// Derived figures

export const rpsOf = (p: PathResult): Spread => spread(p.runs.map((r) => r.rps));
export const p50Of = (p: PathResult): number => median(p.runs.map((r) => r.p50));
export const p99Of = (p: PathResult): number => median(p.runs.map((r) => r.p99));
/** p99/p50 per run, then the spread (a run's tail against its own median). */
export const tailOf = (p: PathResult): Spread => spread(p.runs.map((r) => r.p99 / r.p50));

export function pathById(results: Pick<BenchResults, "paths">, id: string): PathResult {
  const p = results.paths.find((x) => x.id === id);
  if (p === undefined) throw new Error(`no path "${id}" in the results`);
  return p;
}

/** Throughput of `id` relative to `versus`, round by round. */
export function ratioOf(results: Pick<BenchResults, "paths">, id: string, versus: string): Spread {
  return pairedRatio(
    pathById(results, id).runs.map((r) => r.rps),
    pathById(results, versus).runs.map((r) => r.rps),
  );
}

/** The all-answered time of N identical requests relative to one (the N=1 median of the same design). */
export function stallRatio(stalls: readonly StallResult[], concurrency: number, balance: string = BALANCE_MEASURED): Spread {
  const one = stalls.find((s) => s.concurrency === 1 && s.balance === balance);
  const n = stalls.find((s) => s.concurrency === concurrency && s.balance === balance);
  if (!one || !n) return spread([]);
  const base = median(one.trials.map((t) => t.allMs));
  return spread(n.trials.map((t) => t.allMs / base));
}

/** Row ids, shared by the harness that measures them and the report that compares them. */
export const PATH = {
  raw1080: "raw-1080",
  master1080: "master-miss-1080",
  direct1080: "resizer-direct-1080",
  php1080: "php-gd-1080",
  filter1080: "image-filter-1080",
  raw4000: "raw-4000",
  master4000: "master-miss-4000",
  php4000: "php-gd-4000",
  master1080ByLoad: "master-miss-1080-least-conn",
  master1080OneReplica: "master-miss-1080-one-replica",
  master4000ByLoad: "master-miss-4000-least-conn",
  staticUnlogged: "static-unlogged",
  staticLogged: "static-logged",
  staticUnbuffered: "static-unbuffered",
  hit: "master-hit",
  /** A HIT-path variant of the master (bench/lib/variants.ts): `hit-<variant id>`. */
  hitVariant: (id: string) => `master-hit-${id}`,
  containerStatic: "container-static-logged",
  containerHit: "container-master-hit",
} as const;

/** The balancing the claims are about (the default), and the one measured for contrast. */
export const BALANCE_MEASURED = "variant";
export const BALANCE_CONTRAST = "least_conn";

/** How much one run measures: `npm run bench` (the claims) and `-- --quick` (a smoke test). */
export interface RunMode {
  /** Interleaved rounds, and seconds per row in each. */
  rounds: number;
  seconds: number;
  /** A run of every row before round 1 (0: none). */
  warmupSeconds: number;
  /** Trials per N of the lock-stall case. */
  stallTrials: number;
  /** Sources of the bytes table, and timed encodes per encoder (the CPU column's median). */
  qualitySources: number;
  timedEncodes: number;
  /** The HIT-path settings' rows and the least_conn cluster. */
  details: boolean;
  /** The container tier (unless --no-containers; the quick run takes it with --containers). */
  containers: boolean;
  /** Wall-clock time on a quiet 2-core machine, for the docs. */
  takes: string;
}

export const RUN_MODES: { full: RunMode; quick: RunMode } = {
  // 21 rows x 5 rounds x 5 s, plus warm-up, two clusters, the peers, the container tier,
  // the stall trials and the bytes table.
  full: { rounds: 5, seconds: 5, warmupSeconds: 1, stallTrials: 5, qualitySources: Infinity, timedEncodes: 5, details: true, containers: true, takes: "about 12 minutes" },
  // The claims' rows once, without warm-up: a smoke test of the harness.
  quick: { rounds: 1, seconds: 1, warmupSeconds: 0, stallTrials: 3, qualitySources: 2, timedEncodes: 1, details: false, containers: false, takes: "under a minute" },
};

/**
 * The least a run must measure for its ratios to be claims: a median of three paired
 * ratios (the "median of interleaved runs"), each over runs of 5 s (a p99 from a
 * few hundred MISSes at least). Shorter runs check the harness.
 */
export const CLAIM_MINIMUM = { rounds: 3, seconds: 5 } as const;

/** Concurrencies of the lock-stall case. */
export const STALL_CONCURRENCY = [1, 8, 64] as const;
