// Stills trees for the storyboard tests: `stillshot/<programme>/<episode>/<n>.jpg`, every
// still a different smooth picture (so a tile in the wrong place shows), generated with
// sharp (nothing binary is committed).
import { linkSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";

/** Still `k`: diagonal gradients whose phase and blue level depend on k. */
export function still(k: number, width: number, height: number): sharp.Sharp {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      raw[i] = (Math.floor((x * 255) / width) + k * 53) & 255;
      raw[i + 1] = (Math.floor((y * 255) / height) + k * 101) & 255;
      raw[i + 2] = (k * 37 + 40) & 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

/** Writes stills `numbers` as `<n padded to width>.jpg` into `dir`; returns their bytes by number. */
export async function writeStills(
  dir: string,
  numbers: readonly number[],
  options: { width?: number; height?: number; pad?: number } = {},
): Promise<Map<number, Buffer>> {
  const { width = 1280, height = 720, pad = 2 } = options;
  await mkdir(dir, { recursive: true });
  const written = new Map<number, Buffer>();
  for (const n of numbers) {
    const jpeg = await still(n, width, height).jpeg({ quality: 90 }).toBuffer();
    await writeFile(path.join(dir, `${String(n).padStart(pad, "0")}.jpg`), jpeg);
    written.set(n, jpeg);
  }
  return written;
}

/**
 * `count` empty still names `1.jpg`..`<count>.jpg`, created cheaply as hard links to two
 * empty files (a file system allows ~65,000 links per inode). Not one is an image.
 */
export function writeEmptyStills(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  const sources = [path.join(dir, ".empty-a"), path.join(dir, ".empty-b")];
  for (const source of sources) writeFileSync(source, "");
  for (let n = 1; n <= count; n++) linkSync(sources[n % 2]!, path.join(dir, `${n}.jpg`));
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
