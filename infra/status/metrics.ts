// Prometheus' text exposition format, read back (what the ops agent and the resizers
// expose): samples with their labels, and the few sums `npm run status` needs. Pure.
//
// Hand-written rather than a package: the format's sample line is small (name, optional
// labels with escaped values, value, optional timestamp) and both ends are ours
// (prom-client); the npm parsers for it ship no types and see little upkeep.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** Every sample of an exposition; comments and malformed lines are skipped. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    const body = m[2] ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (l === null) break;
      labels[l[1]!] = unescape(l[2]!);
    }
    out.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
  }
  return out;
}

export type LabelFilter = Record<string, string | RegExp | ((value: string) => boolean)>;

function matches(labels: Record<string, string>, filter: LabelFilter): boolean {
  return Object.entries(filter).every(([k, want]) => {
    const v = labels[k] ?? "";
    return typeof want === "string" ? v === want : want instanceof RegExp ? want.test(v) : want(v);
  });
}

export function select(samples: readonly Sample[], name: string, filter: LabelFilter = {}): Sample[] {
  return samples.filter((s) => s.name === name && matches(s.labels, filter));
}

/** The sum of a metric's samples matching `filter` (0 when none). */
export function sum(samples: readonly Sample[], name: string, filter: LabelFilter = {}): number {
  return select(samples, name, filter).reduce((acc, s) => acc + s.value, 0);
}

/** Cumulative bucket counts of a histogram by `le`, summed over the matching series. */
export function buckets(samples: readonly Sample[], histogram: string, filter: LabelFilter = {}): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of select(samples, `${histogram}_bucket`, filter)) {
    const le = parseValue(s.labels.le ?? "+Inf");
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/**
 * The q-quantile of the observations between two reads of a histogram (bucket deltas),
 * interpolated within its bucket as Prometheus' histogram_quantile does; undefined when
 * nothing was observed in between.
 */
export function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): number | undefined {
  const les = [...after.keys()].sort((a, b) => a - b);
  const delta = les.map((le) => Math.max(0, (after.get(le) ?? 0) - (before.get(le) ?? 0)));
  const total = delta[delta.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (delta[i]! >= rank) {
      const upper = les[i]!;
      const lower = i === 0 ? 0 : les[i - 1]!;
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : delta[i - 1]!;
      const inBucket = delta[i]! - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
  }
  return les[les.length - 2];
}
