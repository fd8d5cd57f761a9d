// Request parameters -> one canonical transform. Pure: no I/O, no sharp, so every rule
// here is unit-tested on its own (test/resizer/params.test.ts).
//
// Two URL dialects meet in the same `Transform` (the shape of a configured preset):
//   /resize?src=&w=&h=&fit=&position=&fmt=&q=&enlarge=&p=   the service's own API
//   /<anything>.php?src=&w=&h=&zc=&a=&q=                    TimThumb URLs of the old php-fpm
// Equivalent requests (parameter order, defaults spelled out, `jpg`/`jpeg`, `center`/
// `centre`, a leading `/` on src, a preset vs. its spelled-out transform, TimThumb vs.
// canonical) produce the same canonical string, hence the same ETag and the same bytes.
import { ResizeError } from "./errors.js";
import { FITS, FORMATS, POSITIONS, type Preset, type ServiceSettings } from "./settings.js";

/** What to do to the source: a preset's shape, with defaults and no-op fields removed. */
export type Transform = Preset;
export type Fit = (typeof FITS)[number];
export type Position = (typeof POSITIONS)[number];
export type RequestedFormat = (typeof FORMATS)[number];

export interface ResizeRequest {
  /** Relative to the images root: no leading '/', no empty, '.' or '..' segments. */
  src: string;
  transform: Transform;
  /** `src=..&w=..` in a fixed order, defaults omitted: one string per distinct result. */
  canonical: string;
  /**
   * The query of the one URL that answers this request (`/resize?<this>`, a signature
   * appended): `src=..&p=<name>` when the transform is a preset's, else `canonical`.
   */
  canonicalQuery: string;
  /** The preset whose transform this is, if any. */
  preset: string | undefined;
  /** The `sig` parameter as given. */
  sig: string | undefined;
}

export type ParamLimits = Pick<ServiceSettings, "maxOutputDimension" | "presets" | "presetsOnly">;

/**
 * Paths never served from the images tree, by the resizer nor by nginx (which renders this
 * same pattern, case-insensitively, into its configs): any segment starting with a dot
 * (`.git/`, `.env`, `.htaccess`) and editors' and tools' backup copies (`x.jpg~`,
 * `x.jpg.bak`, `.orig`, `.old`, `.save`, `.swp`, `.tmp`). Matched against `/<path>`.
 */
export const HIDDEN_PATH = "(^|/)\\.|~$|\\.(bak|old|orig|save|swp|swo|tmp)$";
const HIDDEN = new RegExp(HIDDEN_PATH, "i");

/**
 * Quality used when `q` is absent: per format, the lowest that reaches the SSIM of the
 * seeds' GD output (imagejpeg q80) on every source of `npm run bench`'s byte/quality table
 * (bench/results/RESULTS.md), so a default never looks worse than what it replaces and
 * spends no byte more than that needs. AVIF's scale is lower for the same visual quality.
 */
export const DEFAULT_QUALITY = { jpeg: 79, webp: 84, avif: 66 } as const;
const MAX_SRC_LENGTH = 1024;

// --- value parsers -------------------------------------------------------------------

function fail(param: string, reason: string): never {
  throw new ResizeError("bad_param", `${param}: ${reason}`);
}

const DIGITS = /^[0-9]{1,6}$/;

/**
 * Digits only: no sign, exponent, hex or fraction, so `w=1e3` cannot sneak past. Plain
 * checks rather than a zod schema built per call: this runs several times per request.
 */
export function parseWhole(param: string, text: string, min: number, max: number): number {
  const value = DIGITS.test(text) ? Number(text) : NaN;
  return value >= min && value <= max ? value : fail(param, `a whole number from ${min} to ${max}`);
}

export function parseChoice<T extends string>(param: string, text: string, choices: readonly T[], aliases: Record<string, NoInfer<T>> = {}): T {
  const lower = text.toLowerCase();
  const value = Object.hasOwn(aliases, lower) ? aliases[lower] : lower;
  return (choices as readonly string[]).includes(value as string) ? (value as T) : fail(param, `one of ${choices.join(", ")}`);
}

function parseFlag(param: string, text: string): boolean {
  return parseChoice(param, text, ["true", "false"], { "1": "true", "0": "false" }) === "true";
}

const POSITION_ALIASES: Record<string, Position> = {
  center: "centre", top: "north", bottom: "south", left: "west", right: "east",
};

/**
 * The source path, confined to the images root by construction: a leading '/' means
 * "from the root" (as in the old TimThumb URLs); '..', '.', empty segments, backslashes,
 * control characters and URLs are refused before anything touches the filesystem.
 * `param` names the parameter in the refusal (the storyboard's path segments use it too).
 */
