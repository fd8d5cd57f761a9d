// npm run bench:memory
// The memory a transform really needs against what the resizer estimates for it
// (resizer/src/memory.ts), and the AVIF encoder's time and size per effort. Each case runs
// in a fresh process set up like a transform worker in the image (jemalloc when present,
// libvips threads as the prod replicas get: 2), planned by the service's own planner:
// measured = the process's peak RSS (VmHWM) minus its RSS before the transform. The model
// must never estimate below what was measured. Writes bench/results/memory.md. Never run
// by `npm test`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { configureEngine, probe, render } from "../resizer/src/engine.js";
import type { OutputFormat } from "../resizer/src/format.js";
import { MEMORY_MODEL } from "../resizer/src/memory.js";
import type { Position } from "../resizer/src/params.js";
import { planTransform } from "../resizer/src/plan.js";
import { serviceSchema } from "../resizer/src/settings.js";
import sharp from "sharp";
import { photo } from "../test/helpers/images.js";

const REPO = path.resolve(__dirname, "..");
const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
const VIPS_THREADS = 2;
const MiB = 2 ** 20;
const EFFORTS = [0, 1, 2, 3, 4];
const only = process.argv.includes("--effort-only");

interface Case {
  source: string;
  w: number;
  h: number;
  format: OutputFormat;
  position?: Position;
  effort?: number;
}

interface Measured {
  estimate: number;
  measured: number;
  ms: number;
  bytes: number;
  /** PSNR (dB) of the result against the same resize kept lossless (effort cases). */
  psnr?: number;
}

/** PSNR of `encoded` against the lossless resize of `source` to its size. */
async function psnr(source: string, w: number, h: number, encoded: Buffer): Promise<number> {
  const reference = await sharp(source).resize(w, h).removeAlpha().raw().toBuffer();
  const decoded = await sharp(encoded).removeAlpha().raw().toBuffer();
  let se = 0;
  for (let i = 0; i < reference.length; i++) se += (reference[i]! - decoded[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (se / reference.length));
}

const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) * 1024;

/** In the child: one transform, measured. */
async function runCase(c: Case): Promise<Measured> {
  configureEngine({ allowVector: false, vipsThreads: VIPS_THREADS });
  const settings = { ...serviceSchema.parse({}), maxInputPixels: 100_000_000, maxOutputPixels: { jpeg: 2 ** 26, png: 2 ** 26, webp: 2 ** 26, avif: 2 ** 26 }, budgetBytes: 2 ** 40 };
  const info = await probe(c.source, settings);
  const plan = planTransform(info, { w: c.w, h: c.h, fit: "cover", enlarge: true, ...(c.position && { position: c.position }) }, [c.format], {
    ...settings,
    avifEffort: c.effort ?? settings.avifEffort,
  });
  // Warm up libvips (its threads, the codec's tables) so the baseline is an idle worker's.
  await render(c.source, planTransform(info, { w: 32, h: 32 }, [c.format], settings), { maxInputPixels: settings.maxInputPixels });
  const before = kb("VmRSS");
  const started = performance.now();
  const out = await render(c.source, plan, { maxInputPixels: settings.maxInputPixels });
  const ms = performance.now() - started;
  const measured = kb("VmHWM") - before;
  return { estimate: plan.estimatedBytes, measured, ms, bytes: out.data.length, ...(c.effort !== undefined && { psnr: await psnr(c.source, c.w, c.h, out.data) }) };
}

