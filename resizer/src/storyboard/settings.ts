// What an operator tunes about storyboards: where the stills live, what a request that
// leaves a parameter out gets, and the bounds every request is held to. One zod schema,
// embedded in the resizer's `serviceSchema` as its `storyboard` key, hence in the stack
// config (`image-origin:resizer.storyboard`) and in RESIZER_STORYBOARD.
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
  .refine((s) => Math.abs(s * 1000 - Math.round(s * 1000)) < 1e-6, "seconds with at most 3 decimals")
  .meta({ title: "seconds 0.1–86400, at most 3 decimals" });

export const programmeName = z
  .string()
  .min(1)
  .max(255)
  .refine(isSegment, "one directory name: no '/', '\\', control characters, '.' or '..'");

const count = (max: number) => z.number().int().min(1).max(max);
const side = z.number().int().min(MIN_TILE_DIMENSION).max(SHEET_DIMENSION_CEILING);

export const storyboardSchema = z.strictObject({
  stillsDir: z
    .string()
    .refine((text) => !text.startsWith("/") && isPath(text), "a relative path under the images root, without '.' or '..'")
    .default("stillshot")
    .meta({ title: "relative path", description: "the directory under the images root holding `<programme>/<episode>/<n>.jpg` (seed 001: stillshot-origin's tree)" }),
  defaults: z
    .strictObject({
      w: side.default(160).describe("tile width (`w`)"),
      h: side.default(90).describe("tile height (`h`)"),
      cols: count(1000).default(10).describe("tiles per sheet row (`cols`)"),
      rows: count(1000).default(10).describe("tile rows per sheet (`rows`)"),
      every: seconds.default(10).describe("seconds between stills (`every`), for programmes without an interval of their own"),
    })
    .prefault({})
    .describe("what a storyboard URL that leaves a parameter out is redirected to (301 to the URL spelling every one out, so a cached URL never depends on this)"),
  intervals: z
    .record(programmeName, seconds.describe("seconds between this programme's stills"))
    .default({})
    .meta({ keyName: "programme", description: "seconds between stills per programme (its directory name), instead of `defaults.every`; e.g. `{ news-daily: 5 }`" }),
  maxStillsPerSheet: count(1000).default(100).describe("N: the most stills one sheet may hold (`cols × rows`)"),
  maxSheets: count(10_000)
    .default(100)
    .describe("M: the most sheets per episode; an episode with more than `cols × rows × M` stills is refused (413) while its directory is read, before any still is opened"),
  maxTileDimension: side.default(640).describe("largest tile width or height a request may ask for"),
  maxSheetDimension: side
    .default(2048)
    .describe(
      "largest sheet side (`cols × w`, `rows × h`); with the tile limits it bounds a sheet's memory, which the config checks against the replicas' `memoryMb` (a 2048x2048 AVIF sheet needs ~170 MB while it is made, a 4096x4096 one ~590 MB)",
    ),
  maxEvery: seconds.default(600).describe("longest interval between stills a request may ask for (seconds)"),
  decodeParallelism: count(16)
    .default(2)
    .describe("stills of one sheet decoded at once; a sheet holds one concurrency slot whatever this is (2 keeps a CPU busy while the next still is read)"),
});
export type StoryboardSettings = z.infer<typeof storyboardSchema>;

function isPath(text: string): boolean {
  return text.length > 0 && text.split("/").every(isSegment);
}

/** Seconds (config) -> whole milliseconds (cue arithmetic is done in integers). */
export const toMs = (s: number): number => Math.round(s * 1000);

/** A problem between two settings: where (keys from the settings' own root) and what. */
export interface SettingsProblem {
  path: string[];
  message: string;
}

/**
 * Limits that span two settings: a default the limits refuse would answer 400 to every
 * request that relies on it. By path, for the cluster config's problem list.
 */
export function storyboardProblems(s: StoryboardSettings): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  const issue = (path: string[], message: string) => problems.push({ path, message });
  const d = s.defaults;
  for (const key of ["w", "h"] as const) {
    if (d[key] > s.maxTileDimension) issue(["defaults", key], `${d[key]} exceeds maxTileDimension (${s.maxTileDimension})`);
  }
  if (d.cols * d.rows > s.maxStillsPerSheet) issue(["defaults", "cols"], `cols × rows = ${d.cols * d.rows} exceeds maxStillsPerSheet (${s.maxStillsPerSheet})`);
  if (d.cols * d.w > s.maxSheetDimension) issue(["defaults", "cols"], `cols × w = ${d.cols * d.w} exceeds maxSheetDimension (${s.maxSheetDimension})`);
  if (d.rows * d.h > s.maxSheetDimension) issue(["defaults", "rows"], `rows × h = ${d.rows * d.h} exceeds maxSheetDimension (${s.maxSheetDimension})`);
  if (d.every > s.maxEvery) issue(["defaults", "every"], `the default interval ${d.every} exceeds maxEvery (${s.maxEvery})`);
  for (const [programme, every] of Object.entries(s.intervals)) {
    if (every > s.maxEvery) issue(["intervals", programme], `this programme's interval ${every} exceeds maxEvery (${s.maxEvery})`);
  }
  return problems;
}
