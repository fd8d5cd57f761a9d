// The storyboard endpoint's request flow, independent of the HTTP server:
//   parse (canonical or redirect) -> list the episode (names, count, numbering) ->
//   identify the stills concerned (stat: ETag, Last-Modified) -> 304 ->
//   track: text from the count | sheet: admission (a slot, its memory estimate) -> decode + compose + encode.
// It answers with a reply the server writes as it is, and throws ResizeError for
// everything a client or the tree got wrong (the server's one error mapping applies).
import type { IncomingHttpHeaders } from "node:http";
import { ENGINE } from "../engine.js";
import type { OutputFormat } from "../format.js";
import { CONTENT_TYPES, requestedOutput, variantFor } from "../format.js";
import type { Admission } from "../admission.js";
import type { ServiceSettings } from "../settings.js";
import { openSource } from "../source.js";
import { etagOf, httpDate, notModified } from "../validators.js";
import { composeSheet, planSheet, type SheetPlan } from "./compose.js";
import { estimateSheetBytes } from "./memory.js";
import { stillsPerSheet, stillsOnSheet } from "./layout.js";
import { identify, listEpisode, type Episode, type StillFile } from "./listing.js";
import { parseStoryboard, type SheetFormat, type SheetRequest, type StoryboardRequest, type TrackRequest } from "./request.js";
import type { StoryboardSettings } from "./settings.js";
import { VTT_CONTENT_TYPE, buildTrack } from "./webvtt.js";

/** Bump when the same stills and parameters would give other bytes (layout, encoder settings). */
export const STORYBOARD_REVISION = 2;

export interface StoryboardReply {
  status: 200 | 301 | 304;
  headers: Record<string, string>;
  body: Buffer;
  /** For the request's log line and metrics. */
  kind: StoryboardRequest["kind"];
  canonical: string;
  /** The negotiated format of a `fmt=auto` sheet. */
  variant?: OutputFormat;
  /** Sheets only: the plan's memory estimate (admission, logs). */
  estimatedBytes?: number;
}

export interface StoryboardServiceOptions {
  /** The images root as a real path (`realRoot`). */
  root: string;
  storyboard: StoryboardSettings;
  resizer: Pick<ServiceSettings, "maxInputBytes" | "maxInputPixels" | "timeoutMs" | "cacheControl">;
  /** The resizer's admission: a sheet takes one slot and its estimated memory while it is made. */
  admission: Admission;
}

export interface StoryboardService {
  /**
   * `target` is the request target (`req.url`); `signal` aborts on the request's deadline
   * or when the client leaves (queued sheets leave the queue, running ones stop between
   * stills).
   */
  handle(target: string, headers: IncomingHttpHeaders, signal: AbortSignal): Promise<StoryboardReply>;
}

/** Public and cacheable: players on other origins read the track (and draw sheets) with CORS. */
const CORS = { "Access-Control-Allow-Origin": "*" } as const;

