// Random stack configs across what the schema accepts, from a seeded PRNG, for property
// tests. Times and sizes are first drawn from nginx's broadest grammar (ms everywhere, `g`
// sizes, tiny zones); only the fields the real schema then refuses are narrowed. So the
// schema, not this generator, decides what reaches nginx: a schema that accepts something
// nginx refuses fails the property test.
import { clusterSpecSchema, type ClusterSpec, type ClusterSpecInput } from "../../infra/config.js";

/** mulberry32: tiny, fast, good enough for test data; same seed, same sequence. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  /** Up to `max` distinct items, in the input's order. */
  subset<T>(items: readonly T[], min: number, max: number): T[] {
    const n = this.int(min, Math.min(max, items.length));
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(this.int(0, items.length - 1));
    return [...chosen].sort((a, b) => a - b).map((i) => items[i]!);
  }
  maybe<T>(p: number, make: () => T): T | undefined {
    return this.bool(p) ? make() : undefined;
  }
}

/** A seed for this run: $PROPERTY_SEED when set, else random. */
export function runSeed(): number {
  const env = process.env.PROPERTY_SEED;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`PROPERTY_SEED must be an integer, got ${JSON.stringify(env)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32);
}

/** The seed of case `i` of a run (each case reproducible on its own). */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 2654435761) + i * 0x85ebca6b) >>> 0;
}

// ---------------------------------------------------------------------------------------
// Scalars

const TIME_UNITS = ["y", "M", "w", "d", "h", "m", "s", "ms"] as const;

/** An nginx time: a plain number or 1-3 units, largest first (no ms when `seconds`). */
function time(rng: Rng, seconds: boolean, small = false): string {
  if (rng.bool(0.15)) return String(rng.int(small ? 1 : 0, 120));
  const units = (seconds ? TIME_UNITS.slice(0, 7) : TIME_UNITS).filter((u) => !small || ["h", "m", "s", "ms"].includes(u));
  const chosen = rng.subset(units, 1, 3);
  return chosen.map((u) => `${rng.int(1, u === "ms" ? 999 : u === "y" ? 2 : 59)}${u}`).join("");
}

function memSize(rng: Rng, minBytes = 0): string {
  for (;;) {
    const unit = rng.pick(["", "k", "K", "m", "M"]);
    const n = unit === "" ? rng.int(0, 1 << 22) : unit.toLowerCase() === "k" ? rng.int(1, 1 << 16) : rng.int(1, 512);
    const bytes = n * (unit === "" ? 1 : unit.toLowerCase() === "k" ? 1024 : 1024 ** 2);
    if (bytes >= minBytes) return `${n}${unit}`;
  }
}

function offsetSize(rng: Rng): string {
  if (rng.bool(0.25)) return `${rng.int(1, 4)}${rng.pick(["g", "G"])}`;
  return memSize(rng);
}

const LABEL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";
function label(rng: Rng, min = 1, max = 12): string {
  const n = rng.int(min, max);
  let s = rng.pick([..."abcdefghijklmnopqrstuvwxyz"]);
  for (let i = 1; i < n; i++) s += rng.pick(n - i > 1 && rng.bool(0.1) ? [..."-"] : [...LABEL_CHARS]);
  return s.replace(/-+$/, "") || "a";
}

function serverName(rng: Rng): string {
  const parts = Array.from({ length: rng.int(1, 3) }, () => label(rng));
  const name = [...parts, rng.pick(["com", "net", "example", "test"])].join(".");
  const upper = rng.bool(0.1) ? name.toUpperCase() : name;
  return rng.bool(0.15) ? `*.${upper}` : upper;
}

function urlPath(rng: Rng, trailingSlash: boolean): string {
  const segs = Array.from({ length: rng.int(1, 4) }, () => label(rng, 1, 8) + rng.pick(["", "", "_x", ".d", "~1"]));
  const p = `/${segs.join("/")}`;
  return trailingSlash ? `${p}/` : `${p}.${rng.pick(["gif", "png", "jpg"])}`;
}

const GZIP_TYPES = [
  "text/plain", "text/css", "text/xml", "text/javascript", "application/javascript", "application/x-javascript",
  "application/json", "application/xml", "application/rss+xml", "image/svg+xml", "application/vnd.ms-fontobject",
] as const;

const HASH_KEYS = ["$request_uri", "$remote_addr", "$uri", "$arg_src$arg_w", "img:$uri", "$host/$request_uri", "$binary_remote_addr"] as const;

const PEM = `-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUPLACEHOLDER0000000000000000000wCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----
`;

// ---------------------------------------------------------------------------------------
// The config

/** Distinct ports across master, slaves and every resizer range (the schema's rule). */
class Ports {
  private used = new Set<number>();
  one(rng: Rng, lo = 1024, hi = 60000): number {
    for (;;) {
      const p = rng.int(lo, hi);
      if (!this.used.has(p)) {
        this.used.add(p);
        return p;
      }
    }
  }
  range(rng: Rng, n: number): number {
    for (;;) {
      const base = rng.int(1024, 60000 - n);
      const ps = Array.from({ length: n }, (_, i) => base + i);
      if (ps.every((p) => !this.used.has(p))) {
        ps.forEach((p) => this.used.add(p));
        return base;
      }
    }
  }
  reserve(n: number, base: number): boolean {
    const ps = Array.from({ length: n }, (_, i) => base + i);
    if (ps.some((p) => this.used.has(p))) return false;
    ps.forEach((p) => this.used.add(p));
    return true;
  }
}

function instance(rng: Rng, factor: number): { workerProcesses: "auto" | number; workerConnections: number; workerRlimitNofile: number } {
  const workerConnections = rng.int(64, 20000);
  return {
    workerProcesses: rng.bool(0.5) ? "auto" : rng.int(1, 8),
    workerConnections,
    workerRlimitNofile: Math.max(1024, workerConnections * factor + rng.pick([0, 0, rng.int(0, 50000)])),
  };
}

export function randomSpecInput(rng: Rng): ClusterSpecInput {
  const ports = new Ports();
  const masterHttp = rng.bool(0.3) ? 80 : ports.one(rng);
  const masterHttps = rng.bool(0.3) && masterHttp !== 443 ? 443 : ports.one(rng);
  ports.reserve(1, masterHttp);
  ports.reserve(1, masterHttps);

  // Upstream and slaves, respecting what nginx accepts per method.
  const method = rng.pick(["round_robin", "least_conn", "ip_hash", "hash", "random"] as const);
  const balance =
    method === "hash"
      ? { method, key: rng.pick(HASH_KEYS), ...(rng.bool() && { consistent: rng.bool() }) }
      : method === "random"
        ? { method, ...(rng.bool() && { two: rng.bool() }) }
        : { method };
  const backupAllowed = method === "round_robin" || method === "least_conn";
  const slaveCount = rng.int(1, 4);
  const slaves = Array.from({ length: slaveCount }, (_, i) => {
    const maxFails = rng.maybe(0.4, () => rng.int(0, 10));
    const backup = i > 0 && backupAllowed && rng.bool(0.2);
    return {
      port: ports.one(rng),
      ...(rng.bool(0.3) && { weight: rng.int(1, 1000) }),
      ...(maxFails !== undefined && { maxFails }),
      ...(maxFails !== 0 && rng.bool(0.3) && { failTimeout: time(rng, false) }),
      ...(rng.bool(0.2) && { maxConns: rng.int(0, 10000) }),
      ...(backup && { backup: true }),
      ...(i > 0 && !backup && rng.bool(0.15) && { down: true }),
    };
  });

  const replicas = rng.int(1, 5);
  const basePort = ports.range(rng, replicas);

  // Hosts, some with their own overrides.
  const hostCount = rng.int(1, 3);
  const hosts = Array.from({ length: hostCount }, (_, i) => {
    const v6 = rng.bool(0.2);
    // Hosts live on 10.0.0.0/8 but never in the default container subnet (10.213.0.0/24),
    // which the schema rightly refuses to shadow.
    const second = rng.int(0, 254);
    const address = v6 ? `fd00::${i + 1}` : `10.${second >= 213 ? second + 1 : second}.${rng.int(0, 255)}.${i + 1}`;
    const ssh = rng.bool(0.5);
    const override = rng.maybe(0.3, () => {
      const r = rng.int(1, 4);
      const base = rng.int(20000, 30000);
      return ports.reserve(r, base) ? { replicas: r, basePort: base } : undefined;
    });
    return {
      name: `h${i}-${label(rng, 1, 8)}`.replace(/-$/, "x"),
      address,
      docker: ssh ? `ssh://deploy@${v6 ? `[${address}]` : address}` : "unix:///var/run/docker.sock",
      ...(ssh && rng.bool(0.3) && { sshOpts: ["-o", "StrictHostKeyChecking=yes"] }),
      ...(rng.bool(0.2) && { imagesDir: urlPath(rng, true).replace(/\/$/, "") }),
      ...(rng.bool(0.3) && {
        nginx: {
          ...(rng.bool() && { master: instance(rng, 2) }),
          ...(rng.bool() && { slave: instance(rng, 1) }),
          ...(rng.bool() && { keepaliveTimeout: time(rng, false, true) }),
          ...(rng.bool() && { keepaliveRequests: rng.int(1, 100000) }),
        },
      }),
      ...(override && { resizer: override }),
    };
  });

  // Domains and the certificates they use (every certificate used by some domain).
  const certIds = Array.from({ length: rng.int(0, 3) }, (_, i) => `cert-${i}${label(rng, 1, 5)}`);
  const domainCount = rng.int(Math.max(1, certIds.length), 4);
  const names = new Set<string>();
  const defaultAt = rng.bool(0.5) ? rng.int(0, domainCount - 1) : -1;
  const domains = Array.from({ length: domainCount }, (_, i) => {
    const serverNames: string[] = [];
    for (let n = rng.int(1, 3); serverNames.length < n; ) {
      const s = serverName(rng);
      if (names.has(s.toLowerCase())) continue;
      names.add(s.toLowerCase());
      serverNames.push(s);
    }
    const certificate = i < certIds.length ? certIds[i] : rng.bool(0.4) && certIds.length > 0 ? rng.pick(certIds) : undefined;
    return {
      id: `dom-${i}`,
      serverNames,
      ...(rng.bool(0.6) && { notFoundStatus: rng.pick([400, 404, 410, 403, 499]) }),
      ...(certificate && { certificate }),
      ...(i === defaultAt && { default: true }),
    };
  });
  const certificates = Object.fromEntries(
    certIds.map((id) => {
      const wildcard = domains.some((d) => d.certificate === id && d.serverNames.some((n) => n.startsWith("*.")));
      const mode = rng.pick(["supplied", "selfSigned", "acme"] as const);
      if (mode === "supplied") return [id, { mode, certificate: PEM }];
      if (mode === "selfSigned") return [id, { mode, ...(rng.bool() && { validityDays: rng.int(1, 3650) }) }];
      const dns = wildcard || rng.bool(0.3);
      return [id, { mode, email: "ops@example.com", ...(dns ? { challenge: "dns-01" as const, dnsPlugin: "cloudflare" } : {}), ...(rng.bool(0.3) && { staging: true }) }];
    }),
  );

  // Cache.
  const statuses = rng.subset([200, 203, 204, 206, 301, 302, 304, 307, 308, 404, 410, 500, 503], 1, 6);
  const valid: { statuses: number[] | "any"; time: string }[] = [];
  let rest = statuses;
  while (rest.length > 0) {
    const take = rng.int(1, rest.length);
    valid.push({ statuses: rest.slice(0, take), time: time(rng, false) });
    rest = rest.slice(take);
  }
  if (rng.bool(0.3)) valid.splice(rng.int(0, valid.length), 0, { statuses: "any", time: time(rng, false) });

  const presets = Object.fromEntries(
    Array.from({ length: rng.int(0, 3) }, (_, i) => [
      `p${i}_${label(rng, 1, 6)}`,
      {
        w: rng.int(1, 2000),
        ...(rng.bool() && { h: rng.int(1, 2000) }),
        ...(rng.bool() && { fit: rng.pick(["cover", "contain", "fill", "inside", "outside"] as const) }),
        ...(rng.bool() && { fmt: rng.pick(["jpeg", "png", "webp", "avif", "auto"] as const) }),
      },
    ]),
  );

  return {
    hosts,
    ...(rng.bool(0.3) && { imagesDir: urlPath(rng, true).replace(/\/$/, "") }),
    domains,
    ...(certIds.length > 0 && { certificates }),
    master: { httpPort: masterHttp, httpsPort: masterHttps },
    slaves,
    upstream: { balance, ...(rng.bool() && { keepalive: rng.int(1, 10000) }) },
    resizer: { replicas, basePort, ...(Object.keys(presets).length > 0 && { presets }), ...(rng.bool(0.3) && { cacheControl: "public, max-age=300" }) },
    cache: {
      levels: rng.pick(["1", "2", "1:2", "2:2", "1:1:2", "2:1:1", "2:2:2"]),
      keysZoneSize: rng.bool(0.7) ? offsetSize(rng) : `${rng.int(1, 64)}k`,
      inactive: time(rng, false),
      maxSize: offsetSize(rng),
      valid,
    },
    nginx: {
      master: instance(rng, 2),
      slave: instance(rng, 1),
      keepaliveTimeout: time(rng, false, true),
      keepaliveHeaderTimeout: time(rng, false, true),
      keepaliveRequests: rng.int(1, 1_000_000),
      resizeLimits: { enabled: rng.bool(0.8), connections: rng.int(1, 65_535), rate: rng.int(1, 100_000), burst: rng.int(0, 100_000) },
      gzip: { types: rng.subset(GZIP_TYPES, 1, 6), minLength: offsetSize(rng), compLevel: rng.int(1, 9) },
      expires: { thumbnail: time(rng, false), image: time(rng, false), script: time(rng, false) },
      profileFallback: { prefix: urlPath(rng, true), image: urlPath(rng, false) },
      proxy: {
        connectTimeout: time(rng, false, true),
        slaveReadTimeout: time(rng, false, true),
        resizerReadTimeout: time(rng, false, true),
        nextUpstreamTries: rng.int(1, 10),
      },
    },
    ...(rng.bool(0.4) && { vip: { address: "192.0.2.10" } }),
    rollout: rng.pick(["serial", "parallel"] as const),
  };
}

