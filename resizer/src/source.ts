// Safe source resolution: a validated relative path (params.ts) -> an open, regular file
// inside the images root, with its identity (mtime, size) for the ETag. The parameter
// parser already refused '..', absolute and odd paths; here symlinks are resolved and the
// real path must still be inside the (real) root. Every failure is a 404 or 413 whose
// reason names no path.
import { constants, existsSync, type promises as fsp } from "node:fs";
import { open, realpath } from "node:fs/promises";
import path from "node:path";
import { ResizeError } from "./errors.js";

export interface Source {
  /** The client's relative path (canonical), part of the ETag. */
  src: string;
  size: number;
  mtimeMs: number;
  /** Nanosecond mtime as text: two writes within one millisecond still change the ETag. */
  mtimeNs: string;
  /**
   * What sharp should decode: the already-open file itself through /proc/self/fd (no
   * copy into the JS heap, which saves a garbage-collected buffer per request, and
   * immune to the name being swapped after the checks), or its bytes where there is no
   * procfs. Valid until `close()`.
   */
  input(): Promise<string | Buffer>;
  /** Where a transform worker opens the same file again, and how it knows it is the same. */
  file: SourceFile;
  /** The first `bytes` bytes (fewer if the file is shorter). */
  head(bytes: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** A source as a transform worker receives it: the checked real path and its identity. */
export interface SourceFile {
  path: string;
  dev: string;
  ino: string;
  size: number;
}

const notFound = () => new ResizeError("not_found", "no such source image");

/** Errors that mean "there is nothing servable at this path". */
const MISSING = new Set(["ENOENT", "ENOTDIR", "ELOOP", "ENAMETOOLONG", "EACCES", "EPERM", "EISDIR", "ENXIO"]);

export function missing(e: unknown): boolean {
  return typeof e === "object" && e !== null && MISSING.has((e as NodeJS.ErrnoException).code ?? "");
}

/**
 * The real path of `rel` (already validated by `parseSrc`) when it exists and stays inside
 * `root` (a real path, see `realRoot`) once every symlink is resolved; undefined when there
 * is nothing servable there. The one confinement rule for files and directories alike.
 */
export async function resolveInside(root: string, rel: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path.join(root, rel));
  } catch (e) {
    if (missing(e)) return undefined;
    throw e;
  }
  const inside = root.endsWith(path.sep) ? root : root + path.sep;
  return real.startsWith(inside) ? real : undefined; // else a symlink leading out of the root
}

/**
 * `root` must already be a real path (see `realRoot`). O_NOFOLLOW guards against a
 * symlink swapped in after realpath; O_NONBLOCK keeps a FIFO from hanging the open
 * (it is then refused as not a regular file).
 */
export async function openSource(root: string, src: string, maxInputBytes: number): Promise<Source> {
  const real = await resolveInside(root, src);
  if (real === undefined) throw notFound();

  let handle: fsp.FileHandle;
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (missing(e)) throw notFound();
    throw e;
  }
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) throw notFound();
    if (stat.size > BigInt(maxInputBytes)) {
      throw new ResizeError("source_too_large", `the source is larger than ${maxInputBytes} bytes`);
    }
    const size = Number(stat.size);
    return {
      src,
      size,
      mtimeMs: Number(stat.mtimeMs),
      mtimeNs: stat.mtimeNs.toString(),
      input: async () => (PROC_FD ? `/proc/self/fd/${handle.fd}` : readAll(handle, size)),
      file: { path: real, dev: stat.dev.toString(), ino: stat.ino.toString(), size },
      head: async (bytes) => {
        const buffer = Buffer.alloc(Math.min(bytes, size));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        return buffer.subarray(0, bytesRead);
      },
      close: () => handle.close(),
    };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

const PROC_FD = existsSync("/proc/self/fd");

/**
 * Opens a source the service already checked (`openSource`) again, in a transform worker:
 * without following a symlink, and only if it is still the same file (device and inode),
 * so a name swapped since the checks is refused (404) rather than decoded.
 */
export async function reopenSource(file: SourceFile): Promise<{ input: string | Buffer; close(): Promise<void> }> {
  let handle: fsp.FileHandle;
  try {
    handle = await open(file.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (missing(e)) throw notFound();
    throw e;
  }
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile() || stat.dev.toString() !== file.dev || stat.ino.toString() !== file.ino) throw notFound();
    const input = PROC_FD ? `/proc/self/fd/${handle.fd}` : await readAll(handle, Math.min(file.size, Number(stat.size)));
    return { input, close: () => handle.close() };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** At most `size` bytes (as stat-ed): a file that grew is not read past its checked size. */
async function readAll(handle: fsp.FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
    if (bytesRead === 0) break; // shrank since stat: decode what is there (it will fail as corrupt)
    filled += bytesRead;
  }
  return filled === size ? buffer : buffer.subarray(0, filled);
}

/** The images root as a real path, or an error naming the variable (startup only). */
export async function realRoot(root: string): Promise<string> {
  try {
    return await realpath(root);
  } catch {
    throw new Error(`RESIZER_ROOT (${root}) is not an accessible directory`);
  }
}
