// Storyboards through the master of a local cluster (the launcher `npm start` uses): the
// cached locations from the route table (200s stored per Accept variant; redirects and
// not-found answers never stored), the stillshot domain's 400, hostile URLs refused with a
// 4xx, and a real player: headless Chromium loads the track into a <track> on a page the
// cluster serves, reads the cues through the TextTrack API, fetches each cue's sheet and
// sends back the pixels of its #xywh region, which must be the still resized alone.
import assert from "node:assert/strict";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { render } from "../../resizer/src/engine.js";
import { planWithoutHeader } from "../../resizer/src/plan.js";
import { serviceSchema } from "../../resizer/src/settings.js";
import { openPage, reportSink } from "../helpers/chromium.js";
import { get, localSpec, startE2E, type E2E } from "../helpers/e2e.js";
import { range, writeEmptyStills, writeStills } from "../helpers/stills.js";

const GRID = "w=160&h=90&cols=4&rows=3";
/** 13 stills: a full 4x3 sheet and a last one holding one still. */
const STILLS = 13;

let e2e: E2E;
let stills: Map<number, Buffer>;
let images: string;

before(async () => {
  const spec = localSpec();
  // Store every status, as an operator may (prod stores 404s): the storyboard locations
  // must still keep their redirects and not-found answers out of the cache.
  spec.cache.valid = [{ statuses: "any", time: "10m" }];
  e2e = await startE2E("storyboard", { spec });
  images = join(e2e.treeDir, "images");
  stills = await writeStills(join(images, "stillshot", "chromium", "E001"), range(1, STILLS), { width: 1280, height: 720 });
  await writeStills(join(images, "stillshot", "drama", "GAP"), [1, 2, 4], { width: 320, height: 180 });
  mkdirSync(join(images, "stillshot", "drama", "EMPTY"), { recursive: true });
  writeEmptyStills(join(images, "stillshot", "drama", "HUGE"), 100_000);
});
after(() => e2e?.close());

const stillshot = () => e2e.stillshot.serverNames[0]!;
const track = (programme: string, episode: string, extra = "") => `/storyboard/${programme}/${episode}.vtt?${GRID}&every=2.5${extra}`;
const sheet = (programme: string, episode: string, n: number, extra = "") => `/storyboard/${programme}/${episode}/sprite-${n}.jpg?${GRID}${extra}`;

describe("storyboards through the master", () => {
  it("a track and its sheets are cached: MISS, then HIT with the same bytes, on either domain", async () => {
    for (const path of [track("chromium", "E001"), sheet("chromium", "E001", 0)]) {
      const first = await get(e2e, path);
      assert.equal(first.status, 200, `${path}: ${first.body.toString().slice(0, 200)}`);
      assert.equal(first.headers["x-cache-status"], "MISS", path);
      assert.equal(first.headers["access-control-allow-origin"], "*");
      const second = await get(e2e, path, { host: stillshot() });
      assert.equal(second.headers["x-cache-status"], "HIT", `${path}: one entry for both domains`);
      assert.deepEqual(second.body, first.body);
    }
  });

  it("fmt=auto sheets: one cached entry per Accept variant, each served only to clients that accept it", async () => {
    const path = sheet("chromium", "E001", 1, "&fmt=auto");
    const avif = { accept: "image/avif,image/webp,*/*" };
    const webp = { accept: "image/webp,*/*" };
    const a1 = await get(e2e, path, { headers: avif });
    assert.deepEqual([a1.status, a1.headers["content-type"], a1.headers["x-cache-status"], a1.headers.vary], [200, "image/avif", "MISS", "Accept"]);
    const j1 = await get(e2e, path, { headers: { accept: "*/*" } });
    assert.deepEqual([j1.headers["content-type"], j1.headers["x-cache-status"]], ["image/jpeg", "MISS"]);
    const w1 = await get(e2e, path, { headers: webp });
    assert.deepEqual([w1.headers["content-type"], w1.headers["x-cache-status"]], ["image/webp", "MISS"]);
    for (const [headers, type, body] of [[avif, "image/avif", a1.body], [webp, "image/webp", w1.body], [{}, "image/jpeg", j1.body]] as const) {
      const again = await get(e2e, path, { headers });
      assert.deepEqual([again.headers["content-type"], again.headers["x-cache-status"]], [type, "HIT"]);
      assert.deepEqual(again.body, body);
    }
    assert.equal((await sharp(a1.body).metadata()).format, "heif");
  });

  it("another spelling is redirected (301) to the canonical URL, and the redirect is never stored", async () => {
    const short = "/storyboard/chromium/E001.vtt?w=160&h=90";
    for (let i = 0; i < 2; i++) {
      const r = await get(e2e, short);
      assert.equal(r.status, 301);
      assert.equal(r.headers.location, "/storyboard/chromium/E001.vtt?w=160&h=90&cols=10&rows=10&every=10");
      assert.equal(r.headers["x-cache-status"], "MISS", "asked of the resizer each time (the config would store any status)");
    }
  });

  it("a missing episode answers 404, and 400 on the stillshot domain (seed 001), neither stored", async () => {
    const cases: [string, RegExp][] = [
      [track("drama", "NONE"), /no such episode/],
      [track("drama", "EMPTY"), /no stills/],
      [sheet("chromium", "E001", 7), /sheet 7 does not exist/],
      [track("drama", "GAP"), /still 3 is missing between 1 and 4/],
    ];
    for (const [path, reason] of cases) {
      for (const [host, status] of [[undefined, 404], [stillshot(), 400], [undefined, 404], [stillshot(), 400]] as const) {
        const r = await get(e2e, path, host === undefined ? {} : { host });
        assert.equal(r.status, status, `${path} on ${host ?? "the main domain"}`);
        assert.match(JSON.parse(r.body.toString()).message, reason);
        assert.equal(r.headers["x-cache-status"], "MISS", `${path}: never stored, or one domain would get the other's status`);
      }
    }
  });
});

