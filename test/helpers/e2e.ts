// End-to-end tests: the local cluster started by the same launcher as `npm start`
// (infra/local/launcher.ts), every port remapped to a free loopback port, serving a
// sample tree of its own in a temp directory; real HTTP and HTTPS clients; a steady load
// generator that counts failures; the slaves' access logs as evidence of balancing.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterSpec } from "../../infra/config.js";
import { startCluster, type LocalCluster } from "../../infra/local/launcher.js";
import { groupMembers } from "../../infra/local/process.js";
import type { ServerPlan } from "../../infra/topology.js";
import { writeSampleTree, type SampleManifest, type SampleOptions } from "../../scripts/sample-images.js";
import { stackSpec } from "./stage.js";

export type Scheme = "http" | "https";
export const SCHEMES: Scheme[] = ["http", "https"];

export interface E2E {
  cluster: LocalCluster;
  tree: SampleManifest;
  treeDir: string;
  /** The default domain (image-origin) and the stillshot domain (notFoundStatus 400). */
  main: ServerPlan;
  stillshot: ServerPlan;
  /** Stops the cluster and removes the tree; safe to call twice. */
  close(): Promise<void>;
}

/** The local stack's spec, to edit before starting (the tests' own settings). */
export function localSpec(): ClusterSpec {
  const spec = stackSpec("Pulumi.local.yaml");
  // Tests read the master's access log right after their requests: each line at once, not
  // within the buffer's flush interval (the buffering itself: test/nginx, npm run bench).
  spec.nginx.master.accessLogBuffer = "off";
  return spec;
}

/**
 * Starts the local stack (optionally edited) with its own small sample tree. The caller
 * closes it in `after`; the launcher's exit hook kills everything if the process dies first.
 */
