// The storyboard service's handler on a generated stills tree: real files, real sharp,
// the resizer's admission; the handler is called directly (its HTTP routes: http.test.ts, e2e/storyboard.test.ts).
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { configureEngine, render } from "../../resizer/src/engine.js";
import { ResizeError } from "../../resizer/src/errors.js";
import { Admission } from "../../resizer/src/admission.js";
import { planWithoutHeader } from "../../resizer/src/plan.js";
import { serviceSchema } from "../../resizer/src/settings.js";
import { openSource, realRoot } from "../../resizer/src/source.js";
import { composeSheet, planSheet } from "../../resizer/src/storyboard/compose.js";
import { createStoryboardService, type StoryboardReply, type StoryboardService } from "../../resizer/src/storyboard/service.js";
import { storyboardSchema } from "../../resizer/src/storyboard/settings.js";
import { range, still, writeEmptyStills, writeStills } from "../helpers/stills.js";

const resizer = serviceSchema.parse({});
let dir: string;
let root: string;
let stills: Map<number, Buffer>;
let stills43: Map<number, Buffer>;
let service: StoryboardService;

const episodeDir = (programme: string, episode: string) => path.join(root, "stillshot", programme, episode);

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "storyboard-test-"));
  root = path.join(dir, "images");
  const outside = path.join(dir, "outside");
  stills = await writeStills(episodeDir("drama", "E001"), range(1, 13));
  await writeStills(episodeDir("drama", "MUT"), range(1, 13));
  await writeStills(episodeDir("drama", "GAP"), [1, 2, 3, 4, 5, 6, 8, 9], { width: 320, height: 180 });
  await writeStills(episodeDir("drama", "ZERO"), [0, 1, 2], { width: 320, height: 180 });
  await writeStills(episodeDir("news", "E001"), range(1, 3), { width: 320, height: 180 });
  stills43 = await writeStills(episodeDir("classic", "SD01"), range(1, 4), { width: 960, height: 720 }); // 4:3
  await mkdir(episodeDir("drama", "EMPTY"), { recursive: true });
  await writeFile(path.join(episodeDir("drama", "EMPTY"), "poster.jpg"), stills.get(1)!);
  // Not images at all: the track needs none of them decoded, a sheet does.
  await writeStills(episodeDir("drama", "BROKEN"), [1], { width: 320, height: 180 });
  await writeFile(path.join(episodeDir("drama", "BROKEN"), "02.jpg"), "this is not a JPEG\n");
  writeEmptyStills(episodeDir("drama", "HUGE"), 100_000);
  // Ways out of the images root.
  await writeStills(path.join(outside, "secret-episode"), [1, 2], { width: 320, height: 180 });
  await symlink(path.join(outside, "secret-episode"), episodeDir("drama", "ESCAPE"));
  await writeStills(episodeDir("drama", "LINKED"), [1], { width: 320, height: 180 });
  await symlink(path.join(outside, "secret-episode", "02.jpg"), path.join(episodeDir("drama", "LINKED"), "02.jpg"));
  await writeFile(path.join(root, "stillshot", "drama", "FILE"), "a file where an episode directory would be");

  configureEngine(resizer);
  service = createStoryboardService({
    root: await realRoot(root),
    storyboard: storyboardSchema.parse({ intervals: { news: 2.5 } }),
    resizer,
    admission: new Admission(resizer.concurrency, resizer.queue, 2 ** 40),
  });
});
after(() => rm(dir, { recursive: true, force: true }));

const get = (target: string, headers: Record<string, string> = {}, svc = service): Promise<StoryboardReply> =>
  svc.handle(target, headers, new AbortController().signal);

/** The ResizeError a request is refused with. */
async function refusal(target: string, headers: Record<string, string> = {}): Promise<ResizeError> {
  try {
    const reply = await get(target, headers);
    assert.fail(`${target} answered ${reply.status}`);
  } catch (e) {
    assert.ok(e instanceof ResizeError, `${target}: expected a ResizeError, got ${String(e)}`);
    return e;
  }
}