export function parseSrc(text: string, param = "src"): string {
  if (text.length === 0) fail(param, "required");
  if (text.length > MAX_SRC_LENGTH) fail(param, `at most ${MAX_SRC_LENGTH} characters`);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(text)) fail(param, "a path under the images root, not a URL");
  if (/[\u0000-\u001f\u007f\\]/.test(text)) fail(param, "control characters and backslashes are not allowed");
  const rel = text.startsWith("/") ? text.slice(1) : text;
  for (const segment of rel.split("/")) {
    if (segment === "" || segment === "." || segment === "..") fail(param, "empty, '.' and '..' path segments are not allowed");
  }
  // As if absent: whether a hidden or backup file exists is nobody's business.
  if (HIDDEN.test(`/${rel}`)) throw new ResizeError("not_found", "no such source image");
  return rel;
}

// --- query -> named values -------------------------------------------------------------

/**
 * Query string -> one value per parameter (after alias mapping). Repeated parameters are
 * refused: `w=100&w=2000` must not mean one thing here and another in a cache key.
 * Empty values count as absent (`h=&w=100`, common in old links).
 */
export function readQuery(query: string, names: Record<string, string>): Map<string, string> {
  const seen = new Set<string>();
  const values = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(query)) {
    const name = Object.hasOwn(names, key) ? names[key] : undefined;
    if (name === undefined) fail(key.slice(0, 32) || "(empty)", "unknown parameter");
    if (seen.has(name)) fail(name, "repeated parameter");
    seen.add(name);
    if (value !== "") values.set(name, value);
  }
  return values;
}

const CANONICAL_NAMES: Record<string, string> = {
  src: "src", w: "w", h: "h", fit: "fit", position: "position", pos: "position",
  fmt: "fmt", q: "q", enlarge: "enlarge", p: "p", sig: "sig",
};
const TRANSFORM_PARAMS = ["w", "h", "fit", "position", "fmt", "q", "enlarge"] as const;

/** TimThumb's parameters; `f` (filters), `s` (sharpen), `cc`/`ct` (canvas) are accepted and ignored. */
const TIMTHUMB_NAMES: Record<string, string> = {
  src: "src", w: "w", h: "h", q: "q", zc: "zc", a: "a", f: "ignored:f", s: "ignored:s", cc: "ignored:cc", ct: "ignored:ct",
};
/** TimThumb zoom/crop modes: 0 stretch, 1 crop to fill (its default), 2 letterbox, 3 fit inside. */
const ZOOM_CROP: readonly Fit[] = ["fill", "cover", "contain", "inside"];
/** TimThumb's own size when neither w nor h is given. */
const TIMTHUMB_DEFAULT_SIZE = 100;

// --- canonical form --------------------------------------------------------------------

/** Drops defaults and fields that cannot change the result, so equal results compare equal. */
export function canonicalTransform(t: Transform): Transform {
  const both = t.w !== undefined && t.h !== undefined;
  // With one side given the aspect ratio is kept whatever the fit, so fit/position are moot.
  const fit = both && t.fit !== undefined && t.fit !== "cover" ? t.fit : undefined;
  const effectiveFit = both ? (t.fit ?? "cover") : undefined;
  const positioned = effectiveFit === "cover" || effectiveFit === "contain";
  const position = positioned && t.position !== undefined && t.position !== "centre" ? t.position : undefined;
  const fmt = t.fmt;
  const lossy = fmt === undefined || fmt === "auto" ? undefined : fmt === "png" ? null : DEFAULT_QUALITY[fmt];
  const q = t.q === undefined || lossy === null || t.q === lossy ? undefined : t.q;
  const out: Transform = {};
  if (t.w !== undefined) out.w = t.w;
  if (t.h !== undefined) out.h = t.h;
  if (fit !== undefined) out.fit = fit;
  if (position !== undefined) out.position = position;
  if (fmt !== undefined) out.fmt = fmt;
  if (q !== undefined) out.q = q;
  if (t.enlarge === true) out.enlarge = true;
  return out;
}

/** The canonical query string; `src` is percent-encoded except for its '/' separators. */
export function canonicalString(src: string, t: Transform): string {
  const parts = [`src=${encodeURIComponent(src).replace(/%2F/g, "/")}`];
  for (const key of TRANSFORM_PARAMS) {
    const value = t[key];
    if (value !== undefined) parts.push(`${key}=${value === true ? 1 : value}`);
  }
  return parts.join("&");
}

function transformKey(t: Transform): string {
  return canonicalString("", canonicalTransform(t));
}

