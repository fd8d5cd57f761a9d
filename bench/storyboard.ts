// npm run bench:storyboard [-- --runs 5]
// Time and peak RSS of one storyboard sheet: 10x10 tiles of 160x90 from 100 stills of
// 1920x1080, on ONE CPU (`taskset -c 0`), through the service's own handler (listing,
// stat, ETag, admission slot, decode with shrink-on-load, canvas, encode), for JPEG, WebP
// and AVIF, with glibc malloc and with jemalloc (what the image preloads). Two sets of
// stills: the project's benchmark picture (test/helpers/images.ts `photo`, whose per-pixel
// noise makes a ~740 KB JPEG: entropy decoding dominates even at 1/8 scale) and the same
// picture slightly blurred (~250 KB, closer to a video frame at q85). Also the episode's
// track (no decoding). Each case is its own process, so its peak RSS (VmHWM) is its own.
// Writes bench/results/storyboard.md. Target: a JPEG sheet in under 1 s. Never run by
// `npm test`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { photo } from "../test/helpers/images.js";

const REPO = path.resolve(__dirname, "..");
const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const RUNS = Number(values.runs);
const STILLS = 100;
const GRID = "w=160&h=90&cols=10&rows=10";

const STILL_SETS = [
  { episode: "E001", name: "photo (noisy)", blur: 0 },
  { episode: "E002", name: "photo, blur 1.2", blur: 1.2 },
] as const;
const FORMATS = [
  { format: "jpeg", file: "sprite-0.jpg" },
  { format: "webp", file: "sprite-0.webp" },
  { format: "avif", file: "sprite-0.avif" },
] as const;
const ALLOCATORS = [
  { name: "glibc malloc", env: {} as Record<string, string> },
  { name: "jemalloc", env: { LD_PRELOAD: JEMALLOC } as Record<string, string> },
];

interface Result {
  format: string;
  width: number;
  height: number;
  bytes: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
  cpuMs: number;
  trackMs: number;
  trackCues: number;
  rssBeforeMb: number;
  peakRssMb: number;
  estimateMb: number;
  vipsThreads: number;
}

/** 100 different 1920x1080 stills: one photo-like picture, its hue turned per still. */
async function writeStills(episodeDir: string, blur: number): Promise<number> {
  mkdirSync(episodeDir, { recursive: true });
  const { data, info } = await photo(1920, 1080).raw().toBuffer({ resolveWithObject: true });
  let bytes = 0;
  for (let n = 1; n <= STILLS; n++) {
    let still = sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).modulate({ hue: Math.round(n * 3.6) });
    if (blur > 0) still = still.blur(blur);
    const jpeg = await still.jpeg({ quality: 85 }).toBuffer();
    bytes += jpeg.length;
    writeFileSync(path.join(episodeDir, `${String(n).padStart(3, "0")}.jpg`), jpeg);
  }
  return bytes / STILLS;
}

function run(root: string, target: string, accept: string, env: Record<string, string>): Result {
  const args = ["--import", "tsx", "bench/storyboard-run.ts", root, target, String(RUNS), accept];
  const out = execFileSync("taskset", ["-c", "0", process.execPath, ...args], { cwd: REPO, env: { ...process.env, ...env }, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Result;
}

async function main(): Promise<void> {
  if (!existsSync(JEMALLOC)) throw new Error(`${JEMALLOC} missing: run bash scripts/setup.sh`);
  const dir = mkdtempSync(path.join(tmpdir(), "bench-storyboard-"));
  try {
    const root = path.join(dir, "images");
    const stillBytes: Record<string, number> = {};
    for (const set of STILL_SETS) stillBytes[set.episode] = await writeStills(path.join(root, "stillshot", "bench", set.episode), set.blur);
    const load = loadavg()[0]!.toFixed(2);
    const rows: string[] = [];
    for (const set of STILL_SETS) {
      for (const allocator of ALLOCATORS) {
        for (const f of FORMATS) {
          const r = run(root, `/storyboard/bench/${set.episode}/${f.file}?${GRID}`, "", allocator.env);
          process.stderr.write(`${set.name} ${allocator.name} ${f.format}: ${JSON.stringify(r)}\n`);
          rows.push(
            `| ${set.name}, ${Math.round(stillBytes[set.episode]! / 1024)} KB | ${allocator.name} | ${f.format} | ${Math.round(r.bytes / 1024)} KB | ` +
              `${r.minMs.toFixed(0)} / ${r.medianMs.toFixed(0)} / ${r.maxMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${r.trackMs.toFixed(1)} | ` +
              `${r.rssBeforeMb.toFixed(0)} -> ${r.peakRssMb.toFixed(0)} (+${(r.peakRssMb - r.rssBeforeMb).toFixed(0)}) | ${r.estimateMb.toFixed(1)} |`,
          );
        }
      }
    }
    const loadAtEnd = loadavg().map((l) => l.toFixed(2)).join(" / ");
    const cpu = cpus()[0]?.model ?? "unknown CPU";
    const md = [
      "# Storyboard sheet benchmark",
      "",
      `\`npm run bench:storyboard\` on ${new Date().toISOString().slice(0, 10)}: ${cpu}, ${cpus().length} CPUs, 1-min load average ${load} at start,`,
      `${loadAtEnd} (1 / 5 / 15 min) at the end: the machine is shared, so wall times are inflated; CPU time is the measure.`,
      `One 1600x900 sheet of 10x10 tiles of 160x90 from ${STILLS} stills of 1920x1080 (JPEG q85), every process pinned to one CPU`,
      `(\`taskset -c 0\`), through the storyboard service's handler in-process (no HTTP), ${RUNS} runs after one warm-up.`,
      "CPU ms: user + system of the whole process per sheet (median), which a busy machine inflates far less than wall time.",
      "Track ms: the same episode's `.vtt` (100 cues, no decoding). RSS: VmRSS once a one-still sheet has loaded the codecs,",
      "then the peak (VmHWM) over all runs; estimate: `estimateSheetBytes` of the plan.",
      "",
      "| stills (mean size) | allocator | format | sheet size | wall ms min / median / max | CPU ms | track ms | RSS MB ready -> peak | estimate MB |",
      "|---|---|---|---|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n");
    mkdirSync(path.join(REPO, "bench", "results"), { recursive: true });
    writeFileSync(path.join(REPO, "bench", "results", "storyboard.md"), md);
    process.stdout.write(md);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