function measure(c: Case): Measured {
  const env = { ...process.env, ...(existsSync(JEMALLOC) && { LD_PRELOAD: JEMALLOC }) };
  const out = execFileSync(process.execPath, ["--import", "tsx", __filename, "--case", JSON.stringify(c)], { cwd: REPO, env, encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Measured;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-memory-"));
  try {
    const src = (name: string) => path.join(dir, name);
    await photo(1920, 1080).jpeg({ quality: 85 }).toFile(src("hd.jpg"));
    await photo(6000, 4000).jpeg({ quality: 85 }).toFile(src("24mp.jpg"));
    await photo(8000, 6000).jpeg({ quality: 85 }).toFile(src("48mp.jpg"));
    await photo(4000, 3000).ensureAlpha(0.5).png({ compressionLevel: 1 }).toFile(src("alpha.png"));
    await photo(16000, 1000).jpeg({ quality: 85 }).toFile(src("wide.jpg"));

    const cases: Case[] = [];
    for (const format of ["jpeg", "webp", "png", "avif"] as const) {
      for (const [w, h] of [[320, 180], [1280, 720], [2048, 1024], [4096, 4096]] as const) {
        if (format === "avif" && w === 4096) continue; // below, once: it takes ~20 s
        cases.push({ source: "hd.jpg", w, h, format });
      }
      cases.push({ source: "hd.jpg", w: 2048, h: 2048, format, position: "attention" });
      cases.push({ source: "48mp.jpg", w: 320, h: 180, format });
      cases.push({ source: "alpha.png", w: 2048, h: 1536, format });
    }
    cases.push({ source: "hd.jpg", w: 4096, h: 4096, format: "avif" });
    cases.push({ source: "hd.jpg", w: 4096, h: 4096, format: "jpeg", position: "attention" });
    cases.push({ source: "wide.jpg", w: 1024, h: 1024, format: "jpeg", position: "entropy" });
    cases.push({ source: "24mp.jpg", w: 4096, h: 4096, format: "jpeg" });
    cases.push({ source: "wide.jpg", w: 320, h: 180, format: "webp" });

    const rows: string[] = [];
    let worst = Infinity;
    for (const c of only ? [] : cases) {
      const m = measure({ ...c, source: src(c.source) });
      const ratio = m.estimate / Math.max(m.measured, 1);
      worst = Math.min(worst, ratio);
      const label = `${c.source} -> ${c.w}x${c.h} ${c.format}${c.position ? ` ${c.position}` : ""}`;
      rows.push(`| ${label} | ${(m.measured / MiB).toFixed(0)} | ${(m.estimate / MiB).toFixed(0)} | ${ratio.toFixed(2)} | ${m.ms.toFixed(0)} |`);
      process.stderr.write(`${label}: measured ${(m.measured / MiB).toFixed(0)} MiB, estimated ${(m.estimate / MiB).toFixed(0)} MiB (${ratio.toFixed(2)})\n`);
    }

    const efforts: string[] = [];
    for (const [source, w, h] of [["hd.jpg", 320, 180], ["hd.jpg", 640, 360], ["hd.jpg", 1280, 720], ["24mp.jpg", 1920, 1080]] as const) {
      for (const effort of EFFORTS) {
        // Best of three: the machine is shared.
        const runs = [0, 1, 2].map(() => measure({ source: src(source), w, h, format: "avif", effort }));
        const best = runs.reduce((a, b) => (a.ms <= b.ms ? a : b));
        efforts.push(`| ${source} -> ${w}x${h} | ${effort} | ${best.ms.toFixed(0)} | ${best.bytes} | ${best.psnr!.toFixed(2)} |`);
        process.stderr.write(`avif ${w}x${h} effort ${effort}: ${best.ms.toFixed(0)} ms, ${best.bytes} B, PSNR ${best.psnr!.toFixed(2)} dB\n`);
      }
    }

    const m = MEMORY_MODEL;
    const md = [
      "# Transform memory: estimate vs measured, and AVIF effort",
      "",
      `Generated by \`npm run bench:memory\` (bench/memory.ts) on ${new Date().toISOString().slice(0, 10)}; load average ${loadavg()[0]!.toFixed(1)} ` +
        `(a shared 2-CPU machine: times are indicative, memory is not affected). Each case in a fresh process like a transform ` +
        `worker: ${existsSync(JEMALLOC) ? "jemalloc" : "glibc malloc"}, ${VIPS_THREADS} libvips threads, sources made like photographs ` +
        `(gradients and grain, test/helpers/images.ts). Measured: peak RSS (VmHWM) minus RSS before the transform.`,
      "",
      `Model (resizer/src/memory.ts): ${m.fixedBytes / MiB} MiB + ${m.perSourcePixel} B per source pixel + per result pixel and band ` +
        `${Object.entries(m.perOutputBandPixel).map(([f, v]) => `${f} ${v}`).join(", ")} B + ${m.perSmartcropBandPixel} B per pixel and band ` +
        `of the cover-scaled image for attention/entropy, + ${m.alphaPerOutputBandPixel} B per result pixel and band with transparency.`,
      "",
      "| transform | measured MiB | estimated MiB | estimate / measured | ms |",
      "|---|---:|---:|---:|---:|",
      ...rows,
      "",
      `Lowest estimate / measured: ${worst.toFixed(2)} (must stay at or above 1).`,
      "",
      "## AVIF effort (quality 50; best of three runs)",
      "",
      "| transform | effort | ms | bytes | PSNR dB |",
      "|---|---:|---:|---:|---:|",
      ...efforts,
      "",
    ].join("\n");
    writeFileSync(path.join(REPO, "bench/results/memory.md"), md);
    process.stderr.write(`wrote bench/results/memory.md (lowest estimate/measured ${worst.toFixed(2)})\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf("--case");
if (at >= 0) {
  runCase(JSON.parse(process.argv[at + 1]!) as Case).then((m) => process.stdout.write(`${JSON.stringify(m)}\n`));
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
