// Bytes at equal quality: for each source, the seeds' GD output sets the SSIM to reach and
// each encoder's lowest quality reaching it is searched. The resizer's own answers are
// asked over HTTP (fmt=jpeg, and fmt=auto with Accept listing WebP or AVIF); the other
// encoders are sharp's options applied in-process to the resizer's lossless output (the
// same pixels). Each row also times one encode of those pixels with its options (CPU).
// Not pure: HTTP and sharp.
import path from "node:path";
import sharp, { type Sharp } from "sharp";
import { ssim } from "ssim.js";
import { ENCODERS } from "../resizer/src/engine.js";
import { canonicalString, canonicalTransform, DEFAULT_QUALITY, type RequestedFormat } from "../resizer/src/params.js";
import { lowestQualityReaching, type Encoded } from "./lib/quality-search.js";
import type { EncoderResult, QualityResult } from "./lib/results.js";
import { gdPath, TARGET } from "./lib/workload.js";
import type { Source } from "./sources.js";

interface Pixels {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

async function pixels(image: Buffer | string, expect: { w: number; h: number }): Promise<Pixels> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== expect.w || info.height !== expect.h) throw new Error(`decoded ${info.width}x${info.height}, expected ${expect.w}x${expect.h}`);
  return { data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

const similarity = (a: Pixels, b: Pixels) => ssim(a, b, { downsample: false }).mssim;

async function fetchBytes(url: string, headers: Record<string, string> = {}, expectType?: string): Promise<Buffer> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const type = res.headers.get("content-type") ?? "";
  if (expectType !== undefined && !type.startsWith(expectType)) throw new Error(`${url} answered ${type}, expected ${expectType}`);
  return Buffer.from(await res.arrayBuffer());
}

interface Encoder {
  name: string;
  defaultQ: number;
  encode(q: number): Promise<Buffer>;
  /** The same encoder in-process (for its CPU time per encode). */
  options(image: Sharp, q: number): Sharp;
}

/** Median CPU time (ms) of one encode of `pixels` with `options` at `q`, in this process. */
async function cpuPerEncode(pixels: { data: Buffer; info: sharp.OutputInfo }, options: Encoder["options"], q: number, times: number): Promise<number> {
  const raw = { raw: { width: pixels.info.width, height: pixels.info.height, channels: pixels.info.channels } };
  const encodeOnce = () => options(sharp(pixels.data, raw), q).toBuffer();
  await encodeOnce();
  const cpu: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = process.cpuUsage();
    await encodeOnce();
    const t = process.cpuUsage(t0);
    cpu.push((t.user + t.system) / 1000);
  }
  return cpu.sort((a, b) => a - b)[Math.floor(cpu.length / 2)]!;
}

/** One source's row of the table. `resizer` is one replica's base URL, `gd` the GD peer's. */
export async function qualityOf(src: Source, root: string, urls: { resizer: string; gd: string }, timedEncodes = 5): Promise<QualityResult> {
  const box = { w: TARGET.w, h: TARGET.h };
  const reference = await pixels(
    await sharp(path.join(root, src.src))
      .resize({ width: box.w, height: box.h, fit: "cover", kernel: "lanczos3", fastShrinkOnLoad: false })
      .png()
      .toBuffer(),
    box,
  );
  const score = async (bytes: Buffer): Promise<Encoded> => ({ ssim: similarity(reference, await pixels(bytes, box)), bytes: bytes.length });

  const v = { src: src.src, ...box };
  const gdJpeg = await fetchBytes(`${urls.gd}${gdPath(v, TARGET.q)}`, {}, "image/jpeg");
  const gdPng = await fetchBytes(`${urls.gd}${gdPath(v, TARGET.q)}&fmt=png`, {}, "image/png");
  const gd = await score(gdJpeg);
  // Spelled canonically: the resizer redirects any other spelling.
  const resize = (q: number, fmt: RequestedFormat) => `${urls.resizer}/resize?${canonicalString(src.src, canonicalTransform({ w: box.w, h: box.h, fit: "cover", fmt, q }))}`;
  const lossless = await fetchBytes(resize(100, "png"), {}, "image/png");

  const inProcess = (name: string, defaultQ: number, options: Encoder["options"]): Encoder => ({ name, defaultQ, options, encode: (q) => options(sharp(lossless), q).toBuffer() });
  const encoders: Encoder[] = [
    {
      name: "JPEG, resizer (progressive, optimised scans)",
      defaultQ: DEFAULT_QUALITY.jpeg,
      encode: (q) => fetchBytes(resize(q, "jpeg"), {}, "image/jpeg"),
      options: (image, q) => image.jpeg(ENCODERS.jpeg(q)),
    },
    // What the resizer did before: sharp's baseline encoder (the same quantisation).
    inProcess("JPEG, sharp baseline (before)", DEFAULT_QUALITY.jpeg, (image, q) => image.jpeg({ quality: q })),
    // mozjpeg: true = trellis quantisation, overshoot deringing, progressive scans and
    // quantisation table 3 (tuned for PSNR-HVS); the other variant keeps trellis and the
    // scans but the standard (Annex K) table.
    inProcess("JPEG, sharp mozjpeg: true", DEFAULT_QUALITY.jpeg, (image, q) => image.jpeg({ quality: q, mozjpeg: true })),
    inProcess("JPEG, trellis, standard table, optimised scans", DEFAULT_QUALITY.jpeg, (image, q) =>
      image.jpeg({ quality: q, trellisQuantisation: true, overshootDeringing: true, quantisationTable: 0, progressive: true, optimiseScans: true }),
    ),
    {
      name: "WebP, resizer fmt=auto",
      defaultQ: DEFAULT_QUALITY.webp,
      encode: (q) => fetchBytes(resize(q, "auto"), { accept: "image/webp,image/*;q=0.8" }, "image/webp"),
      options: (image, q) => image.webp(ENCODERS.webp(q)),
    },
    {
      name: "AVIF, resizer fmt=auto (4:2:0)",
      defaultQ: DEFAULT_QUALITY.avif,
      encode: (q) => fetchBytes(resize(q, "auto"), { accept: "image/avif,image/webp,image/*;q=0.8" }, "image/avif"),
      options: (image, q) => image.avif(ENCODERS.avif(q)),
    },
    inProcess("AVIF, sharp default 4:4:4 (before)", DEFAULT_QUALITY.avif, (image, q) => image.avif({ quality: q })),
  ];
  const pixelsForTiming = await sharp(lossless).raw().toBuffer({ resolveWithObject: true });
  const results: EncoderResult[] = [];
  for (const e of encoders) {
    const cache = new Map<number, Encoded>();
    const evaluate = async (q: number) => {
      let r = cache.get(q);
      if (r === undefined) {
        r = await score(await e.encode(q));
        cache.set(q, r);
      }
      return r;
    };
    const match = await lowestQualityReaching(gd.ssim, evaluate);
    const atDefault = await evaluate(e.defaultQ);
    const cpuMs = await cpuPerEncode(pixelsForTiming, e.options, e.defaultQ, timedEncodes);
    results.push({ encoder: e.name, q: match.q, bytes: match.bytes, ssim: match.ssim, reached: match.reached, atDefault: { q: e.defaultQ, ...atDefault }, cpuMs });
  }
  return {
    src: src.src,
    title: src.title,
    width: src.width,
    height: src.height,
    gd: { q: TARGET.q, bytes: gd.bytes, ssim: gd.ssim, losslessSsim: (await score(gdPng)).ssim },
    resizerLosslessSsim: (await score(lossless)).ssim,
    encoders: results,
  };
}
