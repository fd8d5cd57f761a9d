// An episode's stills in order. Pure: directory entry names in, the ordered sequence
// out, or an error naming exactly what is wrong with the numbering. A storyboard is a
// timeline, so a missing or repeated number would shift every later cue: it is refused
// (404, `still_numbering`) rather than papered over.
import { ResizeError } from "../errors.js";

/**
 * A still's file name: a number (leading zeros allowed: `07.jpg`) and an image extension.
 * Other entries (`Thumbs.db`, `.DS_Store`, `poster.jpg`, directories) are not stills.
 */
const STILL_NAME = /^([0-9]{1,9})\.(?:jpg|jpeg|png|webp)$/i;

/** The still number of a directory entry name, or undefined when it is not a still. */
export function stillNumber(name: string): number | undefined {
  const m = STILL_NAME.exec(name);
  return m === null ? undefined : Number(m[1]);
}

export interface NumberedStill {
  name: string;
  number: number;
}

/**
 * Stills sorted by number. The numbering starts at 0 or 1 and has no gap and no number
 * twice (`7.jpg` next to `07.jpg`); still k of the result is the k-th interval.
 */
export function orderStills<T extends NumberedStill>(stills: readonly T[]): T[] {
  if (stills.length === 0) throw new ResizeError("not_found", "the episode has no stills");
  const sorted = [...stills].sort((a, b) => a.number - b.number || (a.name < b.name ? -1 : 1));
  const first = sorted[0]!.number;
  const last = sorted.at(-1)!.number;
  if (first > 1) {
    throw numbering(`still 1 is missing: the episode's stills start at ${first} (they are numbered from 0 or 1)`);
  }
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (current.number === previous.number) {
      throw numbering(`still ${current.number} appears twice (${previous.name} and ${current.name})`);
    }
    if (current.number !== previous.number + 1) {
      const missing = last - first + 1 - new Set(sorted.map((s) => s.number)).size;
      const more = missing > 1 ? `; ${missing} numbers are missing in all` : "";
      throw numbering(`still ${previous.number + 1} is missing between ${first} and ${last}${more}`);
    }
  }
  return sorted;
}

const numbering = (reason: string) => new ResizeError("still_numbering", reason);
