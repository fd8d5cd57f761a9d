// Hostile and broken input: every case gets the right 4xx with a short reason that names
// no filesystem path, a short Cache-Control, and the process keeps serving afterwards.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { MAX_CLIENT_HEADER_BYTES, MAX_HEADER_BYTES } from "../../resizer/src/settings.js";
import { startResizer, type TestResizer } from "../helpers/resizer.js";

let svc: TestResizer;
before(async () => {
  svc = await startResizer({ maxInputBytes: 4 * 1024 * 1024, maxOutputDimension: 2000 });
});
after(() => svc.close());

/** A whole-number metric's value (NaN when absent). */
const counter = (metrics: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1]);

/** The service still resizes a real image correctly. */
async function assertStillServing(s: TestResizer = svc, src = "quadrants.jpg"): Promise<void> {
  assert.equal((await s.get("/healthz")).status, 200);
  const res = await s.get(`/resize?src=${src}&w=40`);
  assert.equal(res.status, 200);
  assert.equal((await sharp(res.bytes).metadata()).width, 40);
}

/** Serving again within a few seconds (a replaced transform worker is starting). */
async function assertRecovers(s: TestResizer): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await s.get("/resize?src=quadrants.jpg&w=40");
    if (res.status === 200) {
      assert.equal((await sharp(res.bytes).metadata()).width, 40);
      break;
    }
    assert.ok(Date.now() < deadline, "not serving again within 10 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await s.get("/healthz")).status, 200);
}

async function assertRefused(pathAndQuery: string, status: number, code: string, s: TestResizer = svc, healthySrc?: string): Promise<void> {
  const res = await s.get(pathAndQuery);
  assert.equal(res.status, status, `${pathAndQuery}: ${res.bytes.toString().slice(0, 200)}`);
  assert.equal(res.headers.get("content-type"), "application/json");
  const body = JSON.parse(res.bytes.toString()) as { error: string; message: string };
  assert.equal(body.error, code);
  assert.ok(body.message.length > 0 && body.message.length < 120, "a short reason");
  for (const leak of [s.root, "/tmp", "/etc", "/images", "node_modules"]) {
    assert.ok(!res.bytes.toString().includes(leak), `the answer must not reveal ${leak}`);
  }
  const cacheControl = res.headers.get("cache-control");
  assert.ok(cacheControl === "no-store" || cacheControl === "public, max-age=10", `short Cache-Control, got ${cacheControl}`);
  await assertStillServing(s, healthySrc);
}

describe("paths are confined to the images root", () => {
  const cases: [string, string, number, string][] = [
    ["'..' segments", "/resize?src=../outside/secret.jpg&w=10", 400, "bad_param"],
    ["percent-encoded '..'", "/resize?src=%2e%2e/outside/secret.jpg&w=10", 400, "bad_param"],
    ["'..' in the TimThumb alias", "/timthumb.php?src=/../outside/secret.jpg", 400, "bad_param"],
    ["encoded slashes around '..'", "/resize?src=dir%2F..%2F..%2Foutside%2Fsecret.jpg&w=10", 400, "bad_param"],
    ["backslashes", "/resize?src=dir%5C..%5C..%5Coutside%5Csecret.jpg&w=10", 400, "bad_param"],
    ["a NUL byte", "/resize?src=quadrants.jpg%00.png&w=10", 400, "bad_param"],
    ["a URL", "/timthumb.php?src=http://127.0.0.1/quadrants.jpg", 400, "bad_param"],
    ["an absolute path: read under the root, so missing", "/resize?src=/etc/passwd&w=10", 404, "not_found"],
    ["a symlink escaping the root", "/resize?src=escape.jpg&w=10", 404, "not_found"],
    ["a path through a symlinked directory escaping the root", "/resize?src=escape-dir/secret.jpg&w=10", 404, "not_found"],
    ["a directory", "/resize?src=dir&w=10", 404, "not_found"],
    ["a missing file", "/resize?src=nope.jpg&w=10", 404, "not_found"],
    ["a file below a regular file", "/resize?src=quadrants.jpg/x.jpg&w=10", 404, "not_found"],
    ["a named pipe (would block a naive open)", "/resize?src=fifo.jpg&w=10", 404, "not_found"],
  ];
  for (const [name, url, status, code] of cases) it(`${name} -> ${status}`, () => assertRefused(url, status, code));
});

