// An episode's directory -> its ordered stills with their identities (size, mtime), for
// the ETag and for the count checks. Reads names and stats only: no still is opened or
// decoded here. The directory is confined to the images root by the resizer's own rule
// (`resolveInside`), and read as a stream of entries so that a directory of 100,000
// files is refused after `maxStills` + 1 still names, not after reading all of them.
import { opendir, stat } from "node:fs/promises";
import path from "node:path";
import { ResizeError } from "../errors.js";
import { missing, resolveInside } from "../source.js";
import { orderStills, stillNumber, type NumberedStill } from "./stills.js";

export interface StillFile extends NumberedStill {
  size: number;
  mtimeMs: number;
  /** Nanoseconds, as text: a re-encode within the same millisecond still changes the ETag. */
  mtimeNs: string;
}

export interface Episode {
  /** Real path of the episode's directory. */
  realDir: string;
  /** The directory's own mtime: it moves when a still is added, removed or renamed. */
  dirMtimeMs: number;
  dirMtimeNs: string;
  /** In numeric order, numbering checked (stills.ts). */
  stills: NumberedStill[];
}

const noEpisode = () => new ResizeError("not_found", "no such episode");

/**
 * `dir` is relative to `root` (a real path) and already validated segment by segment.
 * More than `maxStills` stills: 413, with `tooMany` saying what the limit comes from.
 */
export async function listEpisode(root: string, dir: string, maxStills: number, tooMany: () => string): Promise<Episode> {
  const realDir = await resolveInside(root, dir);
  if (realDir === undefined) throw noEpisode();
  const [dirStat, stills] = await Promise.all([
    stat(realDir, { bigint: true }).catch((e: unknown) => {
      throw missing(e) ? noEpisode() : e;
    }),
    readStillNames(realDir, maxStills, tooMany),
  ]);
  if (!dirStat.isDirectory()) throw noEpisode();
  return {
    realDir,
    dirMtimeMs: Number(dirStat.mtimeMs),
    dirMtimeNs: dirStat.mtimeNs.toString(),
    stills: orderStills(stills),
  };
}

async function readStillNames(realDir: string, maxStills: number, tooMany: () => string): Promise<NumberedStill[]> {
  let handle;
  try {
    handle = await opendir(realDir, { bufferSize: 256 });
  } catch (e) {
    if (missing(e) || (e as NodeJS.ErrnoException).code === "ENOTDIR") throw noEpisode();
    throw e;
  }
  const stills: NumberedStill[] = [];
  try {
    for (let entry = await handle.read(); entry !== null; entry = await handle.read()) {
      if (entry.isDirectory()) continue;
      const number = stillNumber(entry.name);
      if (number === undefined) continue;
      if (stills.length === maxStills) throw new ResizeError("source_too_large", tooMany());
      stills.push({ name: entry.name, number });
    }
  } finally {
    await handle.close();
  }
  return stills;
}

/** Size and mtime of `stills` (a slice of `episode.stills`), stat-ed in parallel. */
export async function identify(episode: Episode, stills: readonly NumberedStill[]): Promise<StillFile[]> {
  return Promise.all(
    stills.map(async (still) => {
      let s;
      try {
        s = await stat(path.join(episode.realDir, still.name), { bigint: true });
      } catch (e) {
        if (missing(e)) throw new ResizeError("source_changed", `still ${still.number} vanished while the episode was read`, { retryAfter: 1 });
        throw e;
      }
      if (!s.isFile()) throw new ResizeError("not_found", `still ${still.number} is not a regular file`);
      return { ...still, size: Number(s.size), mtimeMs: Number(s.mtimeMs), mtimeNs: s.mtimeNs.toString() };
    }),
  );
}
