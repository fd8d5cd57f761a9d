// The benchmark's source images, generated (nothing binary is committed) into the images
// tree that the cluster, the GD peer and image_filter all read: JPEG q90 with 4:2:0
// chroma, as uploads from cameras and editors usually are. Not pure: writes files.
// The first two scenes are the quick run's byte table; all four the full run's.
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { foliage, grain, landscape, posterSvg, studioStillSvg, type RawImage } from "./lib/scenes.js";

export interface Source {
  /** Path under the images root, as `src=` takes it. */
  src: string;
  title: string;
  width: number;
  height: number;
  bytes: number;
}

export interface Sources {
  /** Copies of one 1920x1080 photo: each copy is its own cache key (more distinct URLs). */
  load1080: string[];
  /** Copies of one 4000x3000 photo. */
  load4000: string[];
  /** Different scenes for the bytes-at-equal-quality table. */
  quality: Source[];
  /** The largest file (image_filter reads a whole source into memory). */
  largestBytes: number;
}

const SOURCE_QUALITY = 90;

const fromRaw = (img: RawImage) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });

async function svgWithGrain(svg: string, width: number, height: number, seed: number): Promise<sharp.Sharp> {
  const g = grain(width, height, seed);
  const noise = await fromRaw(g).png({ compressionLevel: 0 }).toBuffer();
  const base = await sharp(Buffer.from(svg)).removeAlpha().png({ compressionLevel: 0 }).toBuffer();
  return sharp(base).composite([{ input: noise, blend: "soft-light" }]);
}

async function writeJpeg(image: sharp.Sharp, file: string): Promise<number> {
  mkdirSync(path.dirname(file), { recursive: true });
  await image.jpeg({ quality: SOURCE_QUALITY }).toFile(file);
  return statSync(file).size;
}

/**
 * Copies of each load source: distinct cache keys = copies × widths × heights (workload.ts),
 * 22 632 per size. Split three ways (two clusters and one resizer direct) and into a slice
 * per round and for the warm-up, that is ~1900 per 5 s run: more than the fastest MISS row
 * asks for, so no run ever repeats a URL (a repeat would be a HIT).
 */
const COPIES = 24;

/**
 * Every source, in a directory under `parent` named after a hash of the code that draws
 * them: drawn once (about 15 s; the 4000x3000 foliage is most of it) and reused by later
 * runs until that code changes. World-readable: the resizers and php-fpm run as nobody.
 */
export async function ensureSources(parent: string): Promise<Sources & { root: string }> {
  const hash = createHash("sha256");
  for (const f of ["lib/scenes.ts", "sources.ts"]) hash.update(readFileSync(path.join(__dirname, f)));
  const root = path.join(parent, `image-origin-bench-sources-${hash.digest("hex").slice(0, 12)}`);
  const manifest = path.join(root, "manifest.json");
  if (existsSync(manifest)) return { ...(JSON.parse(readFileSync(manifest, "utf8")) as Sources), root };
  const work = mkdtempSync(`${root}.partial-`);
  try {
    const sources = await writeSources(work);
    writeFileSync(path.join(work, "manifest.json"), JSON.stringify(sources, null, 2));
    chmodTree(work);
    renameSync(work, root);
    return { ...sources, root };
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

function chmodTree(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) chmodTree(path.join(dir, e.name));
    else chmodSync(path.join(dir, e.name), 0o644);
  }
}

async function writeSources(root: string): Promise<Sources> {
  const source = async (src: string, title: string, width: number, height: number, image: () => Promise<sharp.Sharp>): Promise<Source> => {
    const bytes = await writeJpeg(await image(), path.join(root, src));
    return { src, title, width, height, bytes };
  };
  const land = await source("quality/landscape-1920x1080.jpg", "landscape (sky, clouds, ridges, grass)", 1920, 1080, async () => fromRaw(landscape(1920, 1080)));
  const quality = [
    land,
    await source("quality/poster-1920x1080.jpg", "poster (gradients, bokeh, bold title, small text)", 1920, 1080, () => svgWithGrain(posterSvg(1920, 1080), 1920, 1080, 21)),
    await source("quality/studio-1920x1080.jpg", "studio still (hard edges, shaded spheres, subtitle)", 1920, 1080, () => svgWithGrain(studioStillSvg(1920, 1080), 1920, 1080, 31)),
    await source("quality/foliage-4000x3000.jpg", "foliage in dappled light (detail everywhere)", 4000, 3000, async () => fromRaw(foliage(4000, 3000))),
  ];
  const leaves = quality[3]!;
  const copies = (from: Source, prefix: string) =>
    Array.from({ length: COPIES }, (_, i) => {
      const src = `load/${prefix}-${String(i).padStart(2, "0")}.jpg`;
      mkdirSync(path.join(root, "load"), { recursive: true });
      copyFileSync(path.join(root, from.src), path.join(root, src));
      return src;
    });
  return {
    load1080: copies(land, "1920x1080"),
    load4000: copies(leaves, "4000x3000"),
    quality,
    largestBytes: Math.max(...quality.map((q) => q.bytes)),
  };
}
