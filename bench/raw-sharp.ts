// The limit the service is measured against: the same transform with sharp in-process,
// from an in-memory buffer, `connections` operations in flight, for `seconds`. Run as its
// own process by bench/resizer.ts so it gets the same allocator and threadpool env as
// the server. Prints one JSON line.
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { configureEngine } from "../resizer/src/engine.js";

const [file, fmt, connectionsText, secondsText] = process.argv.slice(2);
if (!file || (fmt !== "jpeg" && fmt !== "webp")) throw new Error("usage: raw-sharp.ts <file> jpeg|webp <connections> <seconds>");
const connections = Number(connectionsText);
const seconds = Number(secondsText);
// Same process-wide libvips settings as the service's defaults.
configureEngine({ allowVector: false, vipsThreads: Number(process.env.RESIZER_VIPS_THREADS ?? 0) });
const input = readFileSync(file);

const transform = () => {
  const image = sharp(input, { failOn: "warning", sequentialRead: true, pages: 1 })
    .autoOrient()
    .resize({ width: 320, height: 180, fit: "cover", withoutEnlargement: true })
    .toColourspace("srgb");
  return (fmt === "jpeg" ? image.jpeg({ quality: 80 }) : image.webp({ quality: 80 })).toBuffer();
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
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
  process.stdout.write(
    `${JSON.stringify({ rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), n: latencies.length, peakRssMb: peakRssKb / 1024, vipsThreads: sharp.concurrency() })}\n`,
  );
}

void main();
