// A sprite sheet from its stills: each still decoded straight to tile size, the tiles
// copied into one raw canvas, the canvas encoded once. Everything sharp-specific of the
// storyboard lives here; the geometry comes from layout.ts, the decoder set-up, error
// mapping and encoders from the resizer's engine.
//
// Why a raw canvas and not sharp's composite: the tiles never overlap, so there is
// nothing to blend; a row copy per tile line is exact and costs ~1 ms for a 1600x900
// sheet, where a 100-overlay composite would premultiply and blend every pixel.
import sharp from "sharp";
import { encode, inputOptions, renderError } from "../engine.js";
import { ResizeError, isResizeError } from "../errors.js";
import { DEFAULT_QUALITY } from "../params.js";
import type { Source } from "../source.js";
import { placeStill, sheetSize, stillsOnSheet } from "./layout.js";
import { SHEET_CHANNELS as CHANNELS, type SheetShape } from "./memory.js";
import type { StillFile } from "./listing.js";
import type { Grid, SheetFormat } from "./request.js";

/** One sheet to make: its shape (memory.ts) and what the compositor needs besides. */
export interface SheetPlan extends SheetShape {
  grid: Grid;
  sheet: number;
  /** Index (in the episode) of the sheet's first still, and how many it holds. */
  first: number;
  tiles: number;
  quality: number;
  /** AVIF encoder effort (see SHEET_AVIF_EFFORT). */
  avifEffort: number;
}

/** Sheet `sheet` of an episode of `stills` stills, or 404 when the episode has no such sheet. */
export function planSheet(sheet: number, stills: number, grid: Grid, format: SheetFormat, parallelism: number): SheetPlan {
  const { first, end } = stillsOnSheet(sheet, stills, grid);
  if (end <= first) {
    const sheets = Math.ceil(stills / (grid.cols * grid.rows));
    throw new ResizeError("not_found", `sheet ${sheet} does not exist: this grid gives the episode ${sheets} sheet${sheets === 1 ? "" : "s"} (0 to ${sheets - 1})`);
  }
  const tiles = end - first;
  return {
    grid,
    sheet,
    first,
    tiles,
    ...sheetSize(tiles, grid),
    format,
    quality: DEFAULT_QUALITY[format],
    avifEffort: SHEET_AVIF_EFFORT,
    parallelism: Math.min(parallelism, tiles),
  };
}

/**
 * A 10x10 sheet is 25 times the pixels of a 320x180 thumbnail: at sharp's default AVIF
 * effort (4) its encode alone takes ~1.8 s of one CPU, 10 times the decoding of its 100
 * stills. Effort 2 takes ~0.2 s and still beats WebP's size (measured on a 1600x900 sheet:
 * 58 KB vs WebP's 86 KB; effort 4: 43 KB).
 */
export const SHEET_AVIF_EFFORT = 2;

export interface ComposeOptions {
  /** Opens a still for decoding (confined to the root, size-limited). */
  open(still: StillFile): Promise<Source>;
  maxInputPixels: number;
  /** libvips' own stop per still, in seconds (0 = none). */
  seconds: number;
  /** Checked before each still: past the deadline, no further still is decoded. */
  signal: AbortSignal;
}

/** The sheet's encoded bytes. `stills` are the sheet's own, in order (plan.tiles of them). */
export async function composeSheet(plan: SheetPlan, stills: readonly StillFile[], options: ComposeOptions): Promise<Buffer> {
  if (stills.length !== plan.tiles) throw new Error(`composeSheet: ${stills.length} stills for ${plan.tiles} tiles`);
  const { grid } = plan;
  const canvas = Buffer.alloc(plan.width * plan.height * CHANNELS); // zero: black empty cells
  const rowBytes = grid.w * CHANNELS;
  let next = 0;
  let failure: { error: unknown } | undefined;
  // Workers never reject: after the first failure the others finish the still they are
  // on and stop, so the sheet settles (and frees its admission slot) only when no decode
  // is left running.
  const worker = async () => {
    while (failure === undefined && next < stills.length) {
      const i = next++;
      try {
        options.signal.throwIfAborted();
        const tile = await decodeTile(stills[i]!, grid, options);
        const { rect } = placeStill(plan.first + i, grid);
        for (let y = 0; y < grid.h; y++) tile.copy(canvas, ((rect.y + y) * plan.width + rect.x) * CHANNELS, y * rowBytes, (y + 1) * rowBytes);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: plan.parallelism }, worker));
  if (failure !== undefined) throw failure.error;
  options.signal.throwIfAborted();
  const image = sharp(canvas, { raw: { width: plan.width, height: plan.height, channels: CHANNELS } }).timeout({ seconds: options.seconds });
  try {
    return await encode(image, plan).toBuffer();
  } catch (cause) {
    throw renderError(cause, options.maxInputPixels);
  }
}

/**
 * One still -> exactly w×h raw sRGB pixels. `resize` first in the pipeline lets libvips
 * pick JPEG (and WebP) shrink-on-load; `cover` crops the still's centre to the tile's
 * aspect; a still smaller than the tile is enlarged, as a tile must be filled.
 */
async function decodeTile(still: StillFile, grid: Grid, options: ComposeOptions): Promise<Buffer> {
  let source: Source;
  try {
    source = await options.open(still);
  } catch (e) {
    throw aboutStill(still, e);
  }
  try {
    if (source.size !== still.size || source.mtimeNs !== still.mtimeNs) {
      throw new ResizeError("source_changed", `still ${still.number} changed while its sheet was made`, { retryAfter: 1 });
    }
    const input = await source.input();
    let result;
    try {
      result = await sharp(input, inputOptions(options.maxInputPixels))
        .timeout({ seconds: options.seconds })
        .autoOrient()
        .resize({ width: grid.w, height: grid.h, fit: "cover", position: "centre" })
        .flatten({ background: "#000000" })
        .toColourspace("srgb")
        .raw()
        .toBuffer({ resolveWithObject: true });
    } catch (cause) {
      throw aboutStill(still, renderError(cause, options.maxInputPixels));
    }
    const { info, data } = result;
    if (info.width !== grid.w || info.height !== grid.h || info.channels !== CHANNELS) {
      throw new Error(`tile of still ${still.number} is ${info.width}x${info.height}x${info.channels}, not ${grid.w}x${grid.h}x${CHANNELS}`);
    }
    return data;
  } finally {
    await source.close();
  }
}

/** The still's number in front of the reason, so an operator knows which file to fix. */
function aboutStill(still: StillFile, e: unknown): unknown {
  if (!isResizeError(e)) return e;
  const options = e.retryAfter === undefined ? { cause: e } : { cause: e, retryAfter: e.retryAfter };
  return new ResizeError(e.code, `still ${still.number}: ${e.message}`, options);
}