describe("sources that are not servable images", () => {
  const cases: [string, string, number, string][] = [
    ["a text file named .jpg", "/resize?src=not-an-image.jpg&w=10", 422, "not_an_image"],
    ["a truncated JPEG", "/resize?src=truncated.jpg&w=10", 422, "not_an_image"],
    ["a JPEG with garbage after its header", "/resize?src=corrupt.jpg&w=10", 422, "not_an_image"],
    ["an SVG (vector sources are off by default)", "/resize?src=vector.svg&w=10", 422, "not_an_image"],
    ["an SVG disguised as .jpg", "/resize?src=vector-named.jpg&w=10", 422, "not_an_image"],
    ["a PDF", "/resize?src=doc.pdf&w=10", 422, "not_an_image"],
    ["a decompression bomb (100000x100000 declared, checked from the header)", "/resize?src=bomb.png&w=10", 413, "pixel_limit"],
    ["a source over maxInputBytes", "/resize?src=big.png&w=10", 413, "source_too_large"],
  ];
  before(async () => {
    // 5 MB of noise as PNG: over this server's 4 MB input limit.
    const noise = Buffer.alloc(1400 * 1400 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    await sharp(noise, { raw: { width: 1400, height: 1400, channels: 3 } }).png({ compressionLevel: 0 }).toFile(`${svc.root}/big.png`);
  });
  // Each decoded case twice: `w` alone needs the header, so the service probes it first;
  // a box with a format is planned without it, and libvips' own checks must answer the
  // same, to the word.
  const box = (url: string) => url.replace("&w=10", "&w=10&h=10&fmt=jpeg");
  const boxNoFmt = (url: string) => url.replace("&w=10", "&w=10&h=10");
  for (const [name, url, status, code] of cases) {
    it(`${name} -> ${status}`, () => assertRefused(url, status, code));
    if (code === "source_too_large") continue; // refused by fstat, before any planning
    it(`${name}, asked as a box with fmt (no probe) -> the same answer`, async () => {
      await assertRefused(box(url), status, code);
      assert.deepEqual(JSON.parse((await svc.get(box(url))).bytes.toString()), JSON.parse((await svc.get(url)).bytes.toString()));
    });
    it(`${name}, asked as a box without fmt (format from the first bytes, no probe) -> the same answer`, async () => {
      await assertRefused(boxNoFmt(url), status, code);
      assert.deepEqual(JSON.parse((await svc.get(boxNoFmt(url))).bytes.toString()), JSON.parse((await svc.get(url)).bytes.toString()));
    });
  }

  it("a real image over maxInputPixels -> 413", async () => {
    const small = await startResizer({ maxInputPixels: 100_000 });
    try {
      // quadrants.jpg has 120 000 px; each frame of anim.gif 19 200, which stays servable.
      await assertRefused("/resize?src=quadrants.jpg&w=10", 413, "pixel_limit", small, "anim.gif");
      await assertRefused(box("/resize?src=quadrants.jpg&w=10"), 413, "pixel_limit", small, "anim.gif");
    } finally {
      await small.close();
    }
  });
});

describe("parameters", () => {
  const cases: [string, string][] = [
    ["w=0", "/resize?src=quadrants.jpg&w=0"],
    ["negative w", "/resize?src=quadrants.jpg&w=-10"],
    ["non-numeric h", "/resize?src=quadrants.jpg&h=ten"],
    ["q out of range", "/resize?src=quadrants.jpg&w=10&q=500"],
    ["q zero", "/resize?src=quadrants.jpg&w=10&q=0"],
    ["unknown fmt", "/resize?src=quadrants.jpg&w=10&fmt=bmp"],
    ["unknown fit", "/resize?src=quadrants.jpg&w=10&h=10&fit=zoom"],
    ["repeated w", "/resize?src=quadrants.jpg&w=10&w=20"],
    ["unknown parameter", "/resize?src=quadrants.jpg&w=10&v=2"],
    ["no size", "/resize?src=quadrants.jpg"],
    ["no src", "/resize?w=10"],
    ["width over maxOutputDimension", "/resize?src=quadrants.jpg&w=2001"],
    ["huge width", "/resize?src=quadrants.jpg&w=100000"],
    ["TimThumb zc out of range", "/timthumb.php?src=quadrants.jpg&zc=9"],
  ];
  for (const [name, url] of cases) it(`${name} -> 400`, () => assertRefused(url, 400, "bad_param"));

  it("an output larger than maxOutputDimension (fit=outside on a thin image) -> 400", () =>
    assertRefused("/resize?src=tall.png&w=2000&h=10&fit=outside&enlarge=1", 400, "output_too_large"));

  it("one side with enlarge=1 that would make the other side huge -> 400", () =>
    assertRefused("/resize?src=tall.png&w=20&enlarge=1", 400, "output_too_large"));
});

describe("HTTP-level abuse", () => {
  it("an overlong URL -> 414", () => assertRefused(`/resize?src=${"a/".repeat(1100)}x.jpg&w=10`, 414, "uri_too_long"));

  it("headers beyond what the master lets through (plus its own) -> 431 from node, and serving goes on", async () => {
    // What the master accepts (32 KiB) passes: no 431 for a request nginx let through.
    const big = await fetch(`${svc.base}/healthz`, { headers: { "X-Junk": "x".repeat(MAX_CLIENT_HEADER_BYTES - 1024) } });
    assert.equal(big.status, 200);
    const res = await fetch(`${svc.base}/healthz`, { headers: { "X-Junk": "x".repeat(MAX_HEADER_BYTES + 1) } });
    assert.equal(res.status, 431);
    await assertStillServing();
  });

  it("an unknown endpoint -> 404", () => assertRefused("/etc/passwd", 404, "not_found"));

  it("POST -> 405 with Allow", async () => {
    const res = await fetch(`${svc.base}/resize?src=quadrants.jpg&w=10`, { method: "POST", body: "x" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    await assertStillServing();
  });

  it("a client that never finishes its headers gets 408 and is disconnected", async () => {
    const slow = await startResizer({ clientTimeoutMs: 300 });
    try {
      const { port } = new URL(slow.base);
      const socket = connect(Number(port), "127.0.0.1");
      socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n"); // ... and nothing more
      let answer = "";
      socket.on("data", (d) => (answer += d.toString()));
      await new Promise((resolve) => socket.once("close", resolve));
      assert.match(answer, /^HTTP\/1\.1 408 /);
      await assertStillServing(slow);
    } finally {
      await slow.close();
    }
  });
});

describe("load shedding", () => {
  it("beyond concurrency + queue, answers 503 with Retry-After instead of queueing more", async () => {
    const busy = await startResizer({ concurrency: 1, queue: 1 });
    try {
      await writeSlowSource(busy.root);
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => busy.get(`/resize?src=slow.png&w=${100 + i}&fmt=avif`)),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 503, 503]);
      const shed = results.find((r) => r.status === 503)!;
      assert.equal(shed.headers.get("retry-after"), "1");
      assert.equal(shed.headers.get("cache-control"), "no-store");
      assert.equal((JSON.parse(shed.bytes.toString()) as { error: string }).error, "busy");
      await assertStillServing(busy);
    } finally {
      await busy.close();
    }
  });

  it("clients hanging up while queued, opening or transforming do not disturb the service", async () => {
    const busy = await startResizer({ concurrency: 1, queue: 8 });
    try {
      await writeSlowSource(busy.root);
      const attempts = Array.from({ length: 6 }, (_, i) => {
        const abort = new AbortController();
        setTimeout(() => abort.abort(), i * 15);
        return fetch(`${busy.base}/resize?src=slow.png&w=${200 + i}`, { signal: abort.signal }).then(
          (r) => r.status,
          () => "hung up",
        );
      });
      assert.ok((await Promise.all(attempts)).includes("hung up"));
      await assertStillServing(busy);
      const metrics = (await busy.get("/metrics")).bytes.toString();
      assert.match(metrics, /^resizer_queue_depth 0$/m, "abandoned waiters leave the queue");
    } finally {
      await busy.close();
    }
  });

  it("a transform over timeoutMs answers 503 and the service recovers", async () => {
    const hurried = await startResizer({ timeoutMs: 100 });
    try {
      await writeSlowSource(hurried.root);
      const res = await hurried.get("/resize?src=slow.png&w=1500&fmt=avif");
      assert.equal(res.status, 503);
      assert.equal((JSON.parse(res.bytes.toString()) as { error: string }).error, "timeout");
      assert.equal(res.headers.get("cache-control"), "no-store");
      // The stopped transform's worker is replaced; with a 100 ms budget the first requests
      // may still find it starting.
      await assertRecovers(hurried);
    } finally {
      await hurried.close();
    }
  });
});

