// End-to-end tests through the software VIP: a stack's hosts started by the same launcher
// as `npm start -- --all-hosts` (infra/local/fleet.ts), each test file on loopback addresses
// of its own (127.<random>.<random>.1-5) and free ports, so files run side by side; a
// steady load through the VIP in which every answer is checked for its status and its
// bytes; and the masters' access logs as evidence of which host served.
import { createHash, randomInt } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseClusterSpec, type ClusterSpec } from "../../infra/config.js";
import { startAllHosts, type FleetOptions, type LocalFleet } from "../../infra/local/fleet.js";
import { writeSampleTree, type SampleManifest } from "../../scripts/sample-images.js";
import { RequestError, accessLogCount, closedKeptAliveConnection, type Scheme } from "./e2e.js";
import { stackSpec } from "./stage.js";

/**
 * prod as the VIP tests run it: its five hosts, domains, certificate and VIP plan, with
 * what keeps eight files' worth of clusters light on two cores (one nginx worker, one
 * resizer per host: these tests are about the VIP) and short health-check timings (1s
 * interval, 1s timeout, out after 2 failures, back after 2 passes).
 */
export function vipTestSpec(change: (raw: Record<string, any>) => void = () => {}): ClusterSpec {
  const prod = stackSpec("Pulumi.prod.yaml");
  const raw: Record<string, any> = structuredClone(prod);
  raw.resizer = { ...raw.resizer, replicas: 1 };
  // The masters' access logs are counted right after the requests: each line at once.
  raw.nginx = { ...raw.nginx, master: { ...raw.nginx.master, workerProcesses: 1, accessLogBuffer: "off" }, slave: { ...raw.nginx.slave, workerProcesses: 1 } };
  raw.vip = { ...raw.vip, healthCheck: { intervalSeconds: 1, timeoutSeconds: 1, rise: 2, fall: 2 } };
  change(raw);
  return parseClusterSpec(raw);
}

export interface VipE2E {
  fleet: LocalFleet;
  tree: SampleManifest;
  treeDir: string;
  /** The main domain's first name (Host header and SNI). */
  name: string;
  close(): Promise<void>;
}

