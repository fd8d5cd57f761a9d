// The picture people look at first: per path, throughput (req/s, with the range of the
// runs) and latency (p50 and p99), grouped so that each group has its own linear scale
// (resizes run at ~10^2 req/s, cached bytes at ~10^4-10^5). SVG text, no library. Pure.

export type BarKind = "limit" | "ours" | "peer";

export interface ChartBar {
  label: string;
  kind: BarKind;
  /** Median req/s and the runs' range. */
  rps: number;
  rpsMin?: number;
  rpsMax?: number;
  /** Median latency in ms. */
  p50: number;
  p99: number;
  /** The ratio column, e.g. "0.84× raw sharp". */
  note?: string;
}

export interface ChartGroup {
  title: string;
  bars: ChartBar[];
}

/** N identical requests for a variant nobody asked for before: time until all are answered. */
export interface StallPanel {
  title: string;
  bars: { label: string; kind?: BarKind; ms: number; note?: string }[];
  /** A dashed line (e.g. the target: 1.2× one resize) with its label. */
  marker?: { ms: number; label: string };
}

export interface ChartModel {
  title: string;
  subtitle: string;
  groups: ChartGroup[];
  stall?: StallPanel;
  /** One line under the chart (conditions, where the numbers come from). */
  footer?: string;
}

export const COLOURS: Record<BarKind, string> = {
  limit: "#6e7781", // the reference: raw sharp in-process, a plain nginx
  ours: "#1f6feb", // image-origin's master and resizers
  peer: "#d4731c", // php-fpm + GD, nginx image_filter
};
const LEGEND: Record<BarKind, string> = { limit: "limit / reference", ours: "image-origin", peer: "peers (seeds' design, image_filter)" };

// Columns: label | throughput bars and value | ratio (the claim) | latency bars and values.
const W = 1400;
const RPS_X = 350;
const RPS_W = 400;
const NOTE_X = 830;
const LAT_X = 1040;
const LAT_W = 250;
const ROW = 30;
const BAR = 18;
const FONT = "DejaVu Sans, Verdana, Arial, sans-serif";

