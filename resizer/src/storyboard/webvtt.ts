// The WebVTT thumbnails track: one cue per still, pointing into its sheet with a media
// fragment. Pure; built from the number of stills alone, so no image is decoded for it.
//
// Timestamps follow the WebVTT timestamp syntax (W3C WebVTT, "WebVTT timestamp"):
// `mm:ss.ttt`, with `hh:` (two or more digits) in front only when the hours are not zero;
// minutes and seconds 00-59, exactly three digits of thousandths. Times are whole
// milliseconds from start to end: still k covers [k × every, (k + 1) × every), so each
// cue ends exactly where the next begins, with no floating-point drift over long
// episodes. Cue payloads are WebVTT metadata text (one line, never "-->").
import { placeStill } from "./layout.js";
import { sheetReferenceFromTrack, type TrackRequest } from "./request.js";

export const VTT_CONTENT_TYPE = "text/vtt; charset=utf-8";

const two = (n: number) => String(n).padStart(2, "0");

/** Whole milliseconds -> a WebVTT timestamp. */
export function vttTimestamp(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`a cue time is whole, non-negative milliseconds: ${ms}`);
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor(ms / 60_000) % 60;
  const seconds = Math.floor(ms / 1000) % 60;
  const thousandths = String(ms % 1000).padStart(3, "0");
  return `${hours > 0 ? `${two(hours)}:` : ""}${two(minutes)}:${two(seconds)}.${thousandths}`;
}

export interface Cue {
  startMs: number;
  endMs: number;
  /** Sheet URL relative to the track, with `#xywh=x,y,w,h`. */
  payload: string;
}

/** The cues of an episode of `stills` stills, in time order. */
export function trackCues(request: TrackRequest, stills: number): Cue[] {
  const cues: Cue[] = [];
  const references = new Map<number, string>();
  for (let k = 0; k < stills; k++) {
    const { sheet, rect } = placeStill(k, request.grid);
    let reference = references.get(sheet);
    if (reference === undefined) references.set(sheet, (reference = sheetReferenceFromTrack(request, sheet)));
    cues.push({
      startMs: k * request.everyMs,
      endMs: (k + 1) * request.everyMs,
      payload: `${reference}#xywh=${rect.x},${rect.y},${rect.w},${rect.h}`,
    });
  }
  return cues;
}

/** The track file: `WEBVTT`, a blank line, then each cue's timing line and payload. */
export function buildTrack(request: TrackRequest, stills: number): string {
  const blocks = trackCues(request, stills).map((c) => `${vttTimestamp(c.startMs)} --> ${vttTimestamp(c.endMs)}\n${c.payload}\n`);
  return ["WEBVTT\n", ...blocks].join("\n");
}
