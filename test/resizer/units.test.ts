// The pure parts below the parameter parser: negotiation, output-size planning, memory
// estimates and admission, single flights, HTTP validators and the settings contract.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import { ResizeError } from "../../resizer/src/errors.js";
import { Admission } from "../../resizer/src/admission.js";
import { acceptsPattern, negotiateFormat, outputFormats, requestedOutputs, sniffFormat, type OutputFormat } from "../../resizer/src/format.js";
import { Flights } from "../../resizer/src/flights.js";
import { ACCEPT_TABLE } from "../helpers/accept-table.js";
import { outputBound, planTransform, planWithoutHeader, type PlanSettings } from "../../resizer/src/plan.js";
import { ENV_NAMES, fromEnv, serviceSchema, toEnv } from "../../resizer/src/settings.js";
import { notModified, strongEtag } from "../../resizer/src/validators.js";

/** The default limits, with room for anything in memory unless a test says otherwise. */
const S: PlanSettings = { ...serviceSchema.parse({}), budgetBytes: 2 ** 40 };
const one = (f: OutputFormat) => [f];

describe("format negotiation", () => {
  it("prefers AVIF, then WebP, listed explicitly with q > 0; else JPEG", () => {
    assert.equal(negotiateFormat("image/avif,image/webp,*/*"), "avif");
    assert.equal(negotiateFormat("image/webp;q=0.9, image/avif;q=0"), "webp");
    assert.equal(negotiateFormat("IMAGE/WEBP"), "webp");
    assert.equal(negotiateFormat("image/*,*/*;q=0.8"), "jpeg");
    assert.equal(negotiateFormat(undefined), "jpeg");
  });

  it("answers every Accept of the shared table as RFC 9110 media ranges (the master's map runs the same rule)", () => {
    for (const [accept, variant] of ACCEPT_TABLE) assert.equal(negotiateFormat(accept), variant, JSON.stringify(accept));
  });

  it("the rule is one regular expression per type, valid for nginx (PCRE) and JavaScript alike", () => {
    const pattern = acceptsPattern("image/webp");
    assert.doesNotMatch(pattern, /\(\?<|\\[dswDSWbB]|\(\?i\)/, "no lookbehind, shorthand classes or inline flags: the same text in both engines");
    assert.match("image/webp", new RegExp(pattern, "i"));
  });

  it("keeps the source format without fmt; GIF and SVG become PNG", () => {
    assert.deepEqual(outputFormats(undefined, "jpeg", "image/avif"), ["jpeg"]);
    assert.deepEqual(outputFormats(undefined, "heif", undefined), ["avif"]);
    assert.deepEqual(outputFormats(undefined, "gif", undefined), ["png"]);
    assert.deepEqual(outputFormats("auto", "png", "image/webp"), ["webp", "jpeg"]);
    assert.deepEqual(outputFormats("png", "jpeg", "image/avif"), ["png"]);
  });
});

describe("a source's format from its first bytes", () => {
  it("knows JPEG, PNG, GIF and WebP by their signatures, and nothing else", async () => {
    const first = async (img: sharp.Sharp) => (await img.toBuffer()).subarray(0, 12);
    const pixel = () => sharp({ create: { width: 2, height: 2, channels: 3, background: "#808080" } });
    assert.equal(sniffFormat(await first(pixel().jpeg())), "jpeg");
    assert.equal(sniffFormat(await first(pixel().png())), "png");
    assert.equal(sniffFormat(await first(pixel().gif())), "gif");
    assert.equal(sniffFormat(await first(pixel().webp())), "webp");
    // AVIF/HEIF (the brand decides whether sharp can decode it), SVG, text, too short: the probe decides.
    assert.equal(sniffFormat(await first(pixel().avif())), undefined);
    for (const text of ["<svg xmlns=", "<?xml version", "%PDF-1.7", "hello world!", "\xff\xd8"]) assert.equal(sniffFormat(Buffer.from(text, "latin1")), undefined, JSON.stringify(text));
    assert.equal(sniffFormat(Buffer.from("RIFF\0\0\0\0WAVE", "latin1")), undefined, "a RIFF that is not WebP");
  });
});

describe("output size planning", () => {
  it("computes the result size before decoding", () => {
    assert.deepEqual(outputBound(1920, 1080, { w: 320 }), { width: 320, height: 180 });
    assert.deepEqual(outputBound(1920, 1080, { h: 90 }), { width: 160, height: 90 });
    assert.deepEqual(outputBound(400, 300, { w: 1000 }), { width: 400, height: 300 }, "no enlargement");
    assert.deepEqual(outputBound(400, 300, { w: 1000, enlarge: true }), { width: 1000, height: 750 });
    assert.deepEqual(outputBound(400, 300, { w: 100, h: 100, fit: "inside" }), { width: 100, height: 75 });
    assert.deepEqual(outputBound(400, 300, { w: 100, h: 100, fit: "outside" }), { width: 133, height: 100 });
    assert.deepEqual(outputBound(400, 300, { w: 100, h: 100 }), { width: 100, height: 100 });
  });

  it("refuses a result over maxOutputDimension with 400", () => {
    const src = { format: "png" as const, width: 10, height: 4000, hasAlpha: false };
    assert.throws(
      () => planTransform(src, { w: 2000, enlarge: true }, one("png"), S),
      (e: unknown) => e instanceof ResizeError && e.status === 400 && e.code === "output_too_large",
    );
    assert.equal(planTransform(src, { w: 5 }, one("png"), S).bound.height, 2000);
  });

  it("uses the format's default quality, none for PNG, and flattens into JPEG only", () => {
    const alpha = { format: "png" as const, width: 100, height: 100, hasAlpha: true };
    assert.equal(planTransform(alpha, { w: 10 }, one("jpeg"), S).quality, 79);
    assert.equal(planTransform(alpha, { w: 10 }, one("avif"), S).quality, 66);
    assert.equal(planTransform(alpha, { w: 10, q: 33 }, one("webp"), S).quality, 33);
    assert.equal(planTransform(alpha, { w: 10 }, one("png"), S).quality, undefined);
    assert.equal(planTransform(alpha, { w: 10 }, one("jpeg"), S).flatten, true);
    assert.equal(planTransform(alpha, { w: 10 }, one("webp"), S).flatten, false);
  });

  it("letterboxes in transparent bars only when the output keeps the source's alpha", () => {
    const alpha = { format: "png" as const, width: 100, height: 100, hasAlpha: true };
    const contain = { w: 10, h: 20, fit: "contain" as const };
    const white = (a: number) => ({ r: 255, g: 255, b: 255, alpha: a });
    assert.deepEqual(planTransform(alpha, contain, one("webp"), S).resize.background, white(0));
    assert.deepEqual(planTransform(alpha, contain, one("jpeg"), S).resize.background, white(1));
    assert.deepEqual(planTransform({ ...alpha, hasAlpha: false }, contain, one("png"), S).resize.background, white(1));
    assert.equal(planTransform(alpha, { w: 10, h: 20 }, one("webp"), S).resize.background, undefined, "only contain has bars");
  });
});

describe("planning without the source's header", () => {
  const sources = [
    { format: "jpeg" as const, width: 1920, height: 1080, hasAlpha: false },
    { format: "png" as const, width: 50, height: 4000, hasAlpha: true },
    { format: "gif" as const, width: 1, height: 1, hasAlpha: true },
  ];

  it("plans a box with a format exactly as the header would, for any source", () => {
    let compared = 0;
    for (const fit of [undefined, "cover", "fill", "contain"] as const) {
      for (const format of ["jpeg", "png", "webp", "avif"] as const) {
        for (const t of [{ w: 320, h: 180, fit }, { w: 320, h: 180, fit, q: 40, enlarge: true, position: "north" as const }]) {
          const withoutHeader = planWithoutHeader(t, one(format), S);
          if (fit === "contain" && format !== "jpeg") {
            assert.equal(withoutHeader, undefined, "transparent or white bars depend on the source");
            continue;
          }
          // The same work; only the memory estimate differs (the header tells the source's size).
          const { workingSet: _w, estimatedBytes: _e, ...same } = withoutHeader!;
          for (const source of sources) {
            const { workingSet: _ws, estimatedBytes, ...planned } = planTransform(source, t, one(format), S);
            assert.deepEqual(same, planned, `${fit} ${format}`);
            assert.ok(estimatedBytes <= withoutHeader!.estimatedBytes, "without the header the estimate assumes the largest source");
          }
          compared++;
        }
      }
    }
    assert.equal(compared, 26);
  });

  it("needs the header for one side, inside/outside, or a format that follows the source", () => {
    assert.equal(planWithoutHeader({ w: 320 }, one("jpeg"), S), undefined);
    assert.equal(planWithoutHeader({ h: 320 }, one("webp"), S), undefined);
    assert.equal(planWithoutHeader({ w: 320, h: 180, fit: "inside" }, one("jpeg"), S), undefined);
    assert.equal(planWithoutHeader({ w: 320, h: 180, fit: "outside" }, one("jpeg"), S), undefined);
    assert.equal(planWithoutHeader({ w: 320, h: 180, position: "attention" }, one("jpeg"), S), undefined, "a saliency crop's memory depends on the source");
    assert.equal(planWithoutHeader({ w: 320, h: 180 }, requestedOutputs(undefined, "image/webp"), S), undefined);
    assert.equal(planWithoutHeader({ w: 320, h: 180 }, requestedOutputs("auto", "image/webp"), S)?.format, "webp");
  });

  it("still refuses a box over maxOutputDimension", () => {
    assert.throws(
      () => planWithoutHeader({ w: 5000, h: 10 }, one("jpeg"), S),
      (e: unknown) => e instanceof ResizeError && e.code === "output_too_large",
    );
  });

});

describe("admission by count and by memory", () => {
  const never = new AbortController().signal;
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { open, opened };
  };
  const small = { bytes: 1 };

  it("runs up to `slots` at once, queues up to `maxQueue`, refuses the rest with 503", async () => {
    const admission = new Admission(2, 1, 100);
    const g = gate();
    let running = 0, peak = 0;
    const task = async () => {
      running++;
      peak = Math.max(peak, running);
      await g.opened;
      running--;
      return "done";
    };
    const accepted = [admission.run(small, task, never), admission.run(small, task, never), admission.run(small, task, never)];
    await assert.rejects(admission.run(small, task, never), (e: unknown) => e instanceof ResizeError && e.status === 503 && e.retryAfter === 1);
    assert.deepEqual([admission.active, admission.queued], [2, 1]);
    g.open();
    assert.deepEqual(await Promise.all(accepted), ["done", "done", "done"]);
    assert.equal(peak, 2);
    assert.deepEqual([admission.active, admission.queued, admission.admittedBytes], [0, 0, 0]);
  });

  it("admits only while the estimates fit the budget, first come first served", async () => {
    const admission = new Admission(4, 10, 100);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const job = (name: string, bytes: number) => {
      const g = gate();
      gates.set(name, g);
      return admission.run({ bytes }, async () => (started.push(name), g.opened), never);
    };
    const a = job("a", 60), b = job("b", 50), c = job("c", 10);
    await Promise.resolve();
    // b does not fit beside a; c would, but does not overtake b.
    assert.deepEqual([started, admission.queued, admission.admittedBytes], [["a"], 2, 60]);
    gates.get("a")!.open();
    await a;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ["a", "b", "c"]);
    assert.equal(admission.admittedBytes, 60);
    gates.get("b")!.open();
    gates.get("c")!.open();
    await Promise.all([b, c]);
    assert.equal(admission.admittedBytes, 0);
  });

  it("refuses at once, with 400 naming the budget, work that alone needs more than the budget", async () => {
    const admission = new Admission(2, 5, 100 * 2 ** 20);
    await assert.rejects(
      admission.run({ bytes: 300 * 2 ** 20, what: "this storyboard sheet" }, async () => "never", never),
      (e: unknown) => e instanceof ResizeError && e.status === 400 && e.code === "over_memory_budget" &&
        /this storyboard sheet needs about 300 MiB.*budget of 100 MiB.*RESIZER_MEMORY_BUDGET_MB/.test(e.message),
    );
    assert.deepEqual([admission.active, admission.queued], [0, 0]);
  });

  it("drops a waiter whose signal aborts, and keeps a running task's slot and bytes until it settles", async () => {
    const admission = new Admission(1, 5, 100);
    const g = gate();
    const running = admission.run({ bytes: 40 }, () => g.opened, never);
    const abort = new AbortController();
    const waiting = admission.run(small, async () => "never", abort.signal);
    abort.abort();
    await assert.rejects(waiting, (e: unknown) => e instanceof ResizeError && e.code === "timeout");
    assert.deepEqual([admission.active, admission.queued, admission.admittedBytes], [1, 0, 40]);
    g.open();
    await running;
    assert.deepEqual([admission.active, admission.admittedBytes], [0, 0]);
  });

  it("a waiter that leaves unblocks the ones behind it", async () => {
    const admission = new Admission(3, 5, 100);
    const g = gate();
    const running = admission.run({ bytes: 50 }, () => g.opened, never);
    const abort = new AbortController();
    const big = admission.run({ bytes: 80 }, async () => "big", abort.signal);
    const little = admission.run({ bytes: 30 }, async () => "little", never);
    abort.abort();
    await assert.rejects(big);
    assert.equal(await little, "little");
    g.open();
    await running;
  });

  it("frees the slot when a task fails", async () => {
    const admission = new Admission(1, 0, 100);
    await assert.rejects(admission.run(small, () => Promise.reject(new Error("boom")), never));
    assert.equal(await admission.run(small, async () => 7, never), 7);
  });
});

