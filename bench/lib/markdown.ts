// Markdown for bench/results/RESULTS.md: tables and number formats. Pure.
import type { Spread } from "./stats.js";

export type Align = "left" | "right";

export interface Column {
  title: string;
  align?: Align;
}

/** Cell text safe inside a table row: pipes escaped, newlines flattened. */
export function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** A GitHub-flavoured markdown table; every row must have one cell per column. */
export function table(columns: readonly (Column | string)[], rows: readonly (readonly string[])[]): string {
  const cols = columns.map((c) => (typeof c === "string" ? { title: c } : c));
  rows.forEach((r, i) => {
    if (r.length !== cols.length) throw new Error(`row ${i} has ${r.length} cells, the table ${cols.length} columns`);
  });
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [
    line(cols.map((c) => c.title)),
    `|${cols.map((c) => (c.align === "right" ? "---:" : "---")).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

/** Fixed decimals with thin grouping for large values: 1234.5 -> "1,235"; NaN -> "–". */
export function num(n: number, decimals = 0): string {
  if (!Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Significant-ish formatting for rates: 3 digits below 100, whole numbers above. */
export function rate(n: number): string {
  if (!Number.isFinite(n)) return "–";
  return Math.abs(n) >= 100 ? num(n, 0) : num(n, n >= 10 ? 1 : 2);
}

/** Median with its range when the runs differ: "152 (138–158)". */
export function withRange(s: Spread, format: (n: number) => string = rate): string {
  if (s.n === 0) return "–";
  const m = format(s.median);
  if (s.n === 1) return m;
  const lo = format(s.min);
  const hi = format(s.max);
  return lo === hi ? m : `${m} (${lo}–${hi})`;
}

/** A ratio as the claim: "0.84×". */
export function times(n: number, decimals = 2): string {
  return Number.isFinite(n) ? `${n.toFixed(decimals)}×` : "–";
}

/** Bytes in KB with one decimal ("12.3 KB"; 1 KB = 1000 bytes, as CDN bills count). */
export function kb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1000).toFixed(1)} KB` : "–";
}