/** Starts every host of `spec` behind the VIP with a small sample tree of its own; the caller closes it in `after`. */
export async function startVipE2E(label: string, spec: ClusterSpec, opts: Omit<FleetOptions, "spec" | "imagesDir"> = {}): Promise<VipE2E> {
  const treeDir = mkdtempSync(join(tmpdir(), `image-origin-vip-${label}-`));
  try {
    const images = join(treeDir, "images");
    const tree = await writeSampleTree(images, { thumbnails: 24, stills: 24, profileFallback: spec.nginx.profileFallback.image, profilePrefix: spec.nginx.profileFallback.prefix });
    chmodSync(treeDir, 0o755);
    // A loopback block of this file's own: parallel files never share an address.
    const [b, c] = [randomInt(2, 250), randomInt(2, 250)];
    const fleet = await startAllHosts({ stack: "prod", spec, imagesDir: images, ports: "free", hostAddress: (i) => `127.${b}.${c}.${i + 1}`, vipAddress: `127.${b}.${c}.200`, ...opts });
    try {
      await fullHealth(fleet);
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    const name = spec.domains.find((d) => d.default)?.serverNames[0] ?? spec.domains[0]!.serverNames[0]!;
    let closed = false;
    return {
      fleet,
      tree,
      treeDir,
      name,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await fleet.stop();
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

/**
 * Waits until every HAProxy shows every host plainly `UP` on every VIP port. HAProxy starts
 * a server at the bottom of its UP range (`UP 1/<fall>`: one failed check from DOWN) and
 * climbs with passed checks; a removal measured before that would take one failure, not
 * `fall`.
 */
async function fullHealth(fleet: LocalFleet): Promise<void> {
  const hc = fleet.vipPlan.healthCheck;
  const timeoutMs = ((hc.rise + hc.fall) * hc.intervalSeconds + hc.timeoutSeconds) * 1000 + 10_000;
  const started = performance.now();
  for (const haproxy of fleet.vip.haproxy) {
    for (;;) {
      const servers = [...(await haproxy.servers()).values()].flatMap((b) => [...b.values()]);
      if (servers.length === fleet.hosts.length * haproxy.plan.haproxy.listen.length && servers.every((status) => status === "UP")) break;
      if (performance.now() - started > timeoutMs) throw new Error(`${haproxy.name}: not every host fully UP within ${timeoutMs / 1000}s: ${servers.join(", ")}`);
      await sleep(50);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Requests through the VIP

export interface Expected {
  path: string;
  scheme: Scheme;
  /** sha256 of the bytes the answer must carry (the file in the tree). */
  sha256: string;
  bytes: number;
}

/** Targets whose answers are files of the tree: stills (the slaves) and thumbnails (the masters), over HTTP and HTTPS. */
export function fileTargets(e: VipE2E, count = 8): Expected[] {
  const files = [...e.tree.stills.slice(0, count / 2), ...e.tree.thumbnails.slice(0, count / 2)];
  return files.flatMap((path) => {
    const body = readFileSync(join(e.fleet.imagesDir, path));
    const sha256 = createHash("sha256").update(body).digest("hex");
    return (["http", "https"] as const).filter((s) => s === "http" || e.fleet.vip.urls.https).map((scheme) => ({ path, scheme, sha256, bytes: body.length }));
  });
}

export interface Answer {
  status: number;
  body: Buffer;
  ms: number;
}

/** One GET through the VIP (TLS verified against the stand-in certificate, by SNI). */
export function vipGet(e: VipE2E, scheme: Scheme, path: string, agent?: HttpAgent | HttpsAgent, timeoutMs = 20_000): Promise<Answer> {
  const url = new URL(scheme === "https" ? e.fleet.vip.urls.https! : e.fleet.vip.urls.http);
  const started = performance.now();
  const options = {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port),
    path,
    headers: { host: e.name },
    agent: agent ?? false,
    ...(scheme === "https" && { servername: e.name, ca: e.fleet.certificates[0]!.pem }),
  };
  return new Promise((resolve, reject) => {
    const req = (scheme === "https" ? httpsRequest : httpRequest)(options as never, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on("error", (err) => reject(new RequestError(`response aborted: ${(err as NodeJS.ErrnoException).code ?? err.message}`, false)));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)));
    req.on("error", (err) => reject(new RequestError((err as NodeJS.ErrnoException).code ?? err.message, req.reusedSocket)));
    req.end();
  });
}

export interface Outcome {
  at: number;
  path: string;
  scheme: Scheme;
  ms: number;
  error?: string;
}

export interface VipLoadReport {
  requests: number;
  failed: Outcome[];
  /** Requests resent once by the client because the kept-alive connection it reused was closed before any answer (RFC 9110 §9.2.2). */
  keepaliveRetries: number;
  slowestMs: number;
  outcomes: Outcome[];
}

/**
 * `concurrency` clients requesting the targets round robin over keep-alive connections
 * (or a new connection each, `newConnections`) until `stop()`. A request fails unless it answers 200 with exactly the expected bytes; a
 * client resends only what HTTP clients may (a kept-alive connection closed before any
 * byte of the answer), on a new connection, and that is counted.
 */
export function vipLoad(
  e: VipE2E,
  targets: Expected[],
  concurrency = 6,
  opts: { newConnections?: boolean } = {},
): { stop(): Promise<VipLoadReport>; completed(since?: number): number } {
  const http = new HttpAgent({ keepAlive: true, maxSockets: concurrency * 2, timeout: 600_000 });
  const https = new HttpsAgent({ keepAlive: true, maxSockets: concurrency * 2, timeout: 600_000 });
  const outcomes: Outcome[] = [];
  let running = true;
  let retries = 0;
  let next = 0;
  const once = async (t: Expected) => {
    if (opts.newConnections) return vipGet(e, t.scheme, t.path);
    const agent = t.scheme === "https" ? https : http;
    try {
      return await vipGet(e, t.scheme, t.path, agent);
    } catch (err) {
      if (!closedKeptAliveConnection(err)) throw err;
      retries++;
      return vipGet(e, t.scheme, t.path);
    }
  };
  const worker = async () => {
    while (running) {
      const t = targets[next++ % targets.length]!;
      const at = performance.now();
      try {
        const a = await once(t);
        const sha = createHash("sha256").update(a.body).digest("hex");
        const error = a.status !== 200 ? `status ${a.status}` : sha !== t.sha256 ? `${a.body.length} bytes, not the ${t.bytes} of the file` : undefined;
        outcomes.push({ at, path: t.path, scheme: t.scheme, ms: a.ms, ...(error && { error }) });
      } catch (err) {
        outcomes.push({ at, path: t.path, scheme: t.scheme, ms: performance.now() - at, error: (err as Error).message });
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    completed: (since = -Infinity) => outcomes.filter((o) => o.at >= since).length,
    async stop() {
      running = false;
      await Promise.all(workers);
      http.destroy();
      https.destroy();
      return {
        requests: outcomes.length,
        failed: outcomes.filter((o) => o.error !== undefined),
        keepaliveRetries: retries,
        slowestMs: Math.max(0, ...outcomes.map((o) => o.ms)),
        outcomes,
      };
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `n` more requests completed (an event, not a pause). */
export async function requestsPass(load: { completed(since?: number): number }, n: number, timeoutMs = 60_000): Promise<void> {
  const since = performance.now();
  while (load.completed(since) < n) {
    if (performance.now() - since > timeoutMs) throw new Error(`only ${load.completed(since)} of ${n} requests within ${timeoutMs / 1000}s`);
    await sleep(20);
  }
}

/** Polls until `check` holds; the seconds it took. */
export async function secondsUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return (performance.now() - start) / 1000;
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await sleep(everyMs);
  }
}

/**
 * Samples, every `everyMs`, which hosts the (first) HAProxy does not admit on every VIP
 * port, until `stop()`: evidence of how many hosts were out of the VIP at once.
 */
export function watchVip(e: VipE2E, everyMs = 100): { stop(): Promise<{ samples: number; mostOutAtOnce: string[] }> } {
  const haproxy = e.fleet.vip.haproxy[0]!;
  const hosts = e.fleet.hosts.map((h) => h.plan.name);
  let running = true;
  let samples = 0;
  let mostOutAtOnce: string[] = [];
  const loop = (async () => {
    while (running) {
      const out: string[] = [];
      for (const h of hosts) if (!(await haproxy.admits(h))) out.push(h);
      samples++;
      if (out.length > mostOutAtOnce.length) mostOutAtOnce = out;
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, mostOutAtOnce };
    },
  };
}

/** Requests each host's master logged for paths starting with `prefix` (its JSON access log). */
export function servedBy(e: VipE2E, prefix: string): Map<string, number> {
  return new Map(e.fleet.hosts.map((h) => [h.plan.name, accessLogCount(h.plan.master.paths.accessLog, prefix)]));
}

/** A few failures, readably. */
export function describe(failed: Outcome[], max = 5): string {
  return failed.slice(0, max).map((f) => `${f.scheme} ${f.path}: ${f.error} after ${Math.round(f.ms)} ms`).join("; ");
}

export const secs = (s: number) => s.toFixed(2);
