// How the providers store a value after `create` (their read-back), re-implemented as small
// pure functions so the lifecycle model can tell "what the program sends" from "what state
// holds". Each function names the source it mirrors; PROVIDER-FACTS.md cites the lines.

/** Marker for a value that is unknown during `pulumi preview` (the SDK's wire sentinel). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/**
 * Docker's `opts.ParseCPUs` (a decimal read as a rational, times 1e9) followed by the
 * provider's `nanoInt64ToDecimalString` (kreuzwerker helpers.go): "2" -> "2.0", "1.5" ->
 * "1.5", "0.5" -> "0.5", and, faithfully, "10" -> "10." (the provider counts zeros in the
 * whole string, integer part included).
 */
export function nanoCpusReadBack(cpus: string): string {
  const nano = parseNanoCpus(cpus);
  if (nano === 0n) return "0";
  const whole = nano / 1_000_000_000n;
  const frac = (nano % 1_000_000_000n).toString().padStart(9, "0");
  const str = `${whole}.${frac}`; // big.Rat.FloatString(9) of an exact value
  if ([...str].filter((c) => c === "0").length === 9) {
    // big.Rat.FloatString(1): rounded half away from zero
    const tenths = (nano * 10n + 500_000_000n) / 1_000_000_000n;
    return `${tenths / 10n}.${tenths % 10n}`;
  }
  return str.replace(/0+$/, "");
}

/** Docker's `opts.ParseCPUs`: nano-CPUs of a decimal string; throws like Docker on excess precision. */
export function parseNanoCpus(cpus: string): bigint {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(cpus.trim());
  if (!m || (m[1] === "" && (m[2] ?? "") === "")) throw new Error(`failed to parse ${cpus} as a rational number`);
  const frac = m[2] ?? "";
  if (frac.replace(/0+$/, "").length > 9) throw new Error(`cpus ${cpus}: value is too precise`);
  return BigInt(m[1] || "0") * 1_000_000_000n + BigInt((frac + "000000000").slice(0, 9));
}

const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, "µs": 1_000n, "μs": 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** Go's `time.ParseDuration` for the non-negative durations a healthcheck takes: "1m30s", "1.5s", "500ms". */
export function parseGoDuration(text: string): bigint {
  if (text === "0") return 0n;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0n;
  let pos = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const [whole = "", frac = ""] = m[1]!.split(".");
    const unit = UNIT_NS[m[2]!]!;
    total += BigInt(whole || "0") * unit + (BigInt((frac + "0".repeat(18)).slice(0, 18)) * unit) / 10n ** 18n;
    pos = re.lastIndex;
  }
  if (pos !== text.length || pos === 0) throw new Error(`time: invalid duration "${text}"`);
  return total;
}

/** Go's `time.Duration.String()`: 60s -> "1m0s", 300s -> "5m0s", 1.5s -> "1.5s", 0 -> "0s". */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const frac = (value: bigint, digits: number): string => {
    const s = value.toString().padStart(digits, "0").replace(/0+$/, "");
    return s === "" ? "" : `.${s}`;
  };
  if (ns < 1_000_000_000n) {
    if (ns < 1_000n) return `${ns}ns`;
    if (ns < 1_000_000n) return `${ns / 1_000n}${frac(ns % 1_000n, 3)}µs`;
    return `${ns / 1_000_000n}${frac(ns % 1_000_000n, 6)}ms`;
  }
  const seconds = `${(ns / 1_000_000_000n) % 60n}${frac(ns % 1_000_000_000n, 9)}s`;
  const minutes = ns / 60_000_000_000n;
  if (minutes === 0n) return seconds;
  const hours = minutes / 60n;
  return hours === 0n ? `${minutes}m${seconds}` : `${hours}h${minutes % 60n}m${seconds}`;
}

/** The provider sends `time.ParseDuration(value)` to Docker and reads back `Duration.String()`. */
export const goDurationReadBack = (text: string): string => formatGoDuration(parseGoDuration(text));

/** `net.IP.String()` of an address Docker publishes on (IPv6 compressed and lower-cased). */
export function canonicalIp(address: string): string {
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const parts = (s: string) => (s === "" ? [] : s.split(":"));
  const h = parts(head);
  const t = parts(tail);
  const groups = (address.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h).map((g) => parseInt(g, 16));
  // RFC 5952: the longest run (>= 2) of zero groups becomes "::".
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.len).join(":")}`;
}

/** What the engine host contributes to a read-back (dockerd's own defaults, daemon.json). */
export interface DaemonDefaults {
  /** The kernel accounts swap (cgroup memsw): an unset memory-swap becomes 2 x memory, else -1. */
  swapLimit: boolean;
  /** daemon.json `default-ulimits`: merged into every container's ulimits at inspect. */
  ulimits: { name: string; soft: number; hard: number }[];
  /** daemon.json `log-driver` / `log-opts`: merged into a container using the same driver. */
  logDriver: string;
  logOpts: Record<string, string>;
}

/** dockerd as installed by Debian's docker.io, with no daemon.json (this machine, measured). */
export const PLAIN_DAEMON: DaemonDefaults = { swapLimit: true, ulimits: [], logDriver: "json-file", logOpts: {} };

/** `memory_swap` as read back: Docker's MemorySwap in MB when positive, else as stored (-1). */
export function memorySwapReadBack(memorySwapMb: number | undefined, memoryMb: number | undefined, daemon: DaemonDefaults): number | undefined {
  const memory = memoryMb ?? 0;
  if (memory > 0 && !daemon.swapLimit && memorySwapMb !== -1) return -1;
  if (memorySwapMb !== undefined && memorySwapMb !== 0) return memorySwapMb;
  if (memory > 0) return 2 * memory;
  return memorySwapMb;
}

/** Ulimits as inspect reports them: the container's, then daemon defaults for names it lacks. */
export function ulimitsReadBack(ulimits: { name: string; soft: number; hard: number }[], daemon: DaemonDefaults) {
  const names = new Set(ulimits.map((u) => u.name));
  return [...ulimits, ...daemon.ulimits.filter((u) => !names.has(u.name))];
}

/**
 * Log options as stored: a container on the daemon's default driver gets the daemon's
 * `log-opts` for keys it did not set, and every container gets the daemon's `cache-*`
 * options (moby daemon/logs.go mergeAndVerifyLogConfig, cache/validate.go).
 */
export function logOptsReadBack(driver: string | undefined, opts: Record<string, string>, daemon: DaemonDefaults): Record<string, string> {
  const cache = Object.fromEntries(Object.entries(daemon.logOpts).filter(([k]) => k.startsWith("cache-")));
  if ((driver ?? daemon.logDriver) !== daemon.logDriver) return { ...cache, ...opts };
  return { ...daemon.logOpts, ...opts };
}
