// Reading the resizers' /metrics (Prometheus text format) for the few counters the
// benchmark needs. Pure.

/** `name{a="x",b="y"} 12` -> labels and value; comments and other metrics are skipped. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of `name` over the samples whose labels match `match` (a value or a predicate per label). */
export function sumMetric(text: string, name: string, match: Record<string, string | ((v: string) => boolean)> = {}): number {
  return samples(text, name)
    .filter((s) => Object.entries(match).every(([k, want]) => (typeof want === "string" ? s.labels[k] === want : s.labels[k] !== undefined && want(s.labels[k]))))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Whether the text has any sample of `name`. */
export function hasMetric(text: string, name: string): boolean {
  return samples(text, name).length > 0;
}

/**
 * Transforms a resizer has started: its own `resizer_transforms_total`. Not its 200
 * answers: requests that joined an identical transform in flight share one.
 */
export function transformsDone(text: string): number {
  if (!hasMetric(text, "resizer_transforms_total")) throw new Error("the resizer exports no resizer_transforms_total");
  return sumMetric(text, "resizer_transforms_total");
}