describe("hostile storyboard URLs through the master: a 4xx, never a 5xx, and the resizers stay up", () => {
  const hostile: [string, string][] = [
    ["traversal in the programme", "/storyboard/..%2F..%2F..%2Fetc/passwd.vtt?w=160&h=90&cols=10&rows=10&every=10"],
    ["traversal in the episode", "/storyboard/chromium/..%2F..%2F..%2F..%2Fetc.vtt?w=160&h=90&cols=10&rows=10&every=10"],
    ["a dot-dot episode", "/storyboard/chromium/%2E%2E.vtt?w=160&h=90&cols=10&rows=10&every=10"],
    ["traversal in a sheet's episode", "/storyboard/chromium/%2E%2E%2F%2E%2E/sprite-0.jpg?w=160&h=90&cols=10&rows=10"],
    ["plain ../ segments", "/storyboard/../../../etc/passwd.vtt"],
    ["a backslash", "/storyboard/chromium/..%5C..%5Cetc.vtt?w=160&h=90&cols=10&rows=10&every=10"],
    ["a NUL byte", "/storyboard/chromium/E001%00.vtt?w=160&h=90&cols=10&rows=10&every=10"],
    ["an absolute URL as the programme", "/storyboard/file:%2F%2F%2Fetc/E001.vtt?w=160&h=90&cols=10&rows=10&every=10"],
    ["huge cols", "/storyboard/chromium/E001.vtt?w=160&h=90&cols=1000000&rows=10&every=10"],
    ["huge rows", "/storyboard/chromium/E001/sprite-0.jpg?w=160&h=90&cols=10&rows=99999999999"],
    ["cols x rows over the limit", "/storyboard/chromium/E001/sprite-0.jpg?w=8&h=8&cols=100&rows=100"],
    ["a sheet wider than the limit", "/storyboard/chromium/E001/sprite-0.avif?w=409&h=409&cols=10&rows=10"],
    ["huge tiles", "/storyboard/chromium/E001/sprite-0.jpg?w=100000&h=90&cols=1&rows=1"],
    ["huge every", "/storyboard/chromium/E001.vtt?w=160&h=90&cols=10&rows=10&every=1000000000"],
    ["every in exponent form", "/storyboard/chromium/E001.vtt?w=160&h=90&cols=10&rows=10&every=1e9"],
    ["a negative every", "/storyboard/chromium/E001.vtt?w=160&h=90&cols=10&rows=10&every=-1"],
    ["a huge sheet number", "/storyboard/chromium/E001/sprite-99999999999999.jpg?w=160&h=90&cols=10&rows=10"],
    ["a repeated parameter", "/storyboard/chromium/E001.vtt?w=160&w=4000&h=90&cols=10&rows=10&every=10"],
    ["an episode of 100,000 stills (track)", "/storyboard/drama/HUGE.vtt?w=160&h=90&cols=10&rows=10&every=10"],
    ["an episode of 100,000 stills (sheet)", "/storyboard/drama/HUGE/sprite-0.jpg?w=160&h=90&cols=10&rows=10"],
    ["an episode of 100,000 stills (1x1 sheets)", "/storyboard/drama/HUGE/sprite-5.jpg?w=160&h=90&cols=1&rows=1"],
  ];

  for (const [name, path] of hostile) {
    it(name, async (t) => {
      const seen: string[] = [];
      for (const host of [undefined, stillshot()]) {
        const r = await get(e2e, path, host === undefined ? {} : { host });
        assert.ok(r.status >= 400 && r.status < 500, `${path} on ${host ?? "the main domain"}: ${r.status} ${r.body.toString().slice(0, 300)}`);
        assert.ok(!r.body.includes("root:"), "no file content leaks");
        const json = r.headers["content-type"] === "application/json" ? (JSON.parse(r.body.toString()) as { error: string; message: string }) : undefined;
        seen.push(`${r.status} ${json ? `${json.error}: ${json.message}` : "(nginx)"}`);
      }
      t.diagnostic(seen.join(" | "));
    });
  }

  it("the 100,000-still episode is refused from its listing: 413 naming the limit, quickly", async () => {
    const r = await get(e2e, "/storyboard/drama/HUGE.vtt?w=160&h=90&cols=10&rows=10&every=10");
    assert.equal(r.status, 413);
    assert.match(JSON.parse(r.body.toString()).message, /^the episode has more than 10000 stills: at most 100 sheets of 10x10$/);
    assert.ok(r.ms < 5_000, `${r.ms.toFixed(0)} ms`);
  });

  it("afterwards every resizer replica still answers", async () => {
    for (const r of e2e.cluster.host.resizers) {
      const res = await fetch(`http://${r.listen.address}:${r.listen.port}/healthz`);
      assert.equal(res.status, 200, r.name);
    }
  });
});

