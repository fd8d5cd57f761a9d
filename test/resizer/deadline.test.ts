// The deadline frees the slot: a transform still running at RESIZER_TIMEOUT_MS is stopped
// (its worker process killed), not merely answered 503 while it keeps the CPU, its memory
// and the concurrency slot. Before, an AVIF encode ran on for tens of seconds after its
// 503 and every request behind it timed out too.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import sharp from "sharp";
import { startResizer, type TestResizer } from "../helpers/resizer.js";

const TIMEOUT_MS = 5000;
let svc: TestResizer;

before(async () => {
  // One slot; AVIF at its slowest effort: noise at 2048x1024 takes about a minute to encode.
  svc = await startResizer({ concurrency: 1, queue: 4, timeoutMs: TIMEOUT_MS, avifEffort: 9 });
  const width = 6000, height = 4000;
  const noise = Buffer.alloc(width * height);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  await sharp(noise, { raw: { width, height, channels: 1 } }).png({ compressionLevel: 1 }).toFile(`${svc.root}/noise.png`);
});
after(() => svc.close());

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);

it("a transform past its deadline is stopped: the next request gets the slot at once", { timeout: 60_000 }, async (t) => {
  const started = performance.now();
  const slow = await svc.get("/resize?src=noise.png&w=2048&h=1024&fmt=avif");
  const answeredAt = performance.now();
  assert.equal(slow.status, 503, slow.bytes.toString());
  assert.equal((JSON.parse(slow.bytes.toString()) as { error: string }).error, "timeout");

  // Same single slot, same deadline: served only if the stopped encode no longer holds it.
  const next = await svc.get("/resize?src=quadrants.jpg&w=320&h=180&fmt=jpeg");
  const servedAt = performance.now();
  assert.equal(next.status, 200, `the next request waited for the abandoned encode: ${next.bytes.toString()}`);

  const metrics = (await svc.get("/metrics")).bytes.toString();
  const cancels = metric(metrics, "resizer_transform_cancel_seconds_count");
  const cancelSeconds = metric(metrics, "resizer_transform_cancel_seconds_sum");
  assert.equal(cancels, 1);
  assert.equal(metric(metrics, "resizer_transforms_active"), 0);
  t.diagnostic(
    `503 after ${((answeredAt - started) / 1000).toFixed(2)}s (timeout ${TIMEOUT_MS / 1000}s); ` +
      `deadline -> worker gone, slot free: ${(cancelSeconds * 1000).toFixed(1)} ms; ` +
      `the next request (waiting for a new worker, then a 320x180 JPEG) answered 200 ${((servedAt - answeredAt) / 1000).toFixed(2)}s after the 503`,
  );
});
