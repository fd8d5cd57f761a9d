// Storyboard request targets -> one canonical request. Pure: no I/O, no sharp.
//
//   /storyboard/<programme>/<episode>.vtt?w=160&h=90&cols=10&rows=10&every=10[&fmt=webp|avif|auto]
//   /storyboard/<programme>/<episode>/sprite-<n>.jpg|webp|avif?w=160&h=90&cols=10&rows=10[&fmt=auto]
//
// The canonical target spells every parameter out (a left-out one comes from the
// settings, `every` per programme) in a fixed order, with the path segments
// percent-encoded: a cached URL then never depends on configuration. Anything spelled
// otherwise (order, leading zeros, `jpg`/`jpeg`, case, a default left out, `every` on a
// sheet, which does not depend on it) parses to the same request and is flagged
// non-canonical, so the server can redirect to the one URL the cache keys on.
// Bounds and path safety are the resizer's own rules (`parseWhole`, `parseSrc`).
import { ResizeError } from "../errors.js";
import { parseChoice, parseSrc, parseWhole, readQuery } from "../params.js";
import { MIN_EVERY_MS, MIN_TILE_DIMENSION, toMs, type StoryboardSettings } from "./settings.js";

/** The route's path prefix (the route table and the master's location refer to this). */
export const STORYBOARD_PREFIX = "/storyboard/";

/** Sheet encodings, by their file extension in the sheet's URL. */
export const SHEET_EXTENSIONS = { jpeg: "jpg", webp: "webp", avif: "avif" } as const;
export type SheetFormat = keyof typeof SHEET_EXTENSIONS;
/** Extensions a sheet URL may end with (`jpeg` is redirected to `jpg`). */
const EXTENSION_FORMATS: Record<string, SheetFormat> = { jpg: "jpeg", jpeg: "jpeg", webp: "webp", avif: "avif" };

/**
 * The paths of a track and of a sheet, as the route table matches them (the resizer, and
 * the master's locations): anything under the prefix shaped otherwise is not a storyboard.
 * Finer rules (segments, the sheet number's digits) are the parser's.
 */
export const TRACK_PATH = `^${STORYBOARD_PREFIX}[^/]+/[^/]+\\.vtt$`;
export const SHEET_PATH = `^${STORYBOARD_PREFIX}[^/]+/[^/]+/sprite-[0-9]+\\.(${Object.keys(EXTENSION_FORMATS).join("|")})$`;
/** What a request asks for: a format, or `auto` (negotiated per `Accept`, served as `.jpg`). */
export type SheetFormatChoice = SheetFormat | "auto";
const TRACK_FORMATS = ["jpeg", "webp", "avif", "auto"] as const satisfies readonly SheetFormatChoice[];

/** Tile size and sheet grid: all that decides how stills map onto sheets. */
export interface Grid {
  w: number;
  h: number;
  cols: number;
  rows: number;
}

interface Episode {
  programme: string;
  episode: string;
  /** The episode's directory relative to the images root. */
  dir: string;
  grid: Grid;
  fmt: SheetFormatChoice;
}
export interface TrackRequest extends Episode {
  kind: "track";
  /** Seconds between stills, in whole milliseconds. */
  everyMs: number;
}
export interface SheetRequest extends Episode {
  kind: "sheet";
  /** Sheet index, from 0. */
  sheet: number;
}
export type StoryboardRequest = TrackRequest | SheetRequest;

export interface ParsedStoryboard {
  request: StoryboardRequest;
  /** Path and query of the canonical URL. */
  canonicalTarget: string;
  /** False when the request spelled it otherwise: answer with a redirect to canonicalTarget. */
  isCanonical: boolean;
}

export type StoryboardLimits = Pick<
  StoryboardSettings,
  "stillsDir" | "defaults" | "intervals" | "maxStillsPerSheet" | "maxSheets" | "maxTileDimension" | "maxSheetDimension" | "maxEvery"
>;

function fail(param: string, reason: string): never {
  throw new ResizeError("bad_param", `${param}: ${reason}`);
}

const NAMES: Record<string, string> = { w: "w", h: "h", cols: "cols", rows: "rows", every: "every", fmt: "fmt" };
const SHEET_FILE = new RegExp(`^sprite-([0-9]{1,6})\\.(${Object.keys(EXTENSION_FORMATS).join("|")})$`);
const SECONDS = /^([0-9]{1,6})(?:\.([0-9]{1,3}))?$/;

/** `10`, `2.5`, `0.040` -> whole milliseconds; no sign, exponent or float rounding. */
export function parseSeconds(param: string, text: string, minMs: number, maxMs: number): number {
  const m = SECONDS.exec(text);
  const ms = m === null ? NaN : Number(m[1]) * 1000 + Number((m[2] ?? "").padEnd(3, "0"));
  const range = `seconds from ${formatSeconds(minMs)} to ${formatSeconds(maxMs)}, at most 3 decimals`;
  return ms >= minMs && ms <= maxMs ? ms : fail(param, range);
}

/** Whole milliseconds -> the shortest decimal seconds: 10000 -> "10", 2500 -> "2.5". */
export function formatSeconds(ms: number): string {
  const frac = ms % 1000;
  return frac === 0 ? String(ms / 1000) : `${Math.floor(ms / 1000)}.${String(frac).padStart(3, "0").replace(/0+$/, "")}`;
}

/** One path segment, percent-decoded and held to the resizer's path rules. */
function segment(param: string, raw: string): string {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    fail(param, "invalid percent-encoding");
  }
  if (text.includes("/")) fail(param, "one path segment ('/' is not allowed)");
  return parseSrc(text, param);
}

const notFound = () =>
  new ResizeError("not_found", "no such storyboard resource: /storyboard/<programme>/<episode>.vtt or /storyboard/<programme>/<episode>/sprite-<n>.jpg");