describe("single flights", () => {
  const never = new AbortController().signal;
  /** Nothing kept after a transform ends: the flight alone. */
  const noLinger = <T>() => new Flights<T>({ lingerMs: 0, lingerBytes: 0, sizeOf: () => 1 });
  const gate = <T>() => {
    let open!: (value: T) => void;
    let fail!: (error: unknown) => void;
    const opened = new Promise<T>((resolve, reject) => ((open = resolve), (fail = reject)));
    return { open, fail, opened };
  };

  it("identical keys in flight share one run and its result; other keys run on their own", async () => {
    const flights = noLinger<Buffer>();
    const g = gate<Buffer>();
    const runs: string[] = [];
    const work = (key: string) => () => (runs.push(key), key === "a" ? g.opened : Promise.resolve(Buffer.from(key)));
    const a = [flights.run("a", never, work("a")), flights.run("a", never, work("a")), flights.run("a", never, work("a"))];
    const b = await flights.run("b", never, work("b"));
    assert.equal(flights.size, 1, "b is gone once settled; a is still running");
    const bytes = Buffer.from("resized");
    g.open(bytes);
    const answers = await Promise.all(a);
    assert.deepEqual(runs, ["a", "b"]);
    assert.deepEqual(answers.map((r) => r.shared), [false, true, true]);
    assert.ok(answers.every((r) => r.value === bytes), "the same buffer, not copies");
    assert.equal(b.value.toString(), "b");
    assert.equal(flights.size, 0);
  });

  it("a failure answers every waiter with the same error, and the next request runs again", async () => {
    const flights = noLinger<string>();
    const g = gate<string>();
    let runs = 0;
    const work = () => (runs++, g.opened);
    const waiting = [flights.run("k", never, work), flights.run("k", never, work)];
    const broken = new ResizeError("not_an_image", "the source is not a supported image");
    g.fail(broken);
    for (const w of waiting) await assert.rejects(w, (e: unknown) => e === broken);
    assert.equal((await flights.run("k", never, async () => (runs++, "fresh"))).value, "fresh");
    assert.equal(runs, 2);
  });

  it("a waiter that gives up gets its own reason; the run goes on for the others", async () => {
    const flights = noLinger<string>();
    const g = gate<string>();
    let runSignal: AbortSignal | undefined;
    const work = (signal: AbortSignal) => ((runSignal = signal), g.opened);
    const leaving = new AbortController();
    const first = flights.run("k", leaving.signal, work);
    const second = flights.run("k", never, work);
    const gone = new ResizeError("timeout", "client went away");
    leaving.abort(gone);
    await assert.rejects(first, (e: unknown) => e === gone);
    assert.equal(runSignal?.aborted, false, "someone still waits");
    g.open("done");
    assert.deepEqual(await second, { value: "done", shared: true });
  });

  it("when every waiter has gone the run is told to stop, and a new request starts afresh", async () => {
    const flights = noLinger<string>();
    const g = gate<string>();
    let runSignal: AbortSignal | undefined;
    const a = new AbortController();
    const b = new AbortController();
    const first = flights.run("k", a.signal, (signal) => ((runSignal = signal), g.opened));
    const second = flights.run("k", b.signal, () => Promise.resolve("unused"));
    a.abort(new ResizeError("timeout", "client went away"));
    await assert.rejects(first);
    assert.equal(runSignal?.aborted, false);
    b.abort(new ResizeError("timeout", "the request took too long"));
    await assert.rejects(second);
    assert.equal(runSignal?.aborted, true, "nobody is left to answer");
    assert.equal(flights.size, 0);
    assert.deepEqual(await flights.run("k", never, async () => "again"), { value: "again", shared: false });
    g.open("too late"); // the abandoned run settling later changes nothing
    await new Promise((r) => setImmediate(r));
    assert.equal(flights.size, 0);
  });
});