// ---------------------------------------------------------------------------------------
// A real player

/** The page the cluster serves (from the images tree, through the slaves). */
const PLAYER_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>storyboard check</title></head>
<body>
<!-- crossorigin: the tracks come from another origin (the stillshot domain), read with CORS -->
<video id="v" crossorigin="anonymous" muted preload="none"></video>
<script>
const params = new URLSearchParams(location.search);
const report = params.get("report");
const tracks = JSON.parse(params.get("tracks"));

/** Loads a WebVTT track into a hidden metadata <track> and returns its parsed cues. */
async function cuesOf(src) {
  const element = document.createElement("track");
  element.kind = "metadata";
  element.src = src;
  document.getElementById("v").appendChild(element);
  const loaded = new Promise((resolve, reject) => {
    element.addEventListener("load", resolve);
    element.addEventListener("error", () => reject(new Error("the track did not load: " + src)));
  });
  element.track.mode = "hidden";
  await loaded;
  return [...element.track.cues];
}

/** The RGBA pixels of one region of a sheet, base64: fetched, or drawn from an <img>. */
async function region(url, [x, y, w, h], via) {
  let source;
  if (via === "img") {
    source = new Image();
    source.crossOrigin = "anonymous";
    source.src = url;
    await source.decode();
  } else {
    const res = await fetch(url, { mode: "cors" });
    if (!res.ok) throw new Error(url + " answered " + res.status);
    source = await createImageBitmap(await res.blob());
  }
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(source, x, y, w, h, 0, 0, w, h);
  const data = context.getImageData(0, 0, w, h).data;
  let text = "";
  for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(text);
}