export function createStoryboardService(options: StoryboardServiceOptions): StoryboardService {
  const { root, storyboard, resizer, admission } = options;

  async function handle(target: string, headers: IncomingHttpHeaders, signal: AbortSignal): Promise<StoryboardReply> {
    const { request, canonicalTarget, isCanonical } = parseStoryboard(target, storyboard);
    if (!isCanonical) {
      return {
        status: 301,
        headers: { Location: canonicalTarget, "Cache-Control": resizer.cacheControl, ...CORS },
        body: Buffer.alloc(0),
        kind: request.kind,
        canonical: canonicalTarget,
      };
    }
    const episode = await listEpisode(root, request.dir, stillsPerSheet(request.grid) * storyboard.maxSheets, () => tooMany(request));
    signal.throwIfAborted();
    return request.kind === "track"
      ? track(request, canonicalTarget, episode, headers)
      : sheet(request, canonicalTarget, episode, headers, signal);
  }

  function tooMany(request: StoryboardRequest): string {
    const { cols, rows } = request.grid;
    const max = cols * rows * storyboard.maxSheets;
    return `the episode has more than ${max} stills: at most ${storyboard.maxSheets} sheets of ${cols}x${rows}`;
  }

  async function track(request: TrackRequest, canonical: string, episode: Episode, headers: IncomingHttpHeaders): Promise<StoryboardReply> {
    const files = await identify(episode, episode.stills);
    const validators = validatorsOf(["track", canonical], episode, files);
    if (notModified(headers, validators.ETag, lastModified(episode, files))) {
      return { status: 304, headers: validators, body: Buffer.alloc(0), kind: "track", canonical };
    }
    const body = Buffer.from(buildTrack(request, files.length), "utf8");
    return { status: 200, headers: { ...validators, "Content-Type": VTT_CONTENT_TYPE, "X-Content-Type-Options": "nosniff" }, body, kind: "track", canonical };
  }

  async function sheet(
    request: SheetRequest,
    canonical: string,
    episode: Episode,
    headers: IncomingHttpHeaders,
    signal: AbortSignal,
  ): Promise<StoryboardReply> {
    const accept = headers.accept;
    const variant = variantFor(request.fmt, accept);
    // Only jpeg, webp and avif are reachable: the request's format, or auto's choice.
    const format = requestedOutput(request.fmt, accept) as SheetFormat;
    const plan: SheetPlan = planSheet(request.sheet, episode.stills.length, request.grid, format, storyboard.decodeParallelism);
    const { first, end } = stillsOnSheet(request.sheet, episode.stills.length, request.grid);
    const files = await identify(episode, episode.stills.slice(first, end));
    const validators = {
      ...validatorsOf(["sheet", ENGINE, canonical, variant ?? ""], episode, files),
      ...(request.fmt === "auto" && { Vary: "Accept" }),
    };
    const base = { kind: "sheet" as const, canonical, ...(variant !== undefined && { variant }), estimatedBytes: estimateSheetBytes(plan) };
    if (notModified(headers, validators.ETag, lastModified(episode, files))) {
      return { status: 304, headers: validators, body: Buffer.alloc(0), ...base };
    }
    const body = await admission.run(
      { bytes: base.estimatedBytes, what: "this storyboard sheet" },
      () =>
        composeSheet(plan, files, {
          open: (still) => openSource(root, `${request.dir}/${still.name}`, resizer.maxInputBytes),
          maxInputPixels: resizer.maxInputPixels,
          seconds: Math.ceil(resizer.timeoutMs / 1000),
          signal,
        }),
      signal,
    );
    return {
      status: 200,
      headers: { ...validators, "Content-Type": CONTENT_TYPES[format], "X-Content-Type-Options": "nosniff" },
      body,
      ...base,
    };
  }

  /**
   * Strong ETag from what decides the bytes: the canonical URL (all parameters), each
   * still's name, size and mtime, and for sheets the engine and negotiated variant. A
   * re-encoded still, an added or removed one, changes it.
   */
  function validatorsOf(what: readonly string[], episode: Episode, files: readonly StillFile[]) {
    const identity = files.map((f) => [f.name, f.size, f.mtimeNs]);
    return {
      ETag: etagOf([STORYBOARD_REVISION, ...what, identity]),
      "Last-Modified": httpDate(lastModified(episode, files)),
      "Cache-Control": resizer.cacheControl,
      ...CORS,
    };
  }

  return { handle };
}

/**
 * The newest of the stills' mtimes and the directory's: the directory's moves when a
 * still is added or removed, even one copied with an old mtime, so If-Modified-Since
 * cannot answer 304 for a changed episode.
 */
function lastModified(episode: Episode, files: readonly StillFile[]): number {
  return files.reduce((latest, f) => Math.max(latest, f.mtimeMs), episode.dirMtimeMs);
}
