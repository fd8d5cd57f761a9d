// What a sheet costs in memory while it is made, estimated from its shape alone. Pure (no
// sharp), so the cluster config can check its limits against a replica's memory before
// anything is deployed, and the service can log (and, with memory-based admission, admit
// by) a sheet's estimate before decoding a still.
import type { SheetFormat } from "./request.js";
import type { StoryboardSettings } from "./settings.js";

/**
 * A replica's own resident memory, ready to serve (node, sharp and its codecs loaded):
 * 95-123 MB measured before the first full sheet (bench/storyboard.ts, "ready").
 */
export const PROCESS_BASELINE_BYTES = 128 * 1024 * 1024;

/** Sheets are composed and encoded as 3-channel sRGB. */
export const SHEET_CHANNELS = 3;

/**
 * What libvips holds for one still being decoded to tile size, beyond the tile: measured
 * as the peak RSS growth over 100 sequential decodes of 1920x1080 JPEGs (~14 MB with
 * jemalloc, ~16 MB with glibc malloc; see bench/storyboard.ts).
 */
export const DECODE_WORKING_BYTES = 16 * 1024 * 1024;

/**
 * Encoder state per byte of raw canvas, from the peak RSS growth of encoding a 1600x900
 * canvas with jemalloc (the image's allocator): mozjpeg ~1.6x, aom (AVIF, effort 2) ~8x,
 * and of whole sheets (bench/storyboard.ts: +33..39 MB as JPEG/WebP, +76..77 MB as AVIF).
 * glibc malloc grows more (up to +55 MB / +90 MB): its per-thread arenas keep memory.
 * Checked on larger sheets: 2040x2040 AVIF grew 172 MB (estimate 163), 4090x4090 AVIF
 * 590 MB (estimate 559).
 */
export const ENCODER_BYTES_PER_CANVAS_BYTE: Record<SheetFormat, number> = { jpeg: 2, webp: 2, avif: 9 };

/** What decides a sheet's memory: its size, its tiles' size, its format, its decoders. */
export interface SheetShape {
  width: number;
  height: number;
  grid: { w: number; h: number };
  format: SheetFormat;
  /** Stills decoded at once. */
  parallelism: number;
}

/**
 * Memory a sheet needs while it is made, in bytes: the raw canvas, the encoded output
 * (bounded by the canvas), the encoder's state, and per still being decoded its tile
 * and the decoder's working set. For a 10x10 sheet of 160x90: ~49 MB as JPEG or WebP,
 * ~78 MB as AVIF (bench/storyboard.ts measures the real growth next to it).
 */
export function estimateSheetBytes(sheet: SheetShape): number {
  const canvas = sheet.width * sheet.height * SHEET_CHANNELS;
  const tile = sheet.grid.w * sheet.grid.h * SHEET_CHANNELS;
  return (2 + ENCODER_BYTES_PER_CANVAS_BYTE[sheet.format]) * canvas + sheet.parallelism * (tile + DECODE_WORKING_BYTES);
}

/**
 * The most memory one sheet can need under these limits: the largest canvas a request may
 * ask for (no side over maxSheetDimension, no more than maxStillsPerSheet tiles of at most
 * maxTileDimension a side), as AVIF (the costliest encoder), with every decoder busy.
 */
export function largestSheetBytes(s: Pick<StoryboardSettings, "maxSheetDimension" | "maxStillsPerSheet" | "maxTileDimension" | "decodeParallelism">): number {
  const tile = s.maxTileDimension;
  const pixels = Math.min(s.maxSheetDimension ** 2, s.maxStillsPerSheet * tile ** 2);
  const side = Math.sqrt(pixels);
  return estimateSheetBytes({ width: side, height: side, grid: { w: tile, h: tile }, format: "avif", parallelism: Math.min(s.decodeParallelism, s.maxStillsPerSheet) });
}