export async function startE2E(label: string, opts: { spec?: ClusterSpec; sample?: SampleOptions; resizerSigningKeys?: string[] } = {}): Promise<E2E> {
  const treeDir = mkdtempSync(join(tmpdir(), `image-origin-e2e-${label}-`));
  try {
    const spec = opts.spec ?? localSpec();
    const images = join(treeDir, "images");
    const tree = await writeSampleTree(images, {
      thumbnails: 24,
      stills: 24,
      profileFallback: spec.nginx.profileFallback.image,
      profilePrefix: spec.nginx.profileFallback.prefix,
      ...opts.sample,
    });
    // mkdtemp makes the parent 0700: the unprivileged nginx must traverse it.
    chmodSync(treeDir, 0o755);
    const cluster = await startCluster({
      spec,
      stack: "local",
      ports: "free",
      imagesDir: images,
      ...(opts.resizerSigningKeys && { resizerSigningKeys: opts.resizerSigningKeys }),
    });
    const servers = cluster.host.master.servers;
    const main = servers.find((s) => s.default)!;
    const stillshot = servers.find((s) => s.notFoundStatus === 400)!;
    let closed = false;
    return {
      cluster,
      tree,
      treeDir,
      main,
      stillshot,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await cluster.stop();
        } finally {
          rmSync(treeDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(treeDir, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Requests

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

export interface RequestOptions {
  scheme?: Scheme;
  /** Host header and TLS SNI name (default: the main domain's first name). */
  host?: string;
  headers?: Record<string, string>;
  /** A keep-alive agent from `agents()`; default: a new connection per request. */
  agent?: HttpAgent | HttpsAgent;
  timeoutMs?: number;
}

/** A request's default time limit (ms) for a complete answer. */
const REQUEST_TIMEOUT_MS = 20_000;
/**
 * The agents' idle-connection limit. Any value makes node's agent honour the server's
 * `Keep-Alive: timeout=N` hint (the master sends keepalive_timeout's header value): it then
 * closes an idle connection a second before the server would, as undici and browsers do,
 * instead of racing the server's own close. Without one it ignores the hint. Requests set
 * their own limit (`req.setTimeout`), which the agent would skip were it equal to this one.
 */
const IDLE_LIMIT_MS = 600_000;

/** One keep-alive agent per scheme (what browsers and CDNs do). */
export function agents(maxSockets = 64): { http: HttpAgent; https: HttpsAgent; destroy(): void } {
  const http = new HttpAgent({ keepAlive: true, maxSockets, timeout: IDLE_LIMIT_MS });
  const https = new HttpsAgent({ keepAlive: true, maxSockets, timeout: IDLE_LIMIT_MS });
  return { http, https, destroy: () => (http.destroy(), https.destroy()) };
}

/** The error's code, or its message. */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

export class RequestError extends Error {
  constructor(
    message: string,
    /** The request went out on a kept-alive connection that the server had closed. */
    readonly reusedSocket: boolean,
  ) {
    super(message);
  }
}

/** GET `path` through the master over `scheme`, verifying TLS against the stand-in certificate. */
export function get(e2e: E2E, path: string, opts: RequestOptions = {}): Promise<Reply> {
  const scheme = opts.scheme ?? "http";
  const m = e2e.cluster.host.master;
  const listen = scheme === "https" ? m.https! : m.http;
  const name = opts.host ?? e2e.main.serverNames[0]!;
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const started = performance.now();
  const options = {
    host: listen.address,
    port: listen.port,
    path,
    headers: { host: name, ...opts.headers },
    agent: opts.agent ?? false,
    ...(scheme === "https" && { servername: name, ca: e2e.cluster.certificates[0]!.pem }),
  };
  return new Promise((resolve, reject) => {
    const req = (scheme === "https" ? httpsRequest : httpRequest)(options as never, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on("error", (err) => reject(new RequestError(`response aborted: ${reason(err)}`, false)));
    });
    // On the socket, whichever the agent hands out (a reused one carries its idle limit).
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)));
    req.on("error", (err) => reject(new RequestError(reason(err), req.reusedSocket)));
    req.end();
  });
}

/**
 * Did the request fail because the server closed a kept-alive connection as it was reused,
 * before sending any byte of an answer? Only then may an HTTP client resend an idempotent
 * request on its own (RFC 9110 §9.2.2; browsers and undici do it, node documents it for
 * `req.reusedSocket`). A fresh connection that fails, or an answer cut short, is a failure.
 */
export function closedKeptAliveConnection(err: unknown): boolean {
  return err instanceof RequestError && err.reusedSocket && (err.message === "ECONNRESET" || err.message === "EPIPE");
}

/**
 * GET with the one retry HTTP clients make for an idempotent request whose kept-alive
 * connection the server closed before answering (`closedKeptAliveConnection`), on a new
 * connection. Never for a new connection, never for an answer cut short. Resolves with the
 * reply and whether that retry happened; callers count and bound the retries.
 */
export async function getRetryingClosedKeepalive(e2e: E2E, path: string, opts: RequestOptions): Promise<Reply & { retried: boolean }> {
  try {
    return { ...(await get(e2e, path, opts)), retried: false };
  } catch (err) {
    if (!closedKeptAliveConnection(err)) throw err;
    // On a new connection: the pool's other idle ones may be closing too.
    return { ...(await get(e2e, path, { ...opts, agent: undefined })), retried: true };
  }
}

// ---------------------------------------------------------------------------------------
// Steady load

export interface Target {
  path: string;
  scheme?: Scheme;
  host?: string;
  headers?: Record<string, string>;
}

export interface Outcome {
  at: number;
  path: string;
  scheme: Scheme;
  status?: number;
  error?: string;
  ms: number;
}

export interface LoadReport {
  requests: number;
  failed: Outcome[];
  /**
   * Requests retried once, on a new connection, because the server closed their kept-alive
   * connection as it was reused, before answering (`closedKeptAliveConnection`).
   */
  keepaliveRetries: number;
  maxMs: number;
  outcomes: Outcome[];
  /** Failures at or after `t` (performance.now() time). */
  failedSince(t: number): Outcome[];
  requestsSince(t: number): number;
}

/**
 * `concurrency` clients, each requesting `targets` round-robin as fast as answers come,
 * over keep-alive connections, until `stop()`. A request fails when it gets no answer or
 * an answer `ok` rejects (default: status 200).
 */
export function steadyLoad(
  e2e: E2E,
  targets: Target[],
  opts: { concurrency?: number; ok?: (r: Reply) => boolean; pauseMs?: number } = {},
): {
  stop(): Promise<LoadReport>;
  /** Requests sent at or after `since` (performance.now() time) that have completed so far. */
  outcomesSince(since: number): Outcome[];
  /** Resolves once `requests` requests sent at or after `since` have completed (an event, not a pause). */
  until(requests: number, since?: number, timeoutMs?: number): Promise<void>;
} {
  const concurrency = opts.concurrency ?? 4;
  const ok = opts.ok ?? ((r: Reply) => r.status === 200);
  const pool = agents(concurrency * 2);
  const outcomes: Outcome[] = [];
  let running = true;
  let retries = 0;
  let next = 0;
  const worker = async () => {
    while (running) {
      const t = targets[next++ % targets.length]!;
      const scheme = t.scheme ?? "http";
      const at = performance.now();
      try {
        const r = await getRetryingClosedKeepalive(e2e, t.path, {
          scheme,
          ...(t.host && { host: t.host }),
          ...(t.headers && { headers: t.headers }),
          agent: scheme === "https" ? pool.https : pool.http,
        });
        if (r.retried) retries++;
        outcomes.push({ at, path: t.path, scheme, status: r.status, ms: r.ms, ...(!ok(r) && { error: `status ${r.status}` }) });
      } catch (err) {
        outcomes.push({ at, path: t.path, scheme, error: (err as Error).message, ms: performance.now() - at });
      }
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  const completed = (since = -Infinity) => outcomes.filter((o) => o.at >= since).length;
  return {
    outcomesSince: (since) => outcomes.filter((o) => o.at >= since),
    async until(requests, since = -Infinity, timeoutMs = 30_000) {
      const start = performance.now();
      while (completed(since) < requests) {
        if (!running) throw new Error("the load was stopped");
        if (performance.now() - start > timeoutMs) throw new Error(`only ${completed(since)} of ${requests} requests completed within ${timeoutMs / 1000}s`);
        await sleep(10);
      }
    },
    async stop() {
      running = false;
      await Promise.all(workers);
      pool.destroy();
      const failed = outcomes.filter((o) => o.error !== undefined);
      return {
        requests: outcomes.length,
        failed,
        keepaliveRetries: retries,
        maxMs: Math.max(0, ...outcomes.map((o) => o.ms)),
        outcomes,
        failedSince: (t) => failed.filter((o) => o.at >= t),
        requestsSince: (t) => outcomes.filter((o) => o.at >= t).length,
      };
    },
  };
}

/** A few failures, readably, for assertion messages. */
export function describeFailures(failed: Outcome[], max = 5): string {
  return failed
    .slice(0, max)
    .map((f) => `${f.scheme} ${f.path}: ${f.error} after ${Math.round(f.ms)} ms`)
    .join("; ");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `everyMs` until it returns true; resolves with the seconds it took, or throws after `timeoutMs`. */
export async function secondsUntil(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await fn().catch(() => false)) return (performance.now() - start) / 1000;
    if (performance.now() - start > timeoutMs) throw new Error(`not reached within ${timeoutMs / 1000}s`);
    await sleep(everyMs);
  }
}

/** Entries of an nginx JSON access log (one object per line). */
export function accessLogEntries(file: string): Record<string, unknown>[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").flatMap((l) => {
    try {
      return l.trim() === "" ? [] : [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Lines of an nginx access log for `GET` of a path starting with `prefix`. */
export function accessLogCount(file: string, prefix: string): number {
  return accessLogEntries(file).filter((e) => e.method === "GET" && String(e.path).startsWith(prefix)).length;
}

/** VmRSS of a pid in MiB (from /proc/<pid>/status); 0 once it is gone. */
export function rssMiB(pid: number): number {
  let status = "";
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return 0;
  }
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * VmRSS of every process in `pid`'s process group, in MiB: a resizer and its transform
 * workers (what its container's memory limit counts; pages they share count once per process).
 */
export function groupRssMiB(pid: number): number {
  return groupMembers(pid).reduce((sum, p) => sum + rssMiB(p), 0);
}

/** Seconds with 2 decimals, for diagnostics. */
export const secs = (ms: number) => (ms / 1000).toFixed(2);