async function refused(target: string, status: number, message: RegExp): Promise<void> {
  const e = await refusal(target);
  assert.equal(e.status, status, `${target}: ${e.code} ${e.message}`);
  assert.match(e.message, message, target);
}

const GRID_4X3 = "w=160&h=90&cols=4&rows=3";
const track = (episode: string, query = `${GRID_4X3}&every=10`) => `/storyboard/drama/${episode}.vtt?${query}`;
const sheet = (episode: string, n: number, query = GRID_4X3, ext = "jpg") => `/storyboard/drama/${episode}/sprite-${n}.${ext}?${query}`;

/** Raw RGB of an encoded image, or of one region of it. */
async function pixels(image: Buffer, region?: { left: number; top: number; width: number; height: number }): Promise<Buffer> {
  let s = sharp(image);
  if (region !== undefined) s = s.extract(region);
  return s.removeAlpha().toColourspace("srgb").raw().toBuffer();
}

function meanDifference(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** The still resized alone, exactly as the resizer's /resize would (cover, PNG: lossless). */
async function resizedAlone(source: Buffer, w = 160, h = 90): Promise<Buffer> {
  const plan = planWithoutHeader({ w, h, fmt: "png" }, ["png"], { ...serviceSchema.parse({}), budgetBytes: 2 ** 40 })!;
  const { data } = await render(source, plan, { maxInputPixels: 50_000_000 });
  return pixels(data);
}

/**
 * Asserts the tile at (x, y) holds still `n` of `from` (and not its neighbour, so the
 * tolerance means something).
 */
async function assertTile(sheetBytes: Buffer, x: number, y: number, n: number, from = stills): Promise<void> {
  const tile = await pixels(sheetBytes, { left: x, top: y, width: 160, height: 90 });
  const own = meanDifference(tile, await resizedAlone(from.get(n)!));
  assert.ok(own < 4, `tile at ${x},${y} differs from still ${n} by ${own.toFixed(2)} on average`);
  const other = n === 1 ? 2 : n - 1;
  const wrong = meanDifference(tile, await resizedAlone(from.get(other)!));
  assert.ok(wrong > 20, `tile at ${x},${y} is too close to still ${other} (${wrong.toFixed(2)}): the comparison proves nothing`);
}

describe("the track", () => {
  it("is text/vtt with one cue per still, whose sheets exist and hold each #xywh region", async () => {
    const target = track("E001", `${GRID_4X3}&every=2.5`);
    const reply = await get(target);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["Content-Type"], "text/vtt; charset=utf-8");
    assert.equal(reply.headers["Access-Control-Allow-Origin"], "*");
    assert.match(reply.headers.ETag!, /^"[A-Za-z0-9_-]{32}"$/);
    const text = reply.body.toString("utf8");
    const cues = [...text.matchAll(/^(\S+) --> (\S+)\n(\S+)$/gm)];
    assert.equal(cues.length, 13);
    assert.deepEqual([cues[12]![1], cues[12]![2]], ["00:30.000", "00:32.500"]);
    const sizes = new Map<string, { width: number; height: number }>();
    for (const [, , , payload] of cues) {
      const url = new URL(payload!, `http://origin.test${target}`);
      const [x, y, w, h] = url.hash.replace("#xywh=", "").split(",").map(Number) as [number, number, number, number];
      const sheetTarget = url.pathname + url.search;
      if (!sizes.has(sheetTarget)) {
        const sheetReply = await get(sheetTarget);
        assert.equal(sheetReply.status, 200, sheetTarget);
        const meta = await sharp(sheetReply.body).metadata();
        sizes.set(sheetTarget, { width: meta.width, height: meta.height });
      }
      const size = sizes.get(sheetTarget)!;
      assert.ok(x + w <= size.width && y + h <= size.height, `${payload} inside ${size.width}x${size.height}`);
    }
    assert.deepEqual([...sizes.values()], [{ width: 640, height: 270 }, { width: 160, height: 90 }]);
  });

  it("is built without decoding a still: an episode whose files are not images still has one", async () => {
    const reply = await get(track("BROKEN"));
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString().split("-->").length - 1, 2);
    await refused(sheet("BROKEN", 0), 422, /^still 2: /);
  });

  it("accepts stills numbered from 0", async () => {
    const reply = await get(track("ZERO"));
    assert.deepEqual(reply.body.toString().match(/^\S+ --> \S+$/gm), ["00:00.000 --> 00:10.000", "00:10.000 --> 00:20.000", "00:20.000 --> 00:30.000"]);
  });

  it("redirects other spellings to the canonical URL, the interval from the programme's setting", async () => {
    const reply = await get("/storyboard/drama/E001.vtt?cols=4&rows=3");
    assert.equal(reply.status, 301);
    assert.equal(reply.headers.Location, "/storyboard/drama/E001.vtt?w=160&h=90&cols=4&rows=3&every=10");
    assert.equal((await get(reply.headers.Location!)).status, 200);
    assert.equal((await get("/storyboard/news/E001.vtt")).headers.Location, "/storyboard/news/E001.vtt?w=160&h=90&cols=10&rows=10&every=2.5");
  });

  it("answers 304 to its ETag", async () => {
    const first = await get(track("E001"));
    const again = await get(track("E001"), { "if-none-match": first.headers.ETag! });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.ETag, first.headers.ETag);
  });
});