/** The grid from the query (or the defaults), held to every bound. */
function readGrid(values: Map<string, string>, limits: StoryboardLimits): Grid {
  const d = limits.defaults;
  const whole = (param: keyof Grid, min: number, max: number) => {
    const text = values.get(param);
    return text === undefined ? d[param] : parseWhole(param, text, min, max);
  };
  const grid = {
    w: whole("w", MIN_TILE_DIMENSION, limits.maxTileDimension),
    h: whole("h", MIN_TILE_DIMENSION, limits.maxTileDimension),
    cols: whole("cols", 1, limits.maxStillsPerSheet),
    rows: whole("rows", 1, limits.maxStillsPerSheet),
  };
  if (grid.cols * grid.rows > limits.maxStillsPerSheet) {
    fail("cols", `cols × rows is ${grid.cols * grid.rows}; a sheet holds at most ${limits.maxStillsPerSheet} stills`);
  }
  if (grid.cols * grid.w > limits.maxSheetDimension) {
    fail("cols", `cols × w is ${grid.cols * grid.w}px; a sheet is at most ${limits.maxSheetDimension}px wide`);
  }
  if (grid.rows * grid.h > limits.maxSheetDimension) {
    fail("rows", `rows × h is ${grid.rows * grid.h}px; a sheet is at most ${limits.maxSheetDimension}px high`);
  }
  return grid;
}

/** `target`: the request target as received (path and query, e.g. `req.url`). */
export function parseStoryboard(target: string, limits: StoryboardLimits): ParsedStoryboard {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q + 1);
  if (!path.startsWith(STORYBOARD_PREFIX)) throw notFound();
  const parts = path.slice(STORYBOARD_PREFIX.length).split("/");
  const last = parts.at(-1) ?? "";
  const isTrack = parts.length === 2 && last.endsWith(".vtt");
  const sheetFile = parts.length === 3 ? SHEET_FILE.exec(last) : null;
  if (!isTrack && sheetFile === null) throw notFound();

  const programme = segment("programme", parts[0] ?? "");
  const episode = segment("episode", isTrack ? last.slice(0, -".vtt".length) : (parts[1] ?? ""));
  const values = readQuery(query, NAMES);
  const grid = readGrid(values, limits);
  const fmtText = values.get("fmt");
  const everyText = values.get("every");
  const defaultEvery = Object.hasOwn(limits.intervals, programme) ? limits.intervals[programme]! : limits.defaults.every;
  const everyMs = everyText === undefined ? toMs(defaultEvery) : parseSeconds("every", everyText, MIN_EVERY_MS, toMs(limits.maxEvery));
  const episodeFields = { programme, episode, dir: `${limits.stillsDir}/${programme}/${episode}`, grid };

  let request: StoryboardRequest;
  if (sheetFile === null) {
    const fmt = fmtText === undefined ? "jpeg" : parseChoice("fmt", fmtText, TRACK_FORMATS, { jpg: "jpeg" });
    request = { kind: "track", ...episodeFields, fmt, everyMs };
  } else {
    const sheet = Number(sheetFile[1]);
    if (sheet >= limits.maxSheets) fail("sheet", `sprite-<n> with n from 0 to ${limits.maxSheets - 1}`);
    const byExtension = EXTENSION_FORMATS[sheetFile[2]!]!;
    let fmt: SheetFormatChoice = byExtension;
    if (fmtText !== undefined) {
      parseChoice("fmt", fmtText, ["auto"]);
      if (byExtension !== "jpeg") fail("fmt", "auto is served as sprite-<n>.jpg; a .webp or .avif sheet is that format");
      fmt = "auto";
    }
    request = { kind: "sheet", ...episodeFields, fmt, sheet };
  }
  const canonicalTarget = canonicalTargetOf(request);
  return { request, canonicalTarget, isCanonical: target === canonicalTarget };
}

/** `w=..&h=..&cols=..&rows=..`: the grid part of every canonical query. */
function gridQuery(g: Grid): string {
  return `w=${g.w}&h=${g.h}&cols=${g.cols}&rows=${g.rows}`;
}

/**
 * A sheet's URL relative to its episode's directory: `sprite-<n>.<ext>?<grid>[&fmt=auto]`.
 * The one spelling used by the canonical sheet URL and by the track's cues.
 */
export function sheetFileReference(sheet: number, grid: Grid, fmt: SheetFormatChoice): string {
  const ext = SHEET_EXTENSIONS[fmt === "auto" ? "jpeg" : fmt];
  return `sprite-${sheet}.${ext}?${gridQuery(grid)}${fmt === "auto" ? "&fmt=auto" : ""}`;
}

/**
 * What a cue of the track names: the sheet relative to the track's own URL
 * (`/storyboard/<p>/<e>.vtt` -> `<e>/sprite-<n>...`), so the track works wherever the
 * endpoint is mounted. The episode is percent-encoded, so it can never read as a scheme.
 */
export function sheetReferenceFromTrack(request: TrackRequest, sheet: number): string {
  return `${encodeURIComponent(request.episode)}/${sheetFileReference(sheet, request.grid, request.fmt)}`;
}

export function canonicalTargetOf(request: StoryboardRequest): string {
  const base = `${STORYBOARD_PREFIX}${encodeURIComponent(request.programme)}/${encodeURIComponent(request.episode)}`;
  if (request.kind === "sheet") return `${base}/${sheetFileReference(request.sheet, request.grid, request.fmt)}`;
  const fmt = request.fmt === "jpeg" ? "" : `&fmt=${request.fmt}`;
  return `${base}.vtt?${gridQuery(request.grid)}&every=${formatSeconds(request.everyMs)}${fmt}`;
}
