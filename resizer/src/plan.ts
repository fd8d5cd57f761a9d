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
  /** JPEG has no alpha channel: composite transparent sources onto white, not black. */
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
  if (t.w !== undefined && t.h !== undefined) {
    const fit = t.fit ?? "cover";
    if (fit === "inside") return scaled(limit(Math.min(t.w / width, t.h / height)));
    if (fit === "outside") return scaled(limit(Math.max(t.w / width, t.h / height)));
    return { width: t.w, height: t.h };
  }
  if (t.w !== undefined) return scaled(limit(t.w / width));
  if (t.h !== undefined) return scaled(limit(t.h / height));
  return { width, height };
}

export function planTransform(source: SourceInfo, t: Transform, format: OutputFormat, maxOutputDimension: number): Plan {
  const bound = outputBound(source.width, source.height, t);
  if (bound.width > maxOutputDimension || bound.height > maxOutputDimension) {
    throw new ResizeError(
      "output_too_large",
      `the result would be ${bound.width}x${bound.height}, over the ${maxOutputDimension}px limit`,
    );
  }
  const both = t.w !== undefined && t.h !== undefined;
  const keepsAlpha = source.hasAlpha && format !== "jpeg";
  return {
    resize: {
      ...(t.w !== undefined && { width: t.w }),
      ...(t.h !== undefined && { height: t.h }),
      // One side given: the other follows the aspect ratio, which is what `inside` does.
      fit: both ? (t.fit ?? "cover") : "inside",
      position: t.position ?? "centre",
      withoutEnlargement: t.enlarge !== true,
      // Letterbox bars (fit=contain): transparent when the result keeps the source's
      // transparency, else white (TimThumb's default canvas colour).
      background: { ...WHITE, alpha: keepsAlpha ? 0 : 1 },
    },
    format,
    quality: format === "png" ? undefined : (t.q ?? DEFAULT_QUALITY[format]),
    flatten: source.hasAlpha && format === "jpeg",
    bound,
  };
}
