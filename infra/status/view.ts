// `npm run status`: two reads of each host (its health check on every published port, its
// ops listener) some seconds apart become one table: rates over that interval, gauges as
// read last. Pure: samples in, text out.
import { CACHED_ROUTES, RESIZE_ROUTES } from "../monitoring/rules.js";
import { buckets, quantileBetween, select, sum, type Sample } from "./metrics.js";

/** What one read of a host gave. */
export interface HostRead {
  host: string;
  /** When the read began (ms since the epoch). */
  at: number;
  /** `GET /healthz` per published port, as the L4 asks it. */
  health: { port: number; status?: number; error?: string }[];
  /** The ops listener's `/metrics` (master and slaves). */
  ops: { samples?: Sample[]; error?: string };
  /** Each replica's metrics, through the ops listener. */
  resizers: { role: string; samples?: Sample[]; error?: string }[];
}

export interface InstanceRow {
  role: string;
  up: boolean;
  detail: string;
}

export interface HostStatus {
  host: string;
  health: string;
  requestsPerSecond?: number;
  errorRatio?: number;
  cacheHitRatio?: number;
  /** Days until the earliest certificate the master serves expires. */
  certificateDays?: number;
  resizers: { up: number; total: number; inFlight: number; queued: number; refusedPerSecond?: number; p99Seconds?: number };
  instances: InstanceRow[];
  problems: string[];
}

const MASTER = { role: "master" };
const RESIZE = { route: new RegExp(`^(${RESIZE_ROUTES})$`) };
const CACHED = { route: new RegExp(`^(${CACHED_ROUTES})$`) };
const HITS = /^(HIT|STALE|UPDATING|REVALIDATED)$/;

const delta = (before: number, after: number) => Math.max(0, after - before);

export function hostStatus(before: HostRead, after: HostRead): HostStatus {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  const b = before.ops.samples ?? [];
  const a = after.ops.samples;
  const problems: string[] = [];
  const status: HostStatus = {
    host: after.host,
    health: after.health.map((h) => `:${h.port} ${h.status ?? "--"}`).join("  "),
    resizers: { up: 0, total: after.resizers.length, inFlight: 0, queued: 0 },
    instances: [],
    problems,
  };
  for (const h of after.health) if (h.status !== 200) problems.push(`/healthz on :${h.port}: ${h.status !== undefined ? `answered ${h.status}` : h.error}`);
  if (a === undefined) {
    problems.push(`ops listener: ${after.ops.error ?? "no answer"}`);
  } else {
    const total = delta(sum(b, "nginx_http_responses_total", MASTER), sum(a, "nginx_http_responses_total", MASTER));
    status.requestsPerSecond = total / seconds;
    if (total > 0) {
      const errors = delta(sum(b, "nginx_http_responses_total", { ...MASTER, status_class: "5xx" }), sum(a, "nginx_http_responses_total", { ...MASTER, status_class: "5xx" }));
      status.errorRatio = errors / total;
    }
    const lookups = (s: Sample[], cache: RegExp) => sum(s, "nginx_http_responses_total", { ...MASTER, ...CACHED, cache_status: cache });
    const looked = delta(lookups(b, /^(?!none$)/), lookups(a, /^(?!none$)/));
    if (looked > 0) status.cacheHitRatio = delta(lookups(b, HITS), lookups(a, HITS)) / looked;
    const expiries = select(a, "image_origin_tls_certificate_expiry_timestamp_seconds").map((s) => s.value);
    if (expiries.length > 0) status.certificateDays = (Math.min(...expiries) * 1000 - after.at) / 86_400_000;
    for (const up of select(a, "nginx_up")) {
      const role = up.labels.role ?? "?";
      const ok = up.value === 1;
      const conns = (what: string) => sum(a, `nginx_connections_${what}`, { role });
      status.instances.push({
        role,
        up: ok,
        detail: ok ? `conns ${conns("active")} (reading ${conns("reading")}, writing ${conns("writing")}, waiting ${conns("waiting")})` : "no answer from its stub_status",
      });
      if (!ok) problems.push(`${role} down`);
    }
  }

  let refused = 0;
  let before503 = 0;
  const bucketsBefore = new Map<number, number>();
  const bucketsAfter = new Map<number, number>();
  const add = (into: Map<number, number>, from: Map<number, number>) => from.forEach((v, k) => into.set(k, (into.get(k) ?? 0) + v));
  for (const r of after.resizers) {
    const prev = before.resizers.find((x) => x.role === r.role)?.samples;
    if (r.samples === undefined) {
      status.instances.push({ role: r.role, up: false, detail: r.error ?? "no answer" });
      problems.push(`${r.role} down`);
      continue;
    }
    status.resizers.up++;
    // The gauge counts the request that read it (this scrape) too.
    const inFlight = Math.max(0, sum(r.samples, "resizer_http_in_flight_requests") - 1);
    const queued = sum(r.samples, "resizer_queue_depth");
    status.resizers.inFlight += inFlight;
    status.resizers.queued += queued;
    status.instances.push({ role: r.role, up: true, detail: `in flight ${inFlight}, queued ${queued}` });
    if (prev !== undefined) {
      refused += sum(r.samples, "resizer_http_requests_total", { status: "503" });
      before503 += sum(prev, "resizer_http_requests_total", { status: "503" });
      add(bucketsBefore, buckets(prev, "resizer_http_request_duration_seconds", RESIZE));
      add(bucketsAfter, buckets(r.samples, "resizer_http_request_duration_seconds", RESIZE));
    }
  }
  if (status.resizers.up > 0) {
    status.resizers.refusedPerSecond = delta(before503, refused) / seconds;
    const p99 = quantileBetween(bucketsBefore, bucketsAfter, 0.99);
    if (p99 !== undefined) status.resizers.p99Seconds = p99;
  }
  return status;
}

const pct = (v: number | undefined) => (v === undefined ? "-" : `${(v * 100).toFixed(1)}%`);
const num = (v: number | undefined, digits = 1) => (v === undefined ? "-" : v.toFixed(digits));
const ms = (v: number | undefined) => (v === undefined ? "-" : v < 1 ? `${Math.round(v * 1000)}ms` : `${v.toFixed(2)}s`);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd());
}

/** The whole view: one line per host, then its instances, then what is wrong. */
export function renderStatus(title: string, statuses: HostStatus[]): string {
  const head = ["HOST", "HEALTH", "REQ/S", "5XX", "CACHE HIT", "RESIZERS", "IN FLIGHT", "QUEUED", "503/S", "RESIZE P99", "CERT DAYS"];
  const rows = statuses.map((s) => [
    s.host,
    s.health,
    num(s.requestsPerSecond),
    pct(s.errorRatio),
    pct(s.cacheHitRatio),
    `${s.resizers.up}/${s.resizers.total} up`,
    String(s.resizers.inFlight),
    String(s.resizers.queued),
    num(s.resizers.refusedPerSecond),
    ms(s.resizers.p99Seconds),
    s.certificateDays === undefined ? "-" : String(Math.floor(s.certificateDays)),
  ]);
  const lines = [title, "", ...table([head, ...rows])];
  for (const s of statuses) {
    lines.push("", `${s.host}:`);
    lines.push(...table(s.instances.map((i) => [`  ${i.role}`, i.up ? "up" : "DOWN", i.detail])));
    for (const p of s.problems) lines.push(`  ! ${p}`);
  }
  return `${lines.join("\n")}\n`;
}
