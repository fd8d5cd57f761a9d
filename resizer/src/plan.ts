// Source header + transform + output format -> what sharp will be asked to do, and how
// large the answer will be. Pure, so the output-size limit is decided (and tested)
// before a single pixel is decoded.
import type { ResizeOptions } from "sharp";
import { ResizeError } from "./errors.js";
import { DEFAULT_QUALITY, type Transform } from "./params.js";
import type { OutputFormat, SourceFormat } from "./format.js";

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
}

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

/**
 * The plan of a request whose answer does not depend on the source's header: both sides
 * with a fit that fills the box, and a format the request decides (`fmt` given). Most
 * thumbnail URLs look like this, and skip a second open and parse of the file (`probe`):
 * ~0.5 ms of CPU per request. libvips still refuses a source over the pixel limit from
 * its header, before decoding. Undefined when the header is needed: one side only,
 * inside/outside, no `fmt`, or a letterbox whose bars follow the source's transparency.
 */
export function planWithoutHeader(t: Transform, format: OutputFormat | undefined, maxOutputDimension: number): Plan | undefined {
  if (format === undefined || !fillsBox(t)) return undefined;
  if (t.fit === "contain" && format !== "jpeg") return undefined;
  return build(t, format, { width: t.w, height: t.h }, false, maxOutputDimension);
}

export function planTransform(source: SourceInfo, t: Transform, format: OutputFormat, maxOutputDimension: number): Plan {
  const keepsAlpha = source.hasAlpha && format !== "jpeg";
  return build(t, format, outputBound(source.width, source.height, t), keepsAlpha, maxOutputDimension);
}

function build(t: Transform, format: OutputFormat, bound: Plan["bound"], keepsAlpha: boolean, maxOutputDimension: number): Plan {
  if (bound.width > maxOutputDimension || bound.height > maxOutputDimension) {
    throw new ResizeError(
      "output_too_large",
      `the result would be ${bound.width}x${bound.height}, over the ${maxOutputDimension}px limit`,
    );
  }
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