describe("sheets", () => {
  it("hold each still in its tile, as the resizer resizes it alone", async () => {
    const reply = await get(sheet("E001", 0));
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["Content-Type"], "image/jpeg");
    assert.equal(reply.headers.Vary, undefined);
    const meta = await sharp(reply.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.space], ["jpeg", 640, 270, "srgb"]);
    for (let k = 0; k < 12; k++) await assertTile(reply.body, (k % 4) * 160, Math.floor(k / 4) * 90, k + 1);
  });

  it("crop stills of another aspect (4:3) to the tile's centre, as the resizer does", async () => {
    const reply = await get("/storyboard/classic/SD01/sprite-0.jpg?w=160&h=90&cols=2&rows=2");
    for (let k = 0; k < 4; k++) await assertTile(reply.body, (k % 2) * 160, Math.floor(k / 2) * 90, k + 1, stills43);
  });

  it("cut the last sheet to the rows and columns it uses, empty cells black", async () => {
    const last = await get(sheet("E001", 1)); // still 13 alone
    assert.deepEqual(await sharp(last.body).metadata().then((m) => [m.width, m.height]), [160, 90]);
    await assertTile(last.body, 0, 0, 13);

    const three = await get(sheet("E001", 1, "w=160&h=90&cols=5&rows=2")); // stills 11..13
    assert.deepEqual(await sharp(three.body).metadata().then((m) => [m.width, m.height]), [480, 90]);
    await assertTile(three.body, 320, 0, 13);

    const wide = await get(sheet("E001", 0, "w=160&h=90&cols=10&rows=10")); // 13 stills: one row and 3 tiles
    assert.deepEqual(await sharp(wide.body).metadata().then((m) => [m.width, m.height]), [1600, 180]);
    await assertTile(wide.body, 160 * 2, 90, 13);
    const empty = await pixels(wide.body, { left: 160 * 3 + 8, top: 98, width: 160 * 7 - 16, height: 74 });
    assert.ok(empty.every((v) => v < 24), "unused cells are black");
    assert.ok(wide.estimatedBytes! > three.estimatedBytes!, "a larger canvas is estimated larger");
  });

  it("say which sheets exist", async () => {
    await refused(sheet("E001", 2), 404, /^sheet 2 does not exist: this grid gives the episode 2 sheets \(0 to 1\)$/);
  });

  it("follow Accept with fmt=auto (Vary: Accept), else their extension", async () => {
    const auto = sheet("E001", 1, `${GRID_4X3}&fmt=auto`);
    const cases: [Record<string, string>, string, string][] = [
      [{ accept: "image/avif,image/webp,image/*,*/*;q=0.8" }, "image/avif", "heif"],
      [{ accept: "image/webp,*/*" }, "image/webp", "webp"],
      [{ accept: "*/*" }, "image/jpeg", "jpeg"],
      [{}, "image/jpeg", "jpeg"],
    ];
    const etags = new Set<string>();
    for (const [headers, type, format] of cases) {
      const reply = await get(auto, headers);
      assert.equal(reply.headers["Content-Type"], type, JSON.stringify(headers));
      assert.equal(reply.headers.Vary, "Accept");
      assert.equal((await sharp(reply.body).metadata()).format, format);
      await assertTile(reply.body, 0, 0, 13);
      etags.add(reply.headers.ETag!);
    }
    assert.equal(etags.size, 3, "one ETag per negotiated format");
    const webp = await get(sheet("E001", 1, GRID_4X3, "webp"), { accept: "image/avif" });
    assert.deepEqual([webp.headers["Content-Type"], webp.headers.Vary], ["image/webp", undefined]);
  });

  it("answer 304 to their ETag, and change it when one of their stills is re-encoded, not the other sheets'", async () => {
    const [s0, s1, t] = await Promise.all([get(sheet("MUT", 0)), get(sheet("MUT", 1)), get(track("MUT"))]);
    assert.equal((await get(sheet("MUT", 0), { "if-none-match": s0.headers.ETag! })).status, 304);
    // Still 13 re-encoded, with an mtime in the past: the ETag follows the file, not the clock.
    const file = path.join(episodeDir("drama", "MUT"), "13.jpg");
    await writeFile(file, await still(99, 1280, 720).jpeg({ quality: 90 }).toBuffer());
    await utimes(file, new Date("2020-01-01"), new Date("2020-01-01"));
    const [s0b, s1b, tb] = await Promise.all([get(sheet("MUT", 0)), get(sheet("MUT", 1)), get(track("MUT"))]);
    assert.equal(s0b.headers.ETag, s0.headers.ETag, "sheet 0 does not hold still 13");
    assert.notEqual(s1b.headers.ETag, s1.headers.ETag);
    assert.notEqual(tb.headers.ETag, t.headers.ETag);
    assert.equal((await get(sheet("MUT", 1), { "if-none-match": s1.headers.ETag! })).status, 200);
    // A still added with an old mtime: the track changes, and If-Modified-Since sees it.
    const before = await get(track("MUT"));
    await new Promise((r) => setTimeout(r, 1100)); // Last-Modified has one-second resolution
    await writeFile(path.join(episodeDir("drama", "MUT"), "14.jpg"), stills.get(1)!);
    await utimes(path.join(episodeDir("drama", "MUT"), "14.jpg"), new Date("2020-01-01"), new Date("2020-01-01"));
    const added = await get(track("MUT"), { "if-modified-since": before.headers["Last-Modified"]! });
    assert.equal(added.status, 200);
    assert.notEqual(added.headers.ETag, before.headers.ETag);
    assert.equal(added.body.toString().split("-->").length - 1, 14);
  });

  it("refuse with 503 + Retry-After a still that changed between its listing (the ETag) and its decoding", async () => {
    const plan = planSheet(0, 2, { w: 160, h: 90, cols: 2, rows: 1 }, "jpeg", 2);
    const dirOf = episodeDir("drama", "E001");
    const listed = await Promise.all(
      ["01.jpg", "02.jpg"].map(async (name, i) => {
        const s = await stat(path.join(dirOf, name), { bigint: true });
        return { name, number: i + 1, size: Number(s.size), mtimeMs: Number(s.mtimeMs), mtimeNs: s.mtimeNs.toString() };
      }),
    );
    const options = {
      open: (f: { name: string }) => openSource(root, `stillshot/drama/E001/${f.name}`, resizer.maxInputBytes),
      maxInputPixels: resizer.maxInputPixels,
      seconds: 5,
      signal: new AbortController().signal,
    };
    assert.ok((await composeSheet(plan, listed, options)).length > 0);
    const stale = [listed[0]!, { ...listed[1]!, mtimeNs: "1" }];
    await assert.rejects(composeSheet(plan, stale, options), (e: unknown) => {
      assert.ok(e instanceof ResizeError);
      assert.deepEqual([e.status, e.code, e.retryAfter, e.message], [503, "source_changed", 1, "still 2 changed while its sheet was made"]);
      return true;
    });
  });

  it("take an admission slot: with every slot taken and the queue full, 503 + Retry-After", async () => {
    const admission = new Admission(1, 0, 2 ** 40);
    const busy = createStoryboardService({ root: await realRoot(root), storyboard: storyboardSchema.parse({}), resizer, admission });
    let release!: () => void;
    const holding = admission.run({ bytes: 1 }, () => new Promise<void>((r) => (release = r)), new AbortController().signal);
    try {
      await assert.rejects(get(sheet("E001", 1), {}, busy), (e: unknown) => e instanceof ResizeError && e.status === 503 && e.retryAfter === 1);
      assert.equal((await get(track("E001"), {}, busy)).status, 200, "a track decodes nothing and needs no slot");
    } finally {
      release();
      await holding;
    }
    assert.equal((await get(sheet("E001", 1), {}, busy)).status, 200);
  });
});