describe("a client hanging up mid-transform", () => {
  /** Polls /metrics until `name` reads `value` (10 s at most). */
  async function untilMetric(s: TestResizer, name: string, value: number): Promise<void> {
    for (let i = 0; i < 1000 && counter((await s.get("/metrics")).bytes.toString(), name) !== value; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(counter((await s.get("/metrics")).bytes.toString(), name), value, `${name} never reached ${value}`);
  }
  /** A request hung up once its transform is running (the transform counter moved). */
  async function hangUpWhileTransforming(s: TestResizer, pathAndQuery: string): Promise<void> {
    const before = counter((await s.get("/metrics")).bytes.toString(), "resizer_transforms_total");
    const abort = new AbortController();
    const answer = fetch(`${s.base}${pathAndQuery}`, { signal: abort.signal }).then(() => "answered", () => "hung up");
    await untilMetric(s, "resizer_transforms_total", before + 1);
    abort.abort();
    assert.equal(await answer, "hung up");
  }
  /** Jobs for the one worker: before, each was counted again as a crash when the worker ended. */
  async function giveTheWorkerAHistory(s: TestResizer): Promise<void> {
    for (let i = 0; i < 3; i++) assert.equal((await s.get(`/resize?src=quadrants.jpg&w=${60 + i}`)).status, 200);
  }

  it("a thumbnail's transform ends and its worker lives on: nothing stopped, no crash counted", async () => {
    const s = await startResizer({ concurrency: 1, queue: 0 });
    try {
      await writeSlowSource(s.root);
      await giveTheWorkerAHistory(s);
      // ~0.1 s of work: well within the grace, and cheaper to finish than a new worker.
      await hangUpWhileTransforming(s, "/resize?src=slow.png&w=500&fmt=avif");
      await untilMetric(s, "resizer_transforms_active", 0);
      const metrics = (await s.get("/metrics")).bytes.toString();
      assert.equal(counter(metrics, "resizer_transform_cancel_seconds_count"), 0, "no worker was stopped");
      assert.equal(counter(metrics, "resizer_transform_worker_crashes_total"), 0);
      await assertStillServing(s);
    } finally {
      await s.close();
    }
  });

  it("a long encode nobody waits for is stopped soon after, counted once as stopped, never as a crash", { timeout: 60_000 }, async () => {
    // AVIF at its slowest effort: this encode alone runs for about a minute.
    const s = await startResizer({ concurrency: 1, queue: 0, avifEffort: 9, timeoutMs: 60_000 });
    try {
      await writeSlowSource(s.root);
      await giveTheWorkerAHistory(s);
      const hungUpAt = performance.now();
      await hangUpWhileTransforming(s, "/resize?src=slow.png&w=2048&h=1024&fmt=avif");
      await untilMetric(s, "resizer_transforms_active", 0);
      const freedAfter = performance.now() - hungUpAt;
      const metrics = (await s.get("/metrics")).bytes.toString();
      assert.equal(counter(metrics, "resizer_transform_cancel_seconds_count"), 1, "the abandoned encode's worker was stopped");
      assert.equal(counter(metrics, "resizer_transform_worker_crashes_total"), 0, "a stopped worker is not a crash, and the jobs it did before are not either");
      assert.ok(freedAfter < 20_000, `the slot was freed ${freedAfter.toFixed(0)} ms after the hang-up, not at the end of the encode`);
      await assertRecovers(s);
    } finally {
      await s.close();
    }
  });
});

describe("memory admission", () => {
  const sourceBytesRead = async (s: TestResizer) =>
    Number(/^resizer_source_bytes_total (\S+)$/m.exec((await s.get("/metrics")).bytes.toString())?.[1]);

  it("a transform that alone needs more than the budget -> 400 naming the budget, before its source is read", async () => {
    const small = await startResizer({ memoryBudgetMb: 100 });
    try {
      const read = await sourceBytesRead(small);
      const res = await small.get("/resize?src=quadrants.jpg&w=4096&h=4096&enlarge=1&fmt=jpeg");
      assert.equal(res.status, 400, res.bytes.toString());
      const body = JSON.parse(res.bytes.toString()) as { error: string; message: string };
      assert.equal(body.error, "over_memory_budget");
      assert.match(body.message, /this JPEG result needs about \d+ MiB, over this replica's memory budget of 100 MiB \(RESIZER_MEMORY_BUDGET_MB\)/);
      assert.equal(await sourceBytesRead(small), read, "refused before a byte of the source was read");
      await assertStillServing(small);
    } finally {
      await small.close();
    }
  });

  it("per-format area limits: a size JPEG serves is refused as AVIF (400 naming the limit)", async () => {
    const jpeg = await svc.get("/resize?src=quadrants.jpg&w=1600&h=1600&enlarge=1&fmt=jpeg");
    assert.equal(jpeg.status, 200, jpeg.bytes.toString());
    await assertRefused("/resize?src=quadrants.jpg&w=1600&h=1600&enlarge=1&fmt=avif", 400, "output_too_large");
    const avif = await svc.get("/resize?src=quadrants.jpg&w=1600&h=1600&enlarge=1&fmt=avif");
    assert.match(avif.bytes.toString(), /over the AVIF limit of \d+ px \(maxOutputPixels\)/);
  });
});

describe("identical requests at once", () => {

  it("are transformed once and all answered with the same bytes, without taking queue places", async () => {
    // No queue at all: a distinct request is refused while the one slot is busy, but an
    // identical one joins the transform already running.
    const busy = await startResizer({ concurrency: 1, queue: 0 });
    try {
      await writeSlowSource(busy.root);
      const same = "/resize?src=slow.png&w=300&fmt=webp";
      const first = busy.get(same);
      await new Promise((r) => setTimeout(r, 20)); // the first holds the slot
      const [others, distinct] = await Promise.all([Promise.all(Array.from({ length: 5 }, () => busy.get(same))), busy.get("/resize?src=slow.png&w=301&fmt=webp")]);
      const answers = [await first, ...others];
      assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      assert.equal(distinct.status, 503, "a different variant still needs a slot");
      assert.ok(answers.every((r) => r.bytes.equals(answers[0]!.bytes) && r.headers.get("etag") === answers[0]!.headers.get("etag")));
      const metrics = (await busy.get("/metrics")).bytes.toString();
      assert.equal(counter(metrics, "resizer_transforms_total"), 1);
      assert.equal(counter(metrics, "resizer_coalesced_requests_total"), 5);
      assert.equal(busy.logs.filter((l) => l.shared === true).length, 5, "the log line says which requests shared");
    } finally {
      await busy.close();
    }
  });

  it("the shared transform's deadline answers every request of its flight 503 timeout, and the service recovers", async () => {
    // One slot and no queue: a request that did not join would be refused 503 busy, not timeout.
    const hurried = await startResizer({ concurrency: 1, queue: 0, timeoutMs: 400 });
    try {
      await writeSlowSource(hurried.root);
      const same = "/resize?src=slow.png&w=1500&fmt=avif";
      const first = hurried.get(same);
      await new Promise((r) => setTimeout(r, 100)); // the first holds the slot
      const joiners = Promise.all([hurried.get(same), hurried.get(same)]);
      const answers = [await first, ...(await joiners)];
      assert.deepEqual(answers.map((r) => r.status), [503, 503, 503]);
      for (const r of answers) {
        assert.equal((JSON.parse(r.bytes.toString()) as { error: string }).error, "timeout");
        assert.equal(r.headers.get("retry-after"), "1");
      }
      assert.equal(counter((await hurried.get("/metrics")).bytes.toString(), "resizer_transforms_total"), 1, "one transform, stopped once");
      await assertRecovers(hurried);
    } finally {
      await hurried.close();
    }
  });

  it("one client hanging up does not fail the others; when all have gone the slot frees", async () => {
    const busy = await startResizer({ concurrency: 1, queue: 0 });
    try {
      await writeSlowSource(busy.root);
      const same = `${busy.base}/resize?src=slow.png&w=400&fmt=avif`;
      const quitter = new AbortController();
      const gone = fetch(same, { signal: quitter.signal }).then(() => "answered", () => "hung up");
      const stays = fetch(same).then((r) => r.status);
      setTimeout(() => quitter.abort(), 30);
      assert.deepEqual([await gone, await stays], ["hung up", 200]);

      const all = Array.from({ length: 3 }, () => new AbortController());
      const abandoned = all.map((a) => fetch(`${busy.base}/resize?src=slow.png&w=500&fmt=avif`, { signal: a.signal }).catch(() => "hung up"));
      setTimeout(() => all.forEach((a) => a.abort()), 30);
      assert.deepEqual(await Promise.all(abandoned), ["hung up", "hung up", "hung up"]);
      // An abandoned transform keeps its slot until libvips lets go of it, then frees it.
      for (let i = 0; i < 200 && counter((await busy.get("/metrics")).bytes.toString(), "resizer_transforms_active") !== 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await assertStillServing(busy);
    } finally {
      await busy.close();
    }
  });
});

/** A source that takes well over 100 ms to decode and encode (24 MP of noise). */
async function writeSlowSource(root: string): Promise<void> {
  const width = 6000, height = 4000;
  const noise = Buffer.alloc(width * height);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  await sharp(noise, { raw: { width, height, channels: 1 } }).png({ compressionLevel: 1 }).toFile(`${root}/slow.png`);
}
