// Output format selection. Pure: `fmt`, the source's format and the Accept header in,
// one concrete format out.
import type { RequestedFormat } from "./params.js";

export const OUTPUT_FORMATS = ["jpeg", "png", "webp", "avif"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  avif: "image/avif",
};

/** Source formats the service decodes (sharp's metadata names); `svg` only when enabled. */
export const RASTER_SOURCES = ["jpeg", "png", "webp", "heif", "gif"] as const;
export const VECTOR_SOURCES = ["svg"] as const;
export type SourceFormat = (typeof RASTER_SOURCES)[number] | (typeof VECTOR_SOURCES)[number];

/**
 * Without `fmt` the answer keeps the source's format, as TimThumb did. GIF becomes PNG:
 * only the first frame is served (see README) and PNG keeps its transparency losslessly;
 * a rendered SVG becomes PNG for the same reason.
 */
const SAME_AS_SOURCE: Record<SourceFormat, OutputFormat> = {
  jpeg: "jpeg",
  png: "png",
  webp: "webp",
  heif: "avif",
  gif: "png",
  svg: "png",
};

/**
 * `fmt=auto`: the best format the client lists explicitly. Wildcards (`*\/*`, `image/*`)
 * do not count: old clients send them without being able to decode AVIF. `q=0` refuses.
 */
export function negotiateFormat(accept: string | undefined): "avif" | "webp" | "jpeg" {
  const accepted = new Set<string>();
  for (const range of (accept ?? "").split(",")) {
    const [type = "", ...params] = range.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    accepted.add(type);
  }
  if (accepted.has("image/avif")) return "avif";
  if (accepted.has("image/webp")) return "webp";
  return "jpeg";
}

/** The negotiated variant when `fmt=auto` (it enters the ETag), else undefined. */
export function variantFor(fmt: RequestedFormat | undefined, accept: string | undefined): OutputFormat | undefined {
  return fmt === "auto" ? negotiateFormat(accept) : undefined;
}

/** The output format when the request alone decides it; undefined when it follows the source. */
export function requestedOutput(fmt: RequestedFormat | undefined, accept: string | undefined): OutputFormat | undefined {
  if (fmt === undefined) return undefined;
  return fmt === "auto" ? negotiateFormat(accept) : fmt;
}

export function outputFormat(fmt: RequestedFormat | undefined, source: SourceFormat, accept: string | undefined): OutputFormat {
  return requestedOutput(fmt, accept) ?? SAME_AS_SOURCE[source];
}
