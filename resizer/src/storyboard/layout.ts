// Sheet geometry: which still lands on which sheet, where, and how large each sheet is.
// Pure. The track's cues (webvtt.ts) and the compositor (compose.ts) both read these
// functions, so a cue's `#xywh` and the pixels of the sheet cannot disagree.
import type { Grid } from "./request.js";

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export const stillsPerSheet = (g: Grid): number => g.cols * g.rows;

/** Sheets an episode of `stills` stills needs (0 for none). */
export const sheetCount = (stills: number, g: Grid): number => Math.ceil(stills / stillsPerSheet(g));

/** Still indices [first, end) on sheet `sheet`; the last sheet may hold fewer. */
export function stillsOnSheet(sheet: number, stills: number, g: Grid): { first: number; end: number } {
  const first = sheet * stillsPerSheet(g);
  return { first, end: Math.min(stills, first + stillsPerSheet(g)) };
}

/**
 * Width and height of a sheet holding `tiles` stills, filled row by row: a partial last
 * sheet is cut to the rows it uses (and to its columns when it has less than one row),
 * so it carries no blank band; the unused cells of its last row are black.
 */
export function sheetSize(tiles: number, g: Grid): { width: number; height: number } {
  return { width: Math.min(tiles, g.cols) * g.w, height: Math.ceil(tiles / g.cols) * g.h };
}

/** Where still `k` (0-based, in numeric order) is: its sheet and its tile there. */
export function placeStill(k: number, g: Grid): { sheet: number; rect: Rect } {
  const per = stillsPerSheet(g);
  const i = k % per;
  return { sheet: Math.floor(k / per), rect: { x: (i % g.cols) * g.w, y: Math.floor(i / g.cols) * g.h, w: g.w, h: g.h } };
}
