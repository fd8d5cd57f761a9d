// The sample images tree `npm start` serves: generated with sharp (nothing binary is
// committed), into the local stack's imagesDir (the tree a `pulumi up` of the local stack
// mounts too). Idempotent: a stamp file holds the generator's version; an up-to-date tree
// is left alone, and a directory that is not a sample tree is never touched.
//
//   tsx scripts/sample-images.ts            # into Pulumi.local.yaml's imagesDir
//   tsx scripts/sample-images.ts --dir D    # elsewhere
//
// The end-to-end tests call `writeSampleTree` on a temp directory of their own.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { specFromStackYaml } from "../infra/stack.js";

/** Bump when the tree's content or layout changes: set-up then regenerates it. */
export const SAMPLE_VERSION = "1";
export const STAMP = ".image-origin-sample";

export interface SampleOptions {
  /** `thumbnail/<yyyy>/<mm>/<id>.jpg`, 320x180 (default 240). */
  thumbnails?: number;
  /** `stillshot/<programme>/<episode>/<n>.jpg`, 1280x720 (default 120). */
  stills?: number;
  /** The default profile picture's path in the tree (the stack's nginx.profileFallback.image). */
  profileFallback?: string;
  /** The profile prefix (nginx.profileFallback.prefix). */
  profilePrefix?: string;
}

/** What was written, for tests and messages (paths relative to the tree, with a leading /). */
export interface SampleManifest {
  thumbnails: string[];
  stills: string[];
  /** Larger sources for resizing (JPEG, PNG with alpha, WebP). */
  sources: string[];
  profiles: string[];
  profileFallback: string;
  css: string;
  js: string;
}

const DEFAULT_FALLBACK = "/theme/micro/common/img/player/profile_thmb_default.gif";
const DEFAULT_PROFILE_PREFIX = "/upload/fe/profile/";

/** A recognisable picture per seed: a diagonal gradient in the seed's hue with a few discs. */
function picture(seed: number, width: number, height: number): sharp.Sharp {
  const hue = (seed * 47) % 360;
  const discs = Array.from({ length: 3 }, (_, i) => {
    const x = ((seed * 73 + i * 131) % 90) + 5;
    const y = ((seed * 37 + i * 59) % 80) + 10;
    const r = ((seed + i * 17) % 12) + 6;
    return `<circle cx="${x}%" cy="${y}%" r="${r}%" fill="hsl(${(hue + 120 * (i + 1)) % 360},70%,55%)" fill-opacity="0.8"/>`;
  }).join("");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">` +
    `<stop offset="0" stop-color="hsl(${hue},65%,35%)"/><stop offset="1" stop-color="hsl(${(hue + 60) % 360},65%,75%)"/>` +
    `</linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${discs}</svg>`;
  return sharp(Buffer.from(svg));
}

const page = (title: string, body: string) =>
  `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/static/css/site.css"></head>\n<body>\n${body}\n</body>\n</html>\n`;

