// What the load asks for: distinct output sizes near 320x180 (so every request through
// the master is a cache MISS), split into disjoint slices so that no run, warm-up or
// round asks for a size another one already cached. Pure.
import { canonicalString, canonicalTransform } from "../../resizer/src/params.js";

export interface Variant {
  /** Source path under the images root. */
  src: string;
  w: number;
  h: number;
}

/** The box every resize row aims at (the "output near 320x180 q80"). */
export const TARGET = { w: 320, h: 180, q: 80 } as const;

/**
 * Widths and heights around the target: close enough that every variant costs the same
 * (same JPEG shrink-on-load factor, same output pixel count within ±15%), different
 * enough that each is its own cache key.
 */
export const W_RANGE = { from: 300, to: 340 } as const;
export const H_RANGE = { from: 169, to: 191 } as const;
/** The ranges in words, for the report. */
export const VARIANT_RANGE_TEXT = `w ${W_RANGE.from}–${W_RANGE.to} × h ${H_RANGE.from}–${H_RANGE.to}`;

/** How many distinct variants `sources` give. */
export function variantCapacity(sources: readonly string[]): number {
  return sources.length * (W_RANGE.to - W_RANGE.from + 1) * (H_RANGE.to - H_RANGE.from + 1);
}

/**
 * `count` distinct (src, w, h), deterministic. Consecutive entries differ in source, width
 * and height, so any contiguous slice is a fair mix.
 */
export function distinctVariants(sources: readonly string[], count: number): Variant[] {
  if (sources.length === 0) throw new Error("no sources");
  const widths = W_RANGE.to - W_RANGE.from + 1;
  const heights = H_RANGE.to - H_RANGE.from + 1;
  if (count > variantCapacity(sources)) throw new Error(`only ${variantCapacity(sources)} distinct variants from ${sources.length} sources, ${count} asked`);
  const out: Variant[] = [];
  for (let i = 0; i < count; i++) {
    // Mixed radix digits of i, each added to the ones below it: still one (src, w, h) per i
    // (the digits can be recovered one by one), but w and h move whenever src does.
    const a = i % sources.length;
    const b = Math.floor(i / sources.length) % widths;
    const c = Math.floor(i / (sources.length * widths)) % heights;
    out.push({ src: sources[a]!, w: W_RANGE.from + ((a + b) % widths), h: H_RANGE.from + ((a + b + c) % heights) });
  }
  return out;
}

/** Slice `index` of `slices` equal, disjoint, contiguous parts of `list`. */
export function slice<T>(list: readonly T[], index: number, slices: number): T[] {
  if (index < 0 || index >= slices) throw new Error(`slice ${index} of ${slices}`);
  const size = Math.floor(list.length / slices);
  return list.slice(index * size, (index + 1) * size);
}

/** Query-string value, percent-encoded where needed (paths keep their slashes readable). */
const q = (v: string | number) => encodeURIComponent(String(v)).replace(/%2F/g, "/");

/**
 * The resizer's own API (master and resizer direct), spelled canonically: the resizer
 * answers any other spelling with a redirect to this one.
 */
export const resizePath = (v: Variant, quality: number = TARGET.q): string =>
  `/resize?${canonicalString(v.src, canonicalTransform({ w: v.w, h: v.h, fit: "cover", q: quality }))}`;

/** The GD peer's script (bench/peers/gd-resize.php). */
export const gdPath = (v: Variant, quality: number = TARGET.q): string => `/gd-resize.php?src=${q(v.src)}&w=${v.w}&h=${v.h}&q=${quality}`;

/** nginx image_filter: the image's own path, the box as arguments (image_filter crop $arg_w $arg_h). */
export const imageFilterPath = (v: Variant): string => `/filter/${v.src.split("/").map(encodeURIComponent).join("/")}?w=${v.w}&h=${v.h}`;
