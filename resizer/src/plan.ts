// Source header + transform + output format -> what sharp will be asked to do, and how
// large the answer will be. Pure, so the output-size limit is decided (and tested)
// before a single pixel is decoded.
import type { ResizeOptions } from "sharp";
import { ResizeError } from "./errors.js";
import type { OutputFormat, SourceFormat } from "./format.js";
import { estimateTransformBytes, overBudget, type WorkingSet } from "./memory.js";
import { DEFAULT_QUALITY, type Transform } from "./params.js";
import type { ServiceSettings } from "./settings.js";

export interface SourceInfo {
  format: SourceFormat;
  /** Displayed size: after the EXIF orientation is applied. */
  width: number;
  height: number;
  hasAlpha: boolean;
}

export interface Plan {
  resize: ResizeOptions;
  format: OutputFormat;
  /** Encoder quality; undefined for PNG (lossless). */
  quality: number | undefined;
  /**
   * JPEG has no alpha channel: composite transparent sources onto white, not black.
   * sharp leaves an opaque source alone, so this needs no header.
   */
  flatten: boolean;
  /** Upper bound of the output size, checked against maxOutputDimension. */
  bound: { width: number; height: number };
  /** AVIF encoder effort (AVIF only; `encode` in engine.ts reads it). */
  avifEffort: number | undefined;
  /** What the memory estimate is made of, and the estimate (bytes) admission counts. */
  workingSet: WorkingSet;
  estimatedBytes: number;
}

/** The limits a plan is checked against, all before a pixel is decoded. */
export type PlanSettings = Pick<ServiceSettings, "maxOutputDimension" | "maxOutputPixels" | "maxInputPixels" | "avifEffort"> & {
  /** The replica's memory budget for transforms (bytes): a plan needing more is refused. */
  budgetBytes: number;
};

const WHITE = { r: 255, g: 255, b: 255 };

/**
 * The largest output the transform can produce from a `width`x`height` source. Exact
 * for single-side, inside and outside resizes; for cover/contain/fill the requested box
 * (never exceeded).
 */
export function outputBound(width: number, height: number, t: Transform): { width: number; height: number } {
  const limit = (scale: number) => (t.enlarge === true ? scale : Math.min(scale, 1));
  const scaled = (scale: number) => ({
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  });
  if (fillsBox(t)) return { width: t.w, height: t.h };
  if (t.w !== undefined && t.h !== undefined) {
    const scale = t.fit === "inside" ? Math.min(t.w / width, t.h / height) : Math.max(t.w / width, t.h / height);
    return scaled(limit(scale));
  }
  if (t.w !== undefined) return scaled(limit(t.w / width));
  if (t.h !== undefined) return scaled(limit(t.h / height));
  return { width, height };
}

/** Fits whose result is exactly the requested box, whatever the source's size. */
function fillsBox(t: Transform): t is Transform & { w: number; h: number } {
  return t.w !== undefined && t.h !== undefined && t.fit !== "inside" && t.fit !== "outside";
}

/** Positions that analyse the whole cover-scaled image (libvips' smartcrop). */
const SMARTCROP = new Set(["attention", "entropy"]);

/**
 * The plan of a request whose answer does not depend on the source's header: both sides
 * with a fit that fills the box, and a format the request decides (`fmt` given). Most
 * thumbnail URLs look like this, and skip a second open and parse of the file (`probe`):
 * ~0.5 ms of CPU per request. libvips still refuses a source over the pixel limit from
 * its header, before decoding. Undefined when the header is needed: one side only,
 * inside/outside, no `fmt`, a letterbox whose bars follow the source's transparency, or a
 * saliency crop (its memory depends on the source's aspect ratio).
 */