describe("hostile requests", () => {
  it("path traversal in programme or episode: 400 before any file is touched", async () => {
    await refused("/storyboard/%2e%2e/E001.vtt", 400, /^programme: /);
    await refused("/storyboard/drama/..%2F..%2F..%2Fetc%2Fpasswd.vtt", 400, /^episode: /);
    await refused("/storyboard/drama/%2e%2e/sprite-0.jpg", 400, /^episode: /);
    await refused("/storyboard/..%5C..%5Cetc/E001.vtt", 400, /^programme: /);
  });

  it("an episode directory, or a still, leading out of the root by symlink: 404, never its pixels", async () => {
    await refused(track("ESCAPE"), 404, /^no such episode$/);
    await refused(sheet("ESCAPE", 0), 404, /^no such episode$/);
    await refused(sheet("LINKED", 0), 404, /^still 2: no such source image$/);
  });

  it("huge cols, rows, every or sheet numbers: 400", async () => {
    await refused(track("E001", "w=160&h=90&cols=1000&rows=1000&every=10"), 400, /^cols: /);
    await refused(track("E001", "w=160&h=90&cols=10&rows=11&every=10"), 400, /^cols: cols × rows is 110; a sheet holds at most 100 stills$/);
    await refused(track("E001", "w=160&h=90&cols=10&rows=10&every=1000000"), 400, /^every: /);
    await refused(sheet("E001", 123456), 400, /^sheet: /);
  });

  it("an episode of 100,000 stills: 413 from the listing, before a single still is decoded", async () => {
    // Every file is empty: decoding any of them would answer 422, not 413.
    await refused(track("HUGE", "w=160&h=90&cols=10&rows=10&every=10"), 413, /^the episode has more than 10000 stills: at most 100 sheets of 10x10$/);
    await refused(sheet("HUGE", 0, "w=160&h=90&cols=10&rows=10"), 413, /more than 10000 stills/);
    await refused(sheet("HUGE", 0, "w=160&h=90&cols=1&rows=1"), 413, /^the episode has more than 100 stills: at most 100 sheets of 1x1$/);
  });

  it("a gap in the numbering: 404 naming the missing still, for the track and its sheets", async () => {
    const e = await refusal(track("GAP"));
    assert.deepEqual([e.status, e.code, e.message], [404, "still_numbering", "still 7 is missing between 1 and 9"]);
    await refused(sheet("GAP", 0), 404, /^still 7 is missing/);
  });

  it("no stills, no episode, or a file in its place: 404", async () => {
    await refused(track("EMPTY"), 404, /^the episode has no stills$/);
    await refused(sheet("EMPTY", 0), 404, /^the episode has no stills$/);
    await refused(track("NOPE"), 404, /^no such episode$/);
    await refused(track("FILE"), 404, /^no such episode$/);
    await refused("/storyboard/nope/E001.vtt?w=160&h=90&cols=10&rows=10&every=10", 404, /^no such episode$/);
  });
});
