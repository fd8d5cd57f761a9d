// The limit the service is measured against: the same transform with sharp in-process,
// from an in-memory buffer, `connections` operations in flight, for `seconds`. Run as its
// own process (by bench/run.ts and bench/resizer.ts) so it gets the same allocator and
// threadpool env as the server. Prints one JSON line.
//
//   node --import tsx bench/raw-sharp.ts --file F --fmt jpeg|webp --connections 8 --seconds 5
//        [--quality 80] [--sizes <file of "w h" lines>]
//
// With --sizes, the operations cycle through those boxes (distinct sizes, as the
// master's MISS rows request them); else every operation is 320x180.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { configureEngine, ENCODERS } from "../resizer/src/engine.js";

const { values } = parseArgs({
  options: {
    file: { type: "string" },
    fmt: { type: "string", default: "jpeg" },
    connections: { type: "string", default: "8" },
    seconds: { type: "string", default: "5" },
    quality: { type: "string", default: "80" },
    sizes: { type: "string" },
  },
});
const fmt = values.fmt;
if (!values.file || (fmt !== "jpeg" && fmt !== "webp")) throw new Error("usage: raw-sharp.ts --file <jpeg> [--fmt jpeg|webp] [--connections N] [--seconds S] [--quality Q] [--sizes FILE]");
const connections = Number(values.connections);
const seconds = Number(values.seconds);
const quality = Number(values.quality);
const boxes = values.sizes
  ? readFileSync(values.sizes, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => l.trim().split(/\s+/).map(Number) as [number, number])
  : [[320, 180] as [number, number]];
// Same process-wide libvips settings as the service's defaults.
configureEngine({ allowVector: false, vipsThreads: Number(process.env.RESIZER_VIPS_THREADS ?? 0) });
const input = readFileSync(values.file);

let next = 0;
const transform = () => {
  const [width, height] = boxes[next++ % boxes.length]!;
  const image = sharp(input, { failOn: "warning", sequentialRead: true, pages: 1 })
    .autoOrient()
    .resize({ width, height, fit: "cover", withoutEnlargement: true })
    .toColourspace("srgb");
  // The resizer's own encoder options: the limit does exactly the work a request does.
  return (fmt === "jpeg" ? image.jpeg(ENCODERS.jpeg(quality)) : image.webp(ENCODERS.webp(quality))).toBuffer();
};

async function main(): Promise<void> {
  for (let i = 0; i < 20; i++) await transform(); // warm-up
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await transform();
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: connections }, worker));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
  process.stdout.write(
    `${JSON.stringify({ rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), n: latencies.length, cpuUs: (cpu.user + cpu.system) / Math.max(1, latencies.length), peakRssMb: peakRssKb / 1024, vipsThreads: sharp.concurrency() })}\n`,
  );
}

void main();
