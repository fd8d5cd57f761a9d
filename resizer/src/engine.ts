// Everything that touches sharp/libvips: process-wide configuration, the header probe
// and the transform itself, as an ordered list of small named steps (imgproxy's shape).
import sharp, { type Sharp, type SharpOptions } from "sharp";
import { ResizeError } from "./errors.js";
import { RASTER_SOURCES, VECTOR_SOURCES, type SourceFormat } from "./format.js";
import type { Plan, SourceInfo } from "./plan.js";
import type { ServiceSettings } from "./settings.js";

export const ENGINE = `sharp/${sharp.versions.sharp} libvips/${sharp.versions.vips}`;

/** libvips loaders for the formats the service decodes; every other loader is blocked. */
const RASTER_LOADERS = [
  "VipsForeignLoadJpeg",
  "VipsForeignLoadUhdr", // JPEG with an HDR gain map (recent phones): still a JPEG
  "VipsForeignLoadPng",
  "VipsForeignLoadWebp",
  "VipsForeignLoadHeif", // AVIF (sharp's libvips has no HEVC)
  "VipsForeignLoadNsgif",
];
/** librsvg: a large parser, only when the operator opts in. (sharp ships no PDF loader.) */
const VECTOR_LOADERS = ["VipsForeignLoadSvg"];

export type EngineSettings = Pick<ServiceSettings, "allowVector" | "vipsThreads">;

/** Process-wide: which decoders exist, libvips' cache and threads. Idempotent. */
export function configureEngine(settings: EngineSettings): void {
  sharp.block({ operation: ["VipsForeignLoad"] }); // all loaders, including ones added by future libvips
  // Unknown names are ignored by libvips, so a loader missing from a build is harmless.
  sharp.unblock({ operation: RASTER_LOADERS.concat(settings.allowVector ? VECTOR_LOADERS : []) });
  // libvips' operation cache stays off, deliberately: every request decodes a different
  // open file through /proc/self/fd/N, so a hit could only ever be a wrong one (the same
  // fd number reused for another file), and the master caches results anyway.
  sharp.cache(false);
  sharp.concurrency(settings.vipsThreads); // 0 = sharp's default
}

export function allowedSources(allowVector: boolean): readonly SourceFormat[] {
  return allowVector ? [...RASTER_SOURCES, ...VECTOR_SOURCES] : RASTER_SOURCES;
}

/**
 * First frame only (`pages: 1`): an animated GIF/WebP becomes a still of its first frame.
 * `failOn: "warning"`: a truncated or damaged file is refused (422) instead of being
 * served half grey. `limitInputPixels`: libvips' own bomb check from the header, the only
 * one when the plan needs no `probe`.
 */
export const inputOptions = (maxInputPixels: number): SharpOptions => ({
  pages: 1,
  failOn: "warning",
  limitInputPixels: maxInputPixels,
  sequentialRead: true,
});

const pixelLimit = (max: number) => new ResizeError("pixel_limit", `the source has more than ${max} pixels`);
const notAnImage = (cause: unknown) => new ResizeError("not_an_image", "the source is not a supported image", { cause });

/** Reads the header only (no pixel is decoded) and enforces format and pixel limits. */
export async function probe(input: string | Buffer, settings: Pick<ServiceSettings, "maxInputPixels" | "allowVector">): Promise<SourceInfo> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, { ...inputOptions(settings.maxInputPixels), limitInputPixels: false }).metadata();
  } catch (cause) {
    throw notAnImage(cause);
  }
  const format = meta.format as SourceFormat;
  if (!allowedSources(settings.allowVector).includes(format)) throw notAnImage(new Error(`format ${meta.format}`));
  const frameHeight = meta.height; // with `pages: 1`, one frame of an animation
  if (!(meta.width > 0 && frameHeight > 0)) throw notAnImage(new Error("no dimensions"));
  if (meta.width * frameHeight > settings.maxInputPixels) throw pixelLimit(settings.maxInputPixels);
  const orientedSwap = (meta.orientation ?? 1) >= 5;
  return {
    format,
    width: orientedSwap ? frameHeight : meta.width,
    height: orientedSwap ? meta.width : frameHeight,
    hasAlpha: meta.hasAlpha,
  };
}