/** Text over 1 KiB (gzip_min_length) so the gzip rule shows. */
const CSS = `/* image-origin sample stylesheet: served by the slaves with a 5m expiry, gzipped. */\n${Array.from(
  { length: 40 },
  (_, i) => `.thumb-${i} { display: inline-block; width: 320px; height: 180px; margin: ${i % 8}px; border: 1px solid #ccc; }`,
).join("\n")}\n`;
const JS = `// image-origin sample script: served by the slaves with a 5m expiry, gzipped.\n${Array.from(
  { length: 30 },
  (_, i) => `export function thumbnailUrl${i}(id) { return "/thumbnail/2024/" + String(${(i % 12) + 1}).padStart(2, "0") + "/" + id + ".jpg"; }`,
).join("\n")}\n`;

async function write(root: string, rel: string, data: Buffer | string | Promise<Buffer>): Promise<string> {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await data);
  return `/${rel}`;
}

/** Runs `tasks` with at most `limit` in flight (sharp work on a 2-core machine). */
async function pool<T>(tasks: (() => Promise<T>)[], limit = 4): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

/** Writes the sample tree into `root` (created; existing files are overwritten). */
export async function writeSampleTree(root: string, opts: SampleOptions = {}): Promise<SampleManifest> {
  const thumbCount = opts.thumbnails ?? 240;
  const stillCount = opts.stills ?? 120;
  const fallback = (opts.profileFallback ?? DEFAULT_FALLBACK).replace(/^\//, "");
  const profilePrefix = (opts.profilePrefix ?? DEFAULT_PROFILE_PREFIX).replace(/^\/|\/$/g, "");
  mkdirSync(root, { recursive: true });

  const thumbnails = await pool(
    Array.from({ length: thumbCount }, (_, i) => () => {
      const month = String((i % 12) + 1).padStart(2, "0");
      const id = String(100001 + i);
      return write(root, `thumbnail/2024/${month}/${id}.jpg`, picture(i, 320, 180).jpeg({ quality: 80, mozjpeg: true }).toBuffer());
    }),
  );
  const programmes = ["drama-seoul-nights", "variety-running", "news-daily", "docu-ocean"];
  const stills = await pool(
    Array.from({ length: stillCount }, (_, i) => () => {
      const programme = programmes[i % programmes.length]!;
      const episode = `E${String(Math.floor(i / programmes.length / 6) + 1).padStart(3, "0")}`;
      const n = String(Math.floor(i / programmes.length) % 6 + 1).padStart(2, "0");
      return write(root, `stillshot/${programme}/${episode}/${n}.jpg`, picture(1000 + i, 1280, 720).jpeg({ quality: 82 }).toBuffer());
    }),
  );
  const sources = [
    await write(root, "images/poster/hero.jpg", picture(7, 1920, 1080).jpeg({ quality: 85 }).toBuffer()),
    await write(root, "images/poster/banner.jpg", picture(8, 1600, 400).jpeg({ quality: 85 }).toBuffer()),
    await write(root, "images/logo/channel.png", picture(9, 600, 600).ensureAlpha(0.6).png().toBuffer()),
    await write(root, "images/logo/channel.webp", picture(10, 600, 600).webp({ quality: 80 }).toBuffer()),
  ];
  const profiles = [
    await write(root, `${profilePrefix}/1001.gif`, picture(11, 96, 96).gif().toBuffer()),
    await write(root, `${profilePrefix}/1002.gif`, picture(12, 96, 96).gif().toBuffer()),
  ];
  const profileFallback = await write(root, fallback, picture(0, 96, 96).grayscale().gif().toBuffer());
  const css = await write(root, "static/css/site.css", CSS);
  const js = await write(root, "static/js/app.js", JS);

  const list = thumbnails.slice(0, 12).map((t) => `<li><img src="${t}" alt="" width="160" height="90"> <a href="${t}">${t}</a></li>`).join("\n");
  await write(
    root,
    "index.html",
    page(
      "image-origin sample tree",
      `<h1>image-origin</h1>\n<p>Sample tree: ${thumbCount} thumbnails, ${stillCount} stills. Resized through the master:</p>\n` +
        `<p><img src="/resize?src=images/poster/hero.jpg&amp;w=320&amp;h=180&amp;fmt=auto" alt="" width="320" height="180"></p>\n<ul>\n${list}\n</ul>`,
    ),
  );
  await write(root, "40x.html", page("Not found", "<h1>Not found</h1>\n<p>The requested image does not exist.</p>"));
  await write(root, "50x.html", page("Temporarily unavailable", "<h1>Temporarily unavailable</h1>\n<p>Please retry shortly.</p>"));
  makeWorldReadable(root);
  return { thumbnails, stills, sources, profiles, profileFallback, css, js };
}

/** Directories 0755, files 0644: nginx and the resizers read the tree as an unprivileged user. */
function makeWorldReadable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const e of readdirSync(path)) makeWorldReadable(join(path, e));
}

/**
 * Ensures `dir` holds the current sample tree: nothing when the stamp matches; a directory
 * that exists, is not empty and has no stamp is someone's real tree and is left alone.
 */
export async function ensureSampleTree(dir: string, opts: SampleOptions = {}): Promise<"current" | "written" | "foreign"> {
  const stamp = join(dir, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === SAMPLE_VERSION) return "current";
  if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(stamp)) return "foreign";
  // Written beside it, then swapped in: a tree is never half-written.
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  await writeSampleTree(staging, opts);
  writeFileSync(join(staging, STAMP), `${SAMPLE_VERSION}\n`);
  chmodSync(join(staging, STAMP), 0o644);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(staging, dir);
  return "written";
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: "string" } }, strict: true });
  const projectRoot = resolve(__dirname, "..");
  const spec = specFromStackYaml(readFileSync(join(projectRoot, "Pulumi.local.yaml"), "utf8"), "Pulumi.local.yaml");
  const dir = resolve(values.dir ?? spec.hosts[0]?.imagesDir ?? spec.imagesDir);
  const fallback = spec.nginx.profileFallback;
  const started = Date.now();
  const result = await ensureSampleTree(dir, { profileFallback: fallback.image, profilePrefix: fallback.prefix });
  if (result === "written") process.stderr.write(`setup: sample images tree written to ${dir} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
  if (result === "foreign") process.stderr.write(`setup: ${dir} holds images that are not the sample tree; left as it is\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`sample-images: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
