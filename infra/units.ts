// nginx times and sizes as numbers: the one parser of the `10s` / `1h30m` / `100m` values
// the schema (config.ts) accepts. Every consumer (planner, renderers, the local launcher)
// converts through here instead of parsing on its own. Pure.

/** Milliseconds per unit of an nginx time, largest first (nginx's own order). */
const TIME_UNITS_MS: Record<string, number> = { y: 31_536_000_000, M: 2_592_000_000, w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds of a validated nginx time (`5s` -> 5000, `1m30s` -> 90000; a plain number is seconds). */
export function timeMs(time: string): number {
  if (/^\d+$/.test(time)) return Number(time) * 1000;
  let total = 0;
  for (const [, n, unit] of time.matchAll(/(\d+)(ms|[yMwdhms])/g)) total += Number(n) * TIME_UNITS_MS[unit!]!;
  return total;
}

/** Seconds of a validated nginx time (`1h30m` -> 5400); `ms` parts round up to a second. */
export function timeSeconds(time: string): number {
  return Math.ceil(timeMs(time) / 1000);
}

/** Bytes of an nginx size (`8k` -> 8192; k, m, g, either case). */
export function sizeBytes(size: string): number {
  const unit = size.slice(-1).toLowerCase();
  const scale = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  return Number(scale === 1 ? size : size.slice(0, -1)) * scale;
}
