// wrk (Debian's load generator) as the benchmark drives it: its command line and the one
// JSON line bench/wrk/paths.lua prints when a run is done. Pure.
import { z } from "zod";

/** The script every wrk run uses (paths from a file, JSON result). */
export const WRK_SCRIPT = "bench/wrk/paths.lua";
/** Prefix of the result line written by the script's done(). */
export const WRK_MARKER = "wrk-json ";

export interface WrkRun {
  /** Base URL: scheme, address and port (the paths come from `pathsFile`). */
  url: string;
  /** Absolute path of the script (WRK_SCRIPT resolved against the project). */
  script: string;
  /** File with one request path per line; thread k requests lines k+1, k+1+T, ... */
  pathsFile: string;
  threads: number;
  connections: number;
  seconds: number;
  /** Per-request timeout: a slower answer counts as an error, not as latency. */
  timeoutSeconds: number;
  headers?: Record<string, string>;
}

/** argv for `wrk`. Connections are spread over threads, so there are never fewer connections than threads. */
export function wrkArgs(run: WrkRun): string[] {
  if (!Number.isInteger(run.seconds) || run.seconds < 1) throw new Error(`wrk runs for whole seconds (${run.seconds} s asked)`);
  if (!Number.isInteger(run.timeoutSeconds) || run.timeoutSeconds < 1) throw new Error(`wrk's timeout is in whole seconds (${run.timeoutSeconds} s asked)`);
  if (run.connections < run.threads) throw new Error(`wrk needs at least one connection per thread (${run.connections} < ${run.threads})`);
  const headers = Object.entries(run.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  return [
    "-t", String(run.threads),
    "-c", String(run.connections),
    "-d", `${run.seconds}s`,
    "--timeout", `${run.timeoutSeconds}s`,
    ...headers,
    "-s", run.script,
    run.url,
    "--",
    run.pathsFile,
    String(run.threads),
  ];
}

const resultLine = z.object({
  requests: z.number().int().nonnegative(),
  durationUs: z.number().positive(),
  bytes: z.number().nonnegative(),
  errors: z.object({
    connect: z.number().int().nonnegative(),
    read: z.number().int().nonnegative(),
    write: z.number().int().nonnegative(),
    /** Answers with a status outside 2xx/3xx. */
    status: z.number().int().nonnegative(),
    timeout: z.number().int().nonnegative(),
  }),
  latencyUs: z.object({
    mean: z.number().nonnegative(),
    max: z.number().nonnegative(),
    p50: z.number().nonnegative(),
    p90: z.number().nonnegative(),
    p99: z.number().nonnegative(),
  }),
});

export interface WrkResult {
  requests: number;
  seconds: number;
  /** Completed requests per second over the run (wrk's Requests/sec). */
  rps: number;
  bytes: number;
  /** Latency in milliseconds, from wrk's histogram (microsecond resolution). */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** Failed requests: socket errors, timeouts and non-2xx/3xx answers. */
  errors: number;
  errorDetail: z.infer<typeof resultLine>["errors"];
}

/** The result of one wrk run from its stdout; throws, with the output, when the line is missing or malformed. */
export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split("\n").find((l) => l.startsWith(WRK_MARKER));
  if (line === undefined) throw new Error(`wrk printed no result line (${WRK_MARKER.trim()}); its output:\n${stdout.trim()}`);
  let json: unknown;
  try {
    json = JSON.parse(line.slice(WRK_MARKER.length));
  } catch (err) {
    throw new Error(`wrk's result line is not JSON (${(err as Error).message}): ${line}`);
  }
  const parsed = resultLine.safeParse(json);
  if (!parsed.success) throw new Error(`wrk's result line has an unexpected shape (${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}): ${line}`);
  const r = parsed.data;
  const seconds = r.durationUs / 1e6;
  const ms = (us: number) => us / 1000;
  const e = r.errors;
  return {
    requests: r.requests,
    seconds,
    rps: r.requests / seconds,
    bytes: r.bytes,
    latencyMs: { mean: ms(r.latencyUs.mean), p50: ms(r.latencyUs.p50), p90: ms(r.latencyUs.p90), p99: ms(r.latencyUs.p99), max: ms(r.latencyUs.max) },
    errors: e.connect + e.read + e.write + e.status + e.timeout,
    errorDetail: e,
  };
}