(async () => {
  const out = { userAgent: navigator.userAgent, tracks: [] };
  try {
    for (const t of tracks) {
      const entry = { src: t.src, via: t.via, cues: [] };
      for (const cue of await cuesOf(t.src)) {
        // A cue names its sheet relative to the track's URL, with a media fragment.
        const url = new URL(cue.text, t.src);
        const xywh = /^#xywh=(\\d+),(\\d+),(\\d+),(\\d+)$/.exec(url.hash).slice(1).map(Number);
        url.hash = "";
        entry.cues.push({ start: cue.startTime, end: cue.endTime, text: cue.text, sheet: url.href, xywh, rgba: await region(url.href, xywh, t.via) });
      }
      out.tracks.push(entry);
    }
  } catch (error) {
    out.error = String((error && error.stack) || error);
  }
  await fetch(report, { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: JSON.stringify(out) });
})();
</script>
</body>
</html>
`;

interface ReportedCue {
  start: number;
  end: number;
  text: string;
  sheet: string;
  xywh: [number, number, number, number];
  rgba: string;
}
interface Report {
  userAgent: string;
  error?: string;
  tracks: { src: string; via: string; cues: ReportedCue[] }[];
}

/** The still resized alone, as /resize does it (cover, PNG: lossless), as raw RGB. */
async function resizedAlone(n: number): Promise<Buffer> {
  const plan = planWithoutHeader({ w: 160, h: 90, fmt: "png" }, ["png"], { ...serviceSchema.parse({}), budgetBytes: 2 ** 40 })!;
  const { data } = await render(stills.get(n)!, plan, { maxInputPixels: 50_000_000 });
  return sharp(data).removeAlpha().raw().toBuffer();
}

/** Mean absolute difference per channel between the browser's RGBA and an RGB image. */
function meanDifference(rgba: Buffer, rgb: Buffer): number {
  assert.equal(rgba.length / 4, rgb.length / 3, "same pixel count");
  let sum = 0;
  for (let p = 0; p < rgb.length / 3; p++) {
    for (let c = 0; c < 3; c++) sum += Math.abs(rgba[p * 4 + c]! - rgb[p * 3 + c]!);
  }
  return sum / rgb.length;
}

/** Largest mean difference of a region from its own still; at least 5x less than from a neighbour. */
const TOLERANCE = { jpeg: 5, avif: 5 } as const;

describe("a player in headless Chromium", () => {
  it("reads the track's cues through the TextTrack API, and each cue's #xywh region holds its still", async (t) => {
    const sink = await reportSink();
    const listen = e2e.cluster.host.master.http;
    const origin = (name: string) => `http://${name}:${listen.port}`;
    const page = `${origin(e2e.main.serverNames[0]!)}/storyboard-player/index.html`;
    mkdirSync(join(images, "storyboard-player"), { recursive: true });
    writeFileSync(join(images, "storyboard-player", "index.html"), PLAYER_PAGE);
    const tracks = [
      // JPEG sheets fetched as a script would; fmt=auto sheets drawn from <img>, whose
      // Accept (AVIF first) picks the variant, as a thumbnails plugin's CSS or <img> does.
      { src: `${origin(stillshot())}${track("chromium", "E001")}`, via: "fetch" },
      { src: `${origin(stillshot())}${track("chromium", "E001", "&fmt=auto")}`, via: "img" },
    ];
    const url = `${page}?report=${encodeURIComponent(sink.url)}&tracks=${encodeURIComponent(JSON.stringify(tracks))}`;
    const hosts = Object.fromEntries(e2e.cluster.host.master.servers.flatMap((s) => s.serverNames).map((n) => [n, listen.address]));
    const browser = openPage(url, hosts);
    let report: Report;
    let timer: NodeJS.Timeout | undefined;
    try {
      report = (await Promise.race([
        sink.report,
        browser.exited.then(() => Promise.reject(new Error(`Chromium exited before the page reported:\n${browser.log()}`))),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no report from Chromium within 90 s:\n${browser.log()}`)), 90_000))),
      ])) as Report;
    } finally {
      clearTimeout(timer);
      await browser.close();
      await sink.close();
    }
    assert.equal(report.error, undefined, report.error);
    t.diagnostic(report.userAgent);

    const expected = await Promise.all(range(1, STILLS).map(resizedAlone));
    for (const [i, tr] of report.tracks.entries()) {
      const format = i === 0 ? "jpeg" : "avif";
      assert.equal(tr.cues.length, STILLS, `${tr.src}: one cue per still`);
      const differences: number[] = [];
      const neighbours: number[] = [];
      tr.cues.forEach((cue, k) => {
        assert.deepEqual([cue.start, cue.end], [k * 2.5, (k + 1) * 2.5], `cue ${k}'s times`);
        const sheetIndex = Math.floor(k / 12);
        assert.match(cue.sheet, new RegExp(`/storyboard/chromium/E001/sprite-${sheetIndex}\\.jpg\\?w=160&h=90&cols=4&rows=3${i === 1 ? "&fmt=auto" : ""}$`));
        const j = k % 12;
        assert.deepEqual(cue.xywh, [(j % 4) * 160, Math.floor(j / 4) * 90, 160, 90], `cue ${k}'s region`);
        const rgba = Buffer.from(cue.rgba, "base64");
        const own = meanDifference(rgba, expected[k]!);
        const neighbour = meanDifference(rgba, expected[k === 0 ? 1 : k - 1]!);
        assert.ok(own < TOLERANCE[format], `${format} cue ${k}: its region differs from still ${k + 1} by ${own.toFixed(2)} on average`);
        assert.ok(neighbour > 5 * TOLERANCE[format], `${format} cue ${k}: its region is as close to a neighbour (${neighbour.toFixed(2)}): the comparison proves nothing`);
        differences.push(own);
        neighbours.push(neighbour);
      });
      t.diagnostic(`${format}: ${tr.cues.length} cues, regions differ from the stills resized alone by ${Math.min(...differences).toFixed(2)}..${Math.max(...differences).toFixed(2)} (mean per channel, of 255), from a neighbouring still by at least ${Math.min(...neighbours).toFixed(1)}`);
    }
    // The <img> loads asked with the browser's own Accept: the AVIF variant is what it stored.
    const stored = await get(e2e, sheet("chromium", "E001", 0, "&fmt=auto"), { host: stillshot(), headers: { accept: "image/avif,image/webp,*/*" } });
    assert.deepEqual([stored.headers["content-type"], stored.headers["x-cache-status"]], ["image/avif", "HIT"]);
  });
});