function finish(src: string, t: Transform, limits: ParamLimits, sig?: string): ResizeRequest {
  if (t.w === undefined && t.h === undefined) fail("w", "w or h (or both) is required");
  for (const side of ["w", "h"] as const) {
    const value = t[side];
    if (value !== undefined && value > limits.maxOutputDimension) {
      fail(side, `a whole number from 1 to ${limits.maxOutputDimension}`);
    }
  }
  if ((t.position === "entropy" || t.position === "attention") && t.fit !== undefined && t.fit !== "cover") {
    fail("position", "entropy and attention need fit=cover");
  }
  const transform = canonicalTransform(t);
  const key = transformKey(transform);
  // The first preset (in config order) with this transform names its canonical URL.
  const preset = Object.keys(limits.presets).find((name) => transformKey(limits.presets[name]!) === key);
  if (limits.presetsOnly && preset === undefined) fail("p", "this service only serves its configured presets");
  const canonical = canonicalString(src, transform);
  const canonicalQuery = preset === undefined ? canonical : `${canonicalString(src, {})}&p=${preset}`;
  return { src, transform, canonical, canonicalQuery, preset, sig };
}

// --- the two dialects -----------------------------------------------------------------

/** `/resize?...` */
export function parseResizeQuery(query: string, limits: ParamLimits): ResizeRequest {
  const v = readQuery(query, CANONICAL_NAMES);
  const src = parseSrc(v.get("src") ?? "");
  const sig = v.get("sig");
  const presetName = v.get("p");
  if (presetName !== undefined) {
    const extra = TRANSFORM_PARAMS.filter((k) => v.has(k));
    if (extra.length > 0) fail("p", `a preset cannot be combined with ${extra.join(", ")}`);
    const preset = Object.hasOwn(limits.presets, presetName) ? limits.presets[presetName] : undefined;
    if (preset === undefined) fail("p", "unknown preset");
    return finish(src, preset, limits, sig);
  }
  const max = limits.maxOutputDimension;
  const text = (k: string) => v.get(k);
  const t: Transform = {};
  const w = text("w"), h = text("h"), fit = text("fit"), position = text("position");
  const fmt = text("fmt"), q = text("q"), enlarge = text("enlarge");
  if (w !== undefined) t.w = parseWhole("w", w, 1, max);
  if (h !== undefined) t.h = parseWhole("h", h, 1, max);
  if (fit !== undefined) t.fit = parseChoice("fit", fit, FITS);
  if (position !== undefined) t.position = parseChoice("position", position, POSITIONS, POSITION_ALIASES);
  if (fmt !== undefined) t.fmt = parseChoice("fmt", fmt, FORMATS, { jpg: "jpeg" });
  if (q !== undefined) t.q = parseWhole("q", q, 1, 100);
  if (enlarge !== undefined) t.enlarge = parseFlag("enlarge", enlarge);
  return finish(src, t, limits, sig);
}

/** TimThumb alignment: letters t/b/l/r/c in any order (`tl` = `lt` = top left). */
function timthumbPosition(text: string): Position {
  const a = text.toLowerCase();
  if (!/^[tblrc]{1,2}$/.test(a) || (a.includes("t") && a.includes("b")) || (a.includes("l") && a.includes("r"))) {
    fail("a", "c, t, b, l, r, tl, tr, bl or br");
  }
  const vertical = a.includes("t") ? "north" : a.includes("b") ? "south" : "";
  const horizontal = a.includes("l") ? "west" : a.includes("r") ? "east" : "";
  return (vertical + horizontal || "centre") as Position;
}

/**
 * `*.php?src=&w=&h=&zc=&a=&q=` as TimThumb read it: `w=0`/`h=0` mean "derive from the
 * other side", neither means 100x100, zc defaults to 1 (crop), alignment only matters
 * when cropping. Output format follows the source, like TimThumb's.
 */
export function parseTimthumbQuery(query: string, limits: ParamLimits): ResizeRequest {
  const v = readQuery(query, TIMTHUMB_NAMES);
  const src = parseSrc(v.get("src") ?? "");
  const max = limits.maxOutputDimension;
  const side = (k: "w" | "h") => {
    const text = v.get(k);
    const value = text === undefined ? 0 : parseWhole(k, text, 0, max);
    return value === 0 ? undefined : value;
  };
  let w = side("w"), h = side("h");
  if (w === undefined && h === undefined) w = h = TIMTHUMB_DEFAULT_SIZE;
  const zcText = v.get("zc");
  const fit = ZOOM_CROP[zcText === undefined ? 1 : parseWhole("zc", zcText, 0, 3)] as Fit;
  const t: Transform = { fit };
  if (w !== undefined) t.w = w;
  if (h !== undefined) t.h = h;
  const a = v.get("a");
  if (a !== undefined) {
    const position = timthumbPosition(a);
    if (fit === "cover") t.position = position;
  }
  const q = v.get("q");
  if (q !== undefined) t.q = parseWhole("q", q, 1, 100);
  return finish(src, t, limits);
}