type Step = (image: Sharp, plan: Plan) => Sharp;

/**
 * The transform, in order. sharp builds one libvips pipeline from these calls and runs
 * it in `toBuffer`; metadata (EXIF, ICC, XMP) is dropped because no step asks to keep it.
 */
export const STEPS: ReadonlyArray<readonly [name: string, step: Step]> = [
  ["auto_orient", (image) => image.autoOrient()],
  ["resize", (image, plan) => image.resize(plan.resize)],
  ["flatten_alpha", (image, plan) => (plan.flatten ? image.flatten({ background: "#ffffff" }) : image)],
  // CMYK, 16-bit and tagged (Adobe RGB, P3...) sources end as 8-bit sRGB, which is
  // what browsers assume for an untagged image.
  ["to_srgb", (image) => image.toColourspace("srgb")],
  ["encode", encode],
];

/**
 * Encoder options besides quality, chosen from `npm run bench`'s bytes at equal SSIM
 * (bench/results/RESULTS.md):
 * - JPEG: progressive with optimised scans. The quantisation (and so every pixel) is the
 *   baseline encoder's, only the entropy coding is smaller: ~4% fewer bytes for ~1.5 ms of
 *   CPU per thumbnail. Trellis quantisation and mozjpeg's tables score lower SSIM per byte
 *   here (they need a higher q to reach the same SSIM), so they are not used.
 * - AVIF: 4:2:0 chroma, as JPEG and WebP already are (sharp's AVIF default is 4:4:4, bits
 *   spent on colour detail the other formats drop): fewer bytes and less CPU.
 * - WebP: sharp's defaults (smart subsampling and the photo preset cost bytes here).
 * Also used by the benchmark's raw-sharp limit, so both do the same work.
 */
export const ENCODERS = {
  jpeg: (quality: number | undefined) => ({ quality, progressive: true, optimiseScans: true }) satisfies sharp.JpegOptions,
  webp: (quality: number | undefined) => ({ quality }) satisfies sharp.WebpOptions,
  avif: (quality: number | undefined) => ({ quality, chromaSubsampling: "4:2:0" }) satisfies sharp.AvifOptions,
} as const;

/**
 * The encoder of the plan's format at its quality, with ENCODERS' options (also the
 * storyboard sheets'). `avifEffort`: sharp's default (4) unless a caller encoding much
 * larger images asks for less (a 1600x900 storyboard sheet costs ~1.8 s of CPU at 4, ~0.2 s at 2).
 */
export function encode(image: Sharp, plan: Pick<Plan, "format" | "quality"> & { avifEffort?: number }): Sharp {
  const quality = plan.quality;
  switch (plan.format) {
    case "jpeg":
      return image.jpeg(ENCODERS.jpeg(quality));
    case "webp":
      return image.webp(ENCODERS.webp(quality));
    case "avif":
      return image.avif({ ...ENCODERS.avif(quality), ...(plan.avifEffort !== undefined && { effort: plan.avifEffort }) });
    case "png":
      return image.png();
  }
}

export interface Rendered {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Runs the steps, in this process: the service runs it in a transform worker
 * (workers.ts), a child process that can be stopped at the deadline, since no libvips
 * timeout interrupts an AVIF encode.
 */
export async function render(input: string | Buffer, plan: Plan, options: { maxInputPixels: number }): Promise<Rendered> {
  let image = sharp(input, inputOptions(options.maxInputPixels));
  for (const [, step] of STEPS) image = step(image, plan);
  try {
    const { data, info } = await image.toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (cause) {
    throw renderError(cause, options.maxInputPixels);
  }
}

/**
 * sharp's failure -> the service's answer. Without a `probe` first (planWithoutHeader)
 * the header is read here, so its refusals must answer as `probe` does.
 */
export function renderError(cause: unknown, maxInputPixels: number): ResizeError {
  const message = cause instanceof Error ? cause.message : "";
  if (/exceeds pixel limit/i.test(message)) return pixelLimit(maxInputPixels);
  if (/corrupt header|unsupported image format/i.test(message)) return notAnImage(cause);
  return new ResizeError("not_an_image", "the source image is damaged or truncated", { cause });
}