describe("single flights: results kept a moment after the transform", () => {
  const never = new AbortController().signal;
  const clock = () => {
    let t = 0;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it("a request just after the transform ended gets its result; after lingerMs it runs again", async () => {
    const c = clock();
    const flights = new Flights<string>({ lingerMs: 1000, lingerBytes: 100, sizeOf: (v) => v.length, now: c.now });
    let runs = 0;
    const work = async () => `bytes-${++runs}`;
    assert.deepEqual(await flights.run("k", never, work), { value: "bytes-1", shared: false });
    c.advance(999);
    assert.deepEqual(await flights.run("k", never, work), { value: "bytes-1", shared: true }, "late in the burst: shared");
    c.advance(1);
    assert.deepEqual(await flights.run("k", never, work), { value: "bytes-2", shared: false }, "after lingerMs: the master's cache answers such requests");
    assert.equal(runs, 2);
  });

  it("keeps at most lingerBytes, dropping the oldest first; a result larger than that is not kept", async () => {
    const flights = new Flights<string>({ lingerMs: 1000, lingerBytes: 10, sizeOf: (v) => v.length, now: () => 0 });
    let runs = 0;
    const work = (v: string) => async () => (runs++, v);
    await flights.run("a", never, work("aaaa"));
    await flights.run("b", never, work("bbbb"));
    await flights.run("c", never, work("cccc")); // 12 bytes: "a" goes
    assert.equal(flights.keptBytes, 8);
    await flights.run("big", never, work("x".repeat(11)));
    assert.equal(flights.keptBytes, 8);
    runs = 0;
    assert.equal((await flights.run("c", never, work("cccc"))).shared, true, "c is still kept");
    await flights.run("a", never, work("aaaa"));
    await flights.run("big", never, work("x".repeat(11)));
    assert.equal(runs, 2, "a (dropped) and big (never kept) ran again");
  });

  it("a failure is never kept: the next request tries again", async () => {
    const flights = new Flights<string>({ lingerMs: 1000, lingerBytes: 100, sizeOf: (v) => v.length, now: () => 0 });
    await assert.rejects(flights.run("k", never, async () => Promise.reject(new ResizeError("busy", "saturated"))));
    assert.deepEqual(await flights.run("k", never, async () => "ok"), { value: "ok", shared: false });
  });
});

describe("validators", () => {
  const inputs = { src: "a.jpg", mtimeNs: "1", size: 10, canonical: "src=a.jpg&w=1", variant: undefined, engine: "e" };
  it("changes the ETag with every input that changes the bytes", () => {
    const base = strongEtag(inputs);
    assert.match(base, /^"[A-Za-z0-9_-]{32}"$/);
    for (const change of [{ src: "b.jpg" }, { mtimeNs: "2" }, { size: 11 }, { canonical: "src=a.jpg&w=2" }, { variant: "webp" }, { engine: "f" }]) {
      assert.notEqual(strongEtag({ ...inputs, ...change }), base, JSON.stringify(change));
    }
    assert.equal(strongEtag({ ...inputs }), base);
  });

  it("evaluates If-None-Match before If-Modified-Since", () => {
    const etag = '"abc"';
    const mtime = Date.parse("2026-01-01T00:00:00.500Z");
    assert.equal(notModified({ "if-none-match": '"x", W/"abc"' }, etag, mtime), true);
    assert.equal(notModified({ "if-none-match": '"x"', "if-modified-since": "Thu, 01 Jan 2026 00:00:00 GMT" }, etag, mtime), false);
    assert.equal(notModified({ "if-modified-since": "Thu, 01 Jan 2026 00:00:00 GMT" }, etag, mtime), true);
    assert.equal(notModified({ "if-modified-since": "Wed, 31 Dec 2025 23:59:59 GMT" }, etag, mtime), false);
    assert.equal(notModified({ "if-modified-since": "garbage" }, etag, mtime), false);
    assert.equal(notModified({}, etag, mtime), false);
  });
});

describe("settings contract (toEnv -> fromEnv)", () => {
  it("round-trips every setting through the environment", () => {
    const settings = serviceSchema.parse({
      concurrency: 3, queue: 7, timeoutMs: 2500, presetsOnly: true, allowVector: true, vipsThreads: 1,
      cacheControl: "public, max-age=3600", errorCacheControl: "no-store", clientTimeoutMs: 4000,
      presets: { thumb_320x180: { w: 320, h: 180, fmt: "auto" } },
      storyboard: { intervals: { "news-daily": 2.5 }, maxSheets: 60, defaults: { w: 128, h: 72 } },
    });
    const env = toEnv(settings, { host: "0.0.0.0", port: 9001, root: "/images" });
    assert.deepEqual(Object.keys(env).filter((k) => k.startsWith("RESIZER_")).sort(), [
      "RESIZER_HOST", "RESIZER_PORT", "RESIZER_ROOT", ...Object.values(ENV_NAMES),
    ].sort());
    assert.deepEqual(fromEnv(env), { ...settings, host: "0.0.0.0", port: 9001, root: "/images", signingKeys: [] });
  });

  it("uses documented defaults when nothing is set", () => {
    const s = fromEnv({});
    assert.deepEqual([s.host, s.port, s.root, s.concurrency, s.queue, s.timeoutMs], ["127.0.0.1", 9000, "/images", 2, 64, 10_000]);
  });

  it("lists every bad variable by name", () => {
    assert.throws(
      () => fromEnv({ RESIZER_CONCURRENCY: "lots", RESIZER_QUEUE: "-1", RESIZER_PRESETS_ONLY: "maybe", RESIZER_ROOT: "images" }),
      (e: unknown) => {
        const text = String(e);
        return ["RESIZER_CONCURRENCY", "RESIZER_QUEUE", "RESIZER_PRESETS_ONLY", "RESIZER_ROOT"].every((n) => text.includes(n));
      },
    );
  });

  it("refuses a preset larger than maxOutputDimension at start", () => {
    assert.throws(
      () => fromEnv({ RESIZER_MAX_OUTPUT_DIMENSION: "1000", RESIZER_PRESETS: '{"big":{"w":2000}}' }),
      /RESIZER_PRESETS: presets\.big\.w: 2000 exceeds maxOutputDimension/,
    );
  });

  it("reads RESIZER_STORYBOARD as JSON and names it in every storyboard problem", () => {
    assert.deepEqual(fromEnv({ RESIZER_STORYBOARD: '{"intervals":{"news-daily":5}}' }).storyboard.intervals, { "news-daily": 5 });
    assert.throws(() => fromEnv({ RESIZER_STORYBOARD: '{"defaults":{"w":700}}' }), /RESIZER_STORYBOARD: storyboard\.defaults\.w: 700 exceeds maxTileDimension \(640\)/);
    assert.throws(() => fromEnv({ RESIZER_STORYBOARD: '{"maxSheets":0}' }), /RESIZER_STORYBOARD\.maxSheets: /);
    assert.throws(() => fromEnv({ RESIZER_STORYBOARD: "{maxSheets: 5}" }), /RESIZER_STORYBOARD: cannot parse/);
  });
});
