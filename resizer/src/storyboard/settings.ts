// What an operator tunes about storyboards: where the stills live, what a request that
// leaves a parameter out gets, and the bounds every request is held to. One zod schema,
// meant to be embedded in the resizer's `serviceSchema` (and so in the stack config) as
// its `storyboard` key; until then the service takes it directly.
import { z } from "zod";
import { parseSrc } from "../params.js";
import { ResizeError } from "../errors.js";

/** Shortest interval between stills: a tenth of a second (cue times are milliseconds). */
export const MIN_EVERY_MS = 100;
/** Smallest tile side: below it a preview shows nothing. */
export const MIN_TILE_DIMENSION = 8;
/**
 * Largest sheet side any configuration may allow: WebP's own limit (16383) rounded down,
 * so every sheet can be encoded in every format the endpoint offers.
 */
export const SHEET_DIMENSION_CEILING = 16_000;

/** `parseSrc`'s rule for one path segment (no '/'), as a zod check. */
const isSegment = (text: string): boolean => {
  if (text.includes("/")) return false;
  try {
    parseSrc(text);
    return true;
  } catch (e) {
    if (e instanceof ResizeError) return false;
    throw e;
  }
};

/** Seconds with at most millisecond precision (a WebVTT timestamp's resolution). */
const seconds = z
  .number()
  .min(MIN_EVERY_MS / 1000)
  .max(86_400)
  .refine((s) => Math.abs(s * 1000 - Math.round(s * 1000)) < 1e-6, "seconds with at most 3 decimals");

export const programmeName = z
  .string()
  .min(1)
  .max(255)
  .refine(isSegment, "one directory name: no '/', '\\', control characters, '.' or '..'");

const count = (max: number) => z.number().int().min(1).max(max);
const side = z.number().int().min(MIN_TILE_DIMENSION).max(SHEET_DIMENSION_CEILING);

export const storyboardSchema = z.strictObject({
  /** Directory under the images root holding `<programme>/<episode>/<n>.jpg`. @default "stillshot" */
  stillsDir: z
    .string()
    .refine((text) => !text.startsWith("/") && isPath(text), "a relative path under the images root, without '.' or '..'")
    .default("stillshot"),
  /**
   * What a request that leaves a parameter out gets: it is redirected to the URL that
   * spells every one out (so a cached URL never depends on this setting).
   * @default { w: 160, h: 90, cols: 10, rows: 10, every: 10 }
   */
  defaults: z
    .strictObject({
      w: side.default(160),
      h: side.default(90),
      cols: count(1000).default(10),
      rows: count(1000).default(10),
      every: seconds.default(10),
    })
    .prefault({}),
  /** Seconds between stills per programme (directory name), overriding `defaults.every`. @default {} */
  intervals: z.record(programmeName, seconds).default({}),
  /** N: at most this many stills on one sheet (cols × rows). @default 100 */
  maxStillsPerSheet: count(1000).default(100),
  /**
   * M: at most this many sheets per episode. An episode with more than cols × rows × M
   * stills is refused (413) while its directory is listed, before any still is opened.
   * @default 100
   */
  maxSheets: count(10_000).default(100),
  /** Largest tile width or height. @default 640 */
  maxTileDimension: side.default(640),
  /** Largest sheet width (cols × w) or height (rows × h). @default 4096 */
  maxSheetDimension: side.default(4096),
  /** Longest interval between stills a request may ask for, in seconds. @default 600 */
  maxEvery: seconds.default(600),
  /**
   * Stills of one sheet decoded at once (each on a libuv thread). A sheet holds one
   * limiter slot whatever this is; 2 keeps one CPU busy while the other still is read.
   * @default 2
   */
  decodeParallelism: count(16).default(2),
});
export type StoryboardSettings = z.infer<typeof storyboardSchema>;

function isPath(text: string): boolean {
  return text.length > 0 && text.split("/").every(isSegment);
}

/** Seconds (config) -> whole milliseconds (cue arithmetic is done in integers). */
export const toMs = (s: number): number => Math.round(s * 1000);

/**
 * Limits that span two settings: a default the limits refuse would answer 400 to every
 * request that relies on it. Messages by path, for the cluster config's problem list.
 */
export function storyboardProblems(s: StoryboardSettings): string[] {
  const problems: string[] = [];
  const d = s.defaults;
  for (const key of ["w", "h"] as const) {
    if (d[key] > s.maxTileDimension) problems.push(`defaults.${key}: ${d[key]} exceeds maxTileDimension (${s.maxTileDimension})`);
  }
  if (d.cols * d.rows > s.maxStillsPerSheet) {
    problems.push(`defaults: cols × rows = ${d.cols * d.rows} exceeds maxStillsPerSheet (${s.maxStillsPerSheet})`);
  }
  if (d.cols * d.w > s.maxSheetDimension) problems.push(`defaults: cols × w = ${d.cols * d.w} exceeds maxSheetDimension (${s.maxSheetDimension})`);
  if (d.rows * d.h > s.maxSheetDimension) problems.push(`defaults: rows × h = ${d.rows * d.h} exceeds maxSheetDimension (${s.maxSheetDimension})`);
  if (d.every > s.maxEvery) problems.push(`defaults.every: ${d.every} exceeds maxEvery (${s.maxEvery})`);
  for (const [programme, every] of Object.entries(s.intervals)) {
    if (every > s.maxEvery) problems.push(`intervals.${programme}: ${every} exceeds maxEvery (${s.maxEvery})`);
  }
  return problems;
}
