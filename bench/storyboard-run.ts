// One storyboard measurement in its own process (run by bench/storyboard.ts, pinned with
// taskset): the service's own handler, in-process and without HTTP, makes the same sheet
// `runs` times after one warm-up; then the episode's track. Prints one JSON line: wall
// and CPU time (all threads, process.cpuUsage) per sheet, peak RSS (VmHWM).
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { configureEngine } from "../resizer/src/engine.js";
import { Admission } from "../resizer/src/admission.js";
import { budgetBytes } from "../resizer/src/memory.js";
import { serviceSchema } from "../resizer/src/settings.js";
import { realRoot } from "../resizer/src/source.js";
import { createStoryboardService } from "../resizer/src/storyboard/service.js";
import { storyboardSchema } from "../resizer/src/storyboard/settings.js";

const [root, target, runsText, accept = ""] = process.argv.slice(2);
if (!root || !target || !runsText) throw new Error("usage: storyboard-run.ts <root> <sheet target> <runs> [accept]");

const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync("/proc/self/status", "utf8"))?.[1]);

async function main(): Promise<void> {
  const resizer = serviceSchema.parse({});
  configureEngine(resizer);
  const service = createStoryboardService({
    root: await realRoot(root!),
    storyboard: storyboardSchema.parse({}),
    resizer,
    admission: new Admission(resizer.concurrency, resizer.queue, budgetBytes(resizer, undefined)),
  });
  const signal = new AbortController().signal;
  const headers = accept === "" ? {} : { accept };
  const sheet = async (t = target!) => {
    const reply = await service.handle(t, headers, signal);
    if (reply.status !== 200) throw new Error(`sheet answered ${reply.status}`);
    return reply;
  };
  // A one-still sheet first: loads the decoder and encoder, so "before" is the process
  // ready to serve and the growth to the peak is what a full sheet adds.
  await sheet(target!.replace(/cols=\d+&rows=\d+/, "cols=1&rows=1"));
  const rssBeforeKb = kb("VmRSS");
  const first = await sheet(); // warm-up: code paths, libvips and allocator pools
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < Number(runsText); i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await sheet();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const trackTarget = target!.replace(/\/sprite-\d+\.\w+\?(.*?)(&fmt=auto)?$/, ".vtt?$1&every=10");
  const t0 = performance.now();
  const track = await service.handle(trackTarget, {}, signal);
  const trackMs = performance.now() - t0;
  if (track.status !== 200) throw new Error(`track answered ${track.status}`);
  const meta = await sharp(first.body).metadata();
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      format: meta.format,
      width: meta.width,
      height: meta.height,
      bytes: first.body.length,
      minMs: times[0],
      medianMs: times[Math.floor(times.length / 2)],
      maxMs: times.at(-1),
      cpuMs: cpu[Math.floor(cpu.length / 2)],
      trackMs,
      trackCues: track.body.toString("utf8").split("-->").length - 1,
      rssBeforeMb: rssBeforeKb / 1024,
      peakRssMb: kb("VmHWM") / 1024,
      estimateMb: (first.estimatedBytes ?? NaN) / 2 ** 20,
      vipsThreads: sharp.concurrency(),
    })}\n`,
  );
}

void main();