export function planWithoutHeader(t: Transform, formats: readonly OutputFormat[] | undefined, s: PlanSettings): Plan | undefined {
  if (formats === undefined || !fillsBox(t) || SMARTCROP.has(t.position ?? "")) return undefined;
  if (t.fit === "contain" && formats.some((f) => f !== "jpeg")) return undefined;
  return build(t, formats, { width: t.w, height: t.h }, { alpha: undefined, pixels: undefined, smartcrop: 0 }, s);
}

/** `formats`: what the answer may be, best first (`fmt=auto` falls back along it). */
export function planTransform(source: SourceInfo, t: Transform, formats: readonly OutputFormat[], s: PlanSettings): Plan {
  const smartcrop = SMARTCROP.has(t.position ?? "") ? area(outputBound(source.width, source.height, { ...t, fit: "outside" })) : 0;
  const facts = { alpha: source.hasAlpha, pixels: source.width * source.height, smartcrop };
  return build(t, formats, outputBound(source.width, source.height, t), facts, s);
}

const area = (b: { width: number; height: number }) => b.width * b.height;

/** What is known of the source: transparency and pixels (undefined without its header). */
interface SourceFacts {
  alpha: boolean | undefined;
  pixels: number | undefined;
  /** Pixels a saliency crop analyses (0: none). */
  smartcrop: number;
}

function build(t: Transform, formats: readonly OutputFormat[], bound: Plan["bound"], source: SourceFacts, s: PlanSettings): Plan {
  if (bound.width > s.maxOutputDimension || bound.height > s.maxOutputDimension) {
    throw new ResizeError(
      "output_too_large",
      `the result would be ${bound.width}x${bound.height}, over the ${s.maxOutputDimension}px limit`,
    );
  }
  let refusal: ResizeError | undefined;
  for (const format of formats) {
    const pixels = area(bound);
    const limit = s.maxOutputPixels[format];
    if (pixels > limit) {
      refusal = new ResizeError(
        "output_too_large",
        `the result would be ${bound.width}x${bound.height} = ${pixels} px, over the ${format.toUpperCase()} limit of ${limit} px (maxOutputPixels)`,
      );
      continue;
    }
    // With transparency unknown, assume it wherever the format could keep it.
    const keepsAlpha = format !== "jpeg" && source.alpha !== false;
    const workingSet: WorkingSet = {
      sourcePixels: source.pixels,
      outputPixels: pixels,
      bands: source.alpha === true || keepsAlpha ? 4 : 3,
      format,
      smartcropPixels: source.smartcrop,
    };
    const estimatedBytes = estimateTransformBytes(workingSet, s.maxInputPixels);
    if (estimatedBytes > s.budgetBytes) {
      refusal = overBudget(estimatedBytes, s.budgetBytes, `this ${format.toUpperCase()} result`);
      continue;
    }
    return { ...shape(t, format, bound, source.alpha === true && format !== "jpeg"), avifEffort: format === "avif" ? s.avifEffort : undefined, workingSet, estimatedBytes };
  }
  throw refusal ?? new ResizeError("output_too_large", "no output format is possible");
}

function shape(t: Transform, format: OutputFormat, bound: Plan["bound"], keepsAlpha: boolean): Omit<Plan, "avifEffort" | "workingSet" | "estimatedBytes"> {
  // One side given: the other follows the aspect ratio, which is what `inside` does.
  const fit = t.w !== undefined && t.h !== undefined ? (t.fit ?? "cover") : "inside";
  return {
    resize: {
      ...(t.w !== undefined && { width: t.w }),
      ...(t.h !== undefined && { height: t.h }),
      fit,
      position: t.position ?? "centre",
      withoutEnlargement: t.enlarge !== true,
      // Letterbox bars: transparent when the result keeps the source's transparency,
      // else white (TimThumb's default canvas colour).
      ...(fit === "contain" && { background: { ...WHITE, alpha: keepsAlpha ? 0 : 1 } }),
    },
    format,
    quality: format === "png" ? undefined : (t.q ?? DEFAULT_QUALITY[format]),
    flatten: format === "jpeg",
    bound,
  };
}
