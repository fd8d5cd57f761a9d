// What the ops agent reads, as plain data: syslog datagrams carrying nginx's JSON access
// log lines, stub_status pages, and the ACME renewer's result files. Pure: text in, values out.

/** A syslog message as nginx sends it: `<190>Dec  1 15:29:25 [host ]tag: message` (RFC 3164). */
export function parseSyslog(datagram: string): { tag: string; message: string } | undefined {
  const m = /^<\d{1,3}>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} (?:\S+ )?([A-Za-z0-9_]{1,32}): /.exec(datagram);
  if (m === null) return undefined;
  return { tag: m[1]!, message: datagram.slice(m[0].length).replace(/\n$/, "") };
}

/** The access log fields the metrics read (infra/nginx/observability.ts writes them all). */
export interface AccessLogEntry {
  status: number;
  bytes: number;
  requestTime: number;
  route: string;
  cache: string;
  tries: UpstreamTry[];
}

export interface UpstreamTry {
  /** `address:port` of the member, or the upstream's name when none was available. */
  address: string;
  /** The member's status; 502/504 are what nginx logs for no answer. */
  status?: number;
  seconds?: number;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : undefined);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/**
 * nginx's per-try lists: `a, b` for tries within one upstream, ` : ` between the upstreams of
 * an internal redirect; `-` where a try has no value.
 */
export function splitTries(text: string): string[] {
  if (text.trim() === "") return [];
  return text.split(" : ").flatMap((group) => group.split(", ")).map((v) => v.trim());
}

/** One JSON access log line -> the fields the metrics need; undefined when it is not one. */
export function parseAccessLog(message: string): AccessLogEntry | undefined {
  let raw: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(message);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
    raw = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const status = num(raw.status);
  if (status === undefined) return undefined;
  const addrs = splitTries(str(raw.upstream));
  const statuses = splitTries(str(raw.upstream_status));
  const times = splitTries(str(raw.upstream_time));
  const tries = addrs.map((address, i) => {
    const s = num(statuses[i]);
    const t = num(times[i]);
    return { address, ...(s !== undefined && { status: s }), ...(t !== undefined && { seconds: t }) };
  });
  return { status, bytes: num(raw.bytes) ?? 0, requestTime: num(raw.request_time) ?? 0, route: str(raw.route), cache: str(raw.cache), tries };
}

/** 200 -> `2xx`. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
}

/** nginx's $upstream_cache_status values; empty where no cache is involved. */
export const CACHE_STATUSES = ["HIT", "MISS", "EXPIRED", "STALE", "UPDATING", "REVALIDATED", "BYPASS"] as const;

export function cacheLabel(value: string): string {
  if (value === "") return "none";
  return (CACHE_STATUSES as readonly string[]).includes(value) ? value : "other";
}

export interface StubStatus {
  active: number;
  accepted: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

/** nginx's stub_status page. */
export function parseStubStatus(text: string): StubStatus | undefined {
  const m = /Active connections:\s*(\d+)\s+server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)\s+Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
  if (m === null) return undefined;
  const [active, accepted, handled, requests, reading, writing, waiting] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return { active, accepted, handled, requests, reading, writing, waiting };
}

/** The renewer's result file (infra/acme.ts `set_status`): `ok|failed <ISO time> ...`. */
export function parseRenewerResult(text: string): { ok: boolean; at: Date } | undefined {
  const m = /^(ok|failed) (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)\b/.exec(text.trim());
  if (m === null) return undefined;
  return { ok: m[1] === "ok", at: new Date(m[2]!) };
}