/** XML-escaped text. */
export function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Round tick values from 0 to at least `max` (about 4-6 intervals of 1, 2, 2.5 or 5 × 10^n). */
export function niceTicks(max: number): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const rough = max / 5;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => max / s <= 5)!;
  const ticks: number[] = [];
  for (let t = 0; t < max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** Axis label: 1500 -> "1.5k", 70000 -> "70k", 0.25 -> "0.25". */
export function tickLabel(v: number): string {
  if (v >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/** Bar values: whole numbers from 10 on, then 1 or 2 decimals (latencies below a millisecond). */
export const barValue = (v: number) => (v >= 10 ? Math.round(v).toLocaleString("en-US") : v >= 1 ? v.toFixed(1) : v.toFixed(2));

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs ? ` ${attrs}` : ""}>${esc(s)}</text>`;
}

function rect(x: number, y: number, w: number, h: number, attrs: string): string {
  return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${h.toFixed(1)}" ${attrs}/>`;
}

function axis(x0: number, width: number, y: number, height: number, ticks: number[], unit: string): string[] {
  const max = ticks[ticks.length - 1]!;
  const out: string[] = [];
  for (const t of ticks) {
    const x = x0 + (t / max) * width;
    out.push(`<line x1="${x.toFixed(1)}" y1="${y}" x2="${x.toFixed(1)}" y2="${y + height}" stroke="#d0d7de" stroke-width="1"/>`);
    out.push(text(x, y - 5, tickLabel(t), 'text-anchor="middle" font-size="11" fill="#57606a"'));
  }
  out.push(text(x0 + width, y - 19, unit, 'text-anchor="end" font-size="11" fill="#57606a"'));
  return out;
}

function stallPanel(panel: StallPanel, start: number, parts: string[]): number {
  let y = start + 22;
  parts.push(text(20, y, panel.title, 'font-size="15" font-weight="bold" fill="#1f2328"'));
  y += 22;
  parts.push(text(RPS_X, y, "time until every request is answered (lower is better)", 'font-size="12" font-weight="bold" fill="#1f2328"'));
  y += 34;
  const height = panel.bars.length * ROW;
  const ticks = niceTicks(Math.max(...panel.bars.map((b) => b.ms), panel.marker?.ms ?? 0));
  parts.push(...axis(RPS_X, RPS_W, y, height, ticks, "ms"));
  const scale = RPS_W / ticks[ticks.length - 1]!;
  panel.bars.forEach((b, i) => {
    const top = y + i * ROW + (ROW - BAR) / 2;
    const mid = top + BAR / 2;
    parts.push(text(RPS_X - 10, mid + 4, b.label, 'text-anchor="end" font-size="13" fill="#1f2328"'));
    parts.push(rect(RPS_X, top, b.ms * scale, BAR, `fill="${COLOURS[b.kind ?? "ours"]}" rx="2"`));
    const value = `${barValue(b.ms)} ms`;
    parts.push(text(RPS_X + b.ms * scale + 6, mid + 4, value, 'font-size="12" fill="#1f2328"'));
    if (b.note) parts.push(text(RPS_X + b.ms * scale + 14 + value.length * 7, mid + 4, b.note, 'font-size="12" font-weight="bold" fill="#1f2328"'));
  });
  if (panel.marker) {
    const x = RPS_X + panel.marker.ms * scale;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${y - 2}" x2="${x.toFixed(1)}" y2="${y + height + 2}" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="5 4"/>`);
    parts.push(text(x, y + height + 16, panel.marker.label, 'text-anchor="middle" font-size="11" fill="#cf222e"'));
    y += 16;
  }
  return y + height + 6;
}

/** The whole chart as an SVG document. */
export function chartSvg(model: ChartModel): string {
  const parts: string[] = [];
  let y = 30;
  parts.push(text(20, y, model.title, 'font-size="20" font-weight="bold" fill="#1f2328"'));
  y += 22;
  parts.push(text(20, y, model.subtitle, 'font-size="12" fill="#57606a"'));
  y += 24;
  // Legend
  let lx = 20;
  for (const kind of ["ours", "peer", "limit"] as const) {
    parts.push(rect(lx, y - 11, 14, 14, `fill="${COLOURS[kind]}" rx="2"`));
    parts.push(text(lx + 20, y, LEGEND[kind], 'font-size="12" fill="#1f2328"'));
    lx += 40 + LEGEND[kind].length * 7;
  }
  parts.push(rect(LAT_X, y - 9, 22, 10, `fill="#1f2328" fill-opacity="0.85" rx="1"`));
  parts.push(text(LAT_X + 28, y, "p50", 'font-size="12" fill="#1f2328"'));
  parts.push(rect(LAT_X + 62, y - 9, 22, 10, `fill="#1f2328" fill-opacity="0.25" rx="1"`));
  parts.push(text(LAT_X + 90, y, "p99", 'font-size="12" fill="#1f2328"'));
  y += 18;

  for (const group of model.groups) {
    y += 22;
    parts.push(text(20, y, group.title, 'font-size="15" font-weight="bold" fill="#1f2328"'));
    y += 22;
    parts.push(text(RPS_X, y, "throughput (higher is better)", 'font-size="12" font-weight="bold" fill="#1f2328"'));
    parts.push(text(NOTE_X, y, "throughput vs reference", 'font-size="12" font-weight="bold" fill="#1f2328"'));
    parts.push(text(LAT_X, y, "latency (lower is better)", 'font-size="12" font-weight="bold" fill="#1f2328"'));
    y += 34;
    const height = group.bars.length * ROW;
    const rpsTicks = niceTicks(Math.max(...group.bars.map((b) => Math.max(b.rps, b.rpsMax ?? 0))));
    const latTicks = niceTicks(Math.max(...group.bars.map((b) => Math.max(b.p99, b.p50))));
    parts.push(...axis(RPS_X, RPS_W, y, height, rpsTicks, "req/s"));
    parts.push(...axis(LAT_X, LAT_W, y, height, latTicks, "ms"));
    const rpsScale = RPS_W / rpsTicks[rpsTicks.length - 1]!;
    const latScale = LAT_W / latTicks[latTicks.length - 1]!;
    group.bars.forEach((b, i) => {
      const top = y + i * ROW + (ROW - BAR) / 2;
      const mid = top + BAR / 2;
      const colour = COLOURS[b.kind];
      parts.push(text(RPS_X - 10, mid + 4, b.label, 'text-anchor="end" font-size="13" fill="#1f2328"'));
      // Throughput: bar = median, whisker = range of the runs.
      parts.push(rect(RPS_X, top, b.rps * rpsScale, BAR, `fill="${colour}" rx="2"`));
      if (b.rpsMin !== undefined && b.rpsMax !== undefined && b.rpsMax > b.rpsMin) {
        const x1 = RPS_X + b.rpsMin * rpsScale;
        const x2 = RPS_X + b.rpsMax * rpsScale;
        parts.push(`<path d="M${x1.toFixed(1)} ${mid - 5}v10M${x1.toFixed(1)} ${mid}H${x2.toFixed(1)}M${x2.toFixed(1)} ${mid - 5}v10" stroke="#1f2328" stroke-width="1.2" fill="none"/>`);
      }
      const rpsEnd = RPS_X + Math.max(b.rps, b.rpsMax ?? 0) * rpsScale;
      const value = barValue(b.rps);
      parts.push(text(rpsEnd + 6, mid + 4, value, 'font-size="12" fill="#1f2328"'));
      if (b.note) parts.push(text(NOTE_X, mid + 4, b.note, 'font-size="12" font-weight="bold" fill="#1f2328"'));
      // Latency: p99 as a light bar, p50 solid over it.
      parts.push(rect(LAT_X, top + 2, b.p99 * latScale, BAR - 4, `fill="${colour}" fill-opacity="0.3" rx="1"`));
      parts.push(rect(LAT_X, top + 2, b.p50 * latScale, BAR - 4, `fill="${colour}" rx="1"`));
      parts.push(text(LAT_X + Math.max(b.p99, b.p50) * latScale + 6, mid + 4, `${barValue(b.p50)} / ${barValue(b.p99)} ms`, 'font-size="12" fill="#1f2328"'));
    });
    y += height + 6;
  }
  if (model.stall) y = stallPanel(model.stall, y, parts);
  y += 26;
  if (model.footer) parts.push(text(20, y, model.footer, 'font-size="11" fill="#57606a"'));
  const h = y + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="${FONT}">`,
    `<rect width="${W}" height="${h}" fill="#ffffff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
