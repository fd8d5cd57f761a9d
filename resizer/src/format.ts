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

// --- Accept: one definition for the resizer and the master -------------------------------
//
// RFC 9110 §12.5.1: `Accept: #( media-range [ weight ] )`, a media range being
// `type "/" subtype *( OWS ";" OWS [ parameter ] )` and the weight `OWS ";" OWS "q=" qvalue`
// with `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`. A type counts as
// accepted when an element of the list names it exactly (case-insensitively) with a weight
// above 0 or none; an element that does not parse accepts nothing. Trailing parameters after
// the weight (RFC 7231's accept-ext) are tolerated. Wildcards never count.
//
// The rule is a regular expression, so that the master's nginx `map` (infra/nginx/master.ts)
// runs exactly this one and the resizer tests the same text: there is no second parser.

const OWS = "[ \\t]*";
const TOKEN = "[-!#$%&'*+.^_`|~0-9a-z]+";
const QUOTED = '"(?:[^"\\\\]|\\\\.)*"';
const VALUE = `(?:${TOKEN}|${QUOTED})`;
/** A weight above 0: 0.001 to 1.000. */
const POSITIVE_WEIGHT = "q=(?:0\\.(?=[0-9]{0,2}[1-9])[0-9]{1,3}|1(?:\\.0{0,3})?)";

/**
 * A regular expression (PCRE and JavaScript alike, to be used case-insensitively) that
 * matches an Accept header value listing `mediaType` with a weight above 0.
 */
export function acceptsPattern(mediaType: string): string {
  const type = mediaType.replace(/[.+]/g, (c) => `\\${c}`);
  const params = `(?:${OWS};${OWS}(?:(?!q=)${TOKEN}=${VALUE})?)*`;
  const weight = `(?:${OWS};${OWS}${POSITIVE_WEIGHT}(?:${OWS};${OWS}(?:${TOKEN}(?:=${VALUE})?)?)*)?`;
  return `(?:^|,)${OWS}${type}${params}${weight}${OWS}(?:,|$)`;
}

/** Formats `fmt=auto` may answer, best first; JPEG is always acceptable. */
export const NEGOTIATED = ["avif", "webp", "jpeg"] as const;
export type NegotiatedFormat = (typeof NEGOTIATED)[number];

const ACCEPTS: Record<"avif" | "webp", RegExp> = {
  avif: new RegExp(acceptsPattern(CONTENT_TYPES.avif), "i"),
  webp: new RegExp(acceptsPattern(CONTENT_TYPES.webp), "i"),
};

/** What `fmt=auto` may answer this client, best first (JPEG always, last). */
export function acceptedFormats(accept: string | undefined): NegotiatedFormat[] {
  const header = accept ?? "";
  return NEGOTIATED.filter((f) => f === "jpeg" || ACCEPTS[f].test(header));
}

/**
 * `fmt=auto`: the best format the client lists explicitly. Wildcards (`*\/*`, `image/*`)
 * do not count: old clients send them without being able to decode AVIF. `q=0` refuses.
 */
export function negotiateFormat(accept: string | undefined): NegotiatedFormat {
  return acceptedFormats(accept)[0]!;
}

/** The negotiated variant when `fmt=auto` (it enters the ETag), else undefined. */
export function variantFor(fmt: RequestedFormat | undefined, accept: string | undefined): OutputFormat | undefined {
  return fmt === "auto" ? negotiateFormat(accept) : undefined;
}

/**
 * The formats the answer may take, best first, when the request alone decides them:
 * `fmt=auto` falls back along what the client accepts when the best one's size limit is
 * exceeded; an explicit format has no fallback. Undefined when it follows the source.
 */
export function requestedOutputs(fmt: RequestedFormat | undefined, accept: string | undefined): OutputFormat[] | undefined {
  if (fmt === undefined) return undefined;
  return fmt === "auto" ? acceptedFormats(accept) : [fmt];
}

/** The best of `requestedOutputs` (what a storyboard sheet is encoded as: no fallback). */
export function requestedOutput(fmt: RequestedFormat | undefined, accept: string | undefined): OutputFormat | undefined {
  return requestedOutputs(fmt, accept)?.[0];
}

/** The output formats of a request for a source of `source`'s format, best first. */
export function outputFormats(fmt: RequestedFormat | undefined, source: SourceFormat, accept: string | undefined): OutputFormat[] {
  return requestedOutputs(fmt, accept) ?? [SAME_AS_SOURCE[source]];
}

/** Bytes `sniffFormat` needs. */
export const SNIFF_BYTES = 12;

const startsWith = (b: Uint8Array, at: number, sig: readonly number[]) => sig.every((x, i) => b[at + i] === x);
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/**
 * The source's format from its first bytes, for the raster formats whose signature is
 * unambiguous (JPEG, PNG, GIF, WebP); undefined for anything else, which libvips then
 * identifies from the header (`probe`). libvips picks its loader from the same signatures,
 * so the two cannot disagree; a file that only starts like an image is refused by the
 * decoder, with the answer the probe would give.
 */
export function sniffFormat(head: Uint8Array): "jpeg" | "png" | "gif" | "webp" | undefined {
  if (startsWith(head, 0, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(head, 0, [0x89, ...ascii("PNG\r\n"), 0x1a, 0x0a])) return "png";
  if (startsWith(head, 0, ascii("GIF87a")) || startsWith(head, 0, ascii("GIF89a"))) return "gif";
  if (startsWith(head, 0, ascii("RIFF")) && startsWith(head, 8, ascii("WEBP"))) return "webp";
  return undefined;
}