// ---------------------------------------------------------------------------------------
// Narrowing by the schema's own verdict

const TIME = /^(?=\d)(?:\d+|(?:\d+y)?(?:\d+M)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?)$/;
const SIZE = /^\d+[kKmMgG]?$/;

function narrowed(rng: Rng, value: unknown, path: readonly PropertyKey[]): unknown {
  if (typeof value !== "string") return undefined;
  const key = String(path.at(-1));
  if (/size|minlength/i.test(key) && SIZE.test(value)) return memSize(rng, 1024 ** 2);
  if (TIME.test(value)) return time(rng, true, /timeout/i.test(key));
  return undefined;
}

/**
 * A random config the schema accepts: broad values first, then each field the schema
 * refuses is redrawn from the narrower grammar (seconds-only time, k/m size of at least 1m).
 * A refusal of anything else is a generator bug and throws with the schema's messages.
 */
export function randomValidSpec(rng: Rng): { input: ClusterSpecInput; spec: ClusterSpec; narrowed: string[] } {
  const input = randomSpecInput(rng) as Record<string, unknown>;
  const changed: string[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = clusterSpecSchema.safeParse(input);
    if (r.success) return { input: input as ClusterSpecInput, spec: r.data, narrowed: changed };
    for (const issue of r.error.issues) {
      const path = issue.path;
      let parent: unknown = input;
      for (const key of path.slice(0, -1)) parent = (parent as Record<PropertyKey, unknown>)[key];
      const last = path.at(-1)!;
      const old = (parent as Record<PropertyKey, unknown>)[last];
      const value = narrowed(rng, old, path);
      if (value === undefined) {
        throw new Error(`generator bug: the schema refuses ${path.join(".")}=${JSON.stringify(old)}: ${issue.message}\n${JSON.stringify(input, null, 2)}`);
      }
      (parent as Record<PropertyKey, unknown>)[last] = value;
      changed.push(`${path.join(".")}: ${JSON.stringify(old)} -> ${JSON.stringify(value)}`);
    }
  }
  throw new Error(`generator bug: no valid config after 10 rounds\n${JSON.stringify(input, null, 2)}`);
}
