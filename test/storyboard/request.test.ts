// Storyboard request targets: canonical form, redirects for other spellings, bounds,
// path safety (pure, no server).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResizeError } from "../../resizer/src/errors.js";
import { parseStoryboard, type StoryboardLimits } from "../../resizer/src/storyboard/request.js";
import { storyboardProblems, storyboardSchema } from "../../resizer/src/storyboard/settings.js";

const limits: StoryboardLimits = storyboardSchema.parse({ intervals: { "news-daily": 2.5 } });
const parse = (target: string, l = limits) => parseStoryboard(target, l);
const TRACK = "/storyboard/drama/E001.vtt?w=160&h=90&cols=10&rows=10&every=10";
const SHEET = "/storyboard/drama/E001/sprite-3.jpg?w=160&h=90&cols=10&rows=10";

function refused(target: string, status: number, reason: RegExp, l = limits): void {
  assert.throws(
    () => parse(target, l),
    (e: unknown) => {
      assert.ok(e instanceof ResizeError, `expected a ResizeError, got ${String(e)}`);
      assert.equal(e.status, status, `${target}: ${e.message}`);
      assert.match(e.message, reason);
      return true;
    },
  );
}

describe("canonical storyboard URLs", () => {
  it("are served as they are", () => {
    for (const target of [TRACK, SHEET, "/storyboard/drama/E001.vtt?w=160&h=90&cols=10&rows=10&every=2.5&fmt=auto"]) {
      const { isCanonical, canonicalTarget } = parse(target);
      assert.equal(canonicalTarget, target);
      assert.ok(isCanonical, target);
    }
  });

  it("parse into the track and sheet requests they name", () => {
    assert.deepEqual(parse(TRACK).request, {
      kind: "track",
      programme: "drama",
      episode: "E001",
      dir: "stillshot/drama/E001",
      grid: { w: 160, h: 90, cols: 10, rows: 10 },
      fmt: "jpeg",
      everyMs: 10_000,
    });
    const sheet = parse("/storyboard/drama/E001/sprite-2.webp?w=120&h=68&cols=5&rows=4").request;
    assert.deepEqual(sheet, {
      kind: "sheet",
      programme: "drama",
      episode: "E001",
      dir: "stillshot/drama/E001",
      grid: { w: 120, h: 68, cols: 5, rows: 4 },
      fmt: "webp",
      sheet: 2,
    });
    assert.equal(parse(`${SHEET}&fmt=auto`).request.fmt, "auto");
  });

  it("spelled otherwise are the same request, flagged for a redirect to the canonical URL", () => {
    const variants: [string, string][] = [
      ["/storyboard/drama/E001.vtt?rows=10&every=10&cols=10&h=90&w=160", TRACK],
      ["/storyboard/drama/E001.vtt?w=0160&h=90&cols=10&rows=10&every=10.000", TRACK],
      ["/storyboard/drama/E001.vtt", TRACK],
      ["/storyboard/drama/E001.vtt?", TRACK],
      ["/storyboard/drama/E001.vtt?w=160&h=&cols=10&rows=10&every=10&fmt=jpg", TRACK],
      ["/storyboard/drama/E001.vtt?w=160&h=90&cols=10&rows=10&every=10&fmt=JPEG", TRACK],
      ["/storyboard/%64rama/E%30%30%31.vtt?w=160&h=90&cols=10&rows=10&every=10", TRACK],
      ["/storyboard/drama/E001/sprite-03.jpg?w=160&h=90&cols=10&rows=10", SHEET],
      ["/storyboard/drama/E001/sprite-3.jpeg?w=160&h=90&cols=10&rows=10", SHEET],
      ["/storyboard/drama/E001/sprite-3.jpg?w=160&h=90&cols=10&rows=10&every=4", SHEET],
      ["/storyboard/drama/E001/sprite-3.jpg", SHEET],
      ["/storyboard/drama/E001/sprite-3.jpg?w=160&h=90&cols=10&rows=10&fmt=AUTO", `${SHEET}&fmt=auto`],
      ["/storyboard/drama/E001.vtt?fmt=webp", `${TRACK}&fmt=webp`],
      ["/storyboard/drama/E001.vtt?every=2.50", "/storyboard/drama/E001.vtt?w=160&h=90&cols=10&rows=10&every=2.5"],
      ["/storyboard/drama/E001.vtt?every=0.500", "/storyboard/drama/E001.vtt?w=160&h=90&cols=10&rows=10&every=0.5"],
      ["/storyboard/drama/E001.vtt?every=000010", TRACK],
    ];
    for (const [target, expected] of variants) {
      const parsed = parse(target);
      assert.equal(parsed.canonicalTarget, expected, target);
      assert.equal(parsed.isCanonical, false, target);
      assert.deepEqual(parse(expected).request, parsed.request, target);
    }
  });

  it("take a left-out interval from the programme's setting, else the default", () => {
    assert.equal(parse("/storyboard/news-daily/E001.vtt").canonicalTarget, "/storyboard/news-daily/E001.vtt?w=160&h=90&cols=10&rows=10&every=2.5");
    assert.deepEqual(parse("/storyboard/drama/E001.vtt").request, parse(TRACK).request);
    const explicit = parse("/storyboard/news-daily/E001.vtt?w=160&h=90&cols=10&rows=10&every=10");
    assert.ok(explicit.isCanonical);
  });

  it("percent-encode path segments, so any directory name has one canonical spelling", () => {
    const parsed = parse("/storyboard/드라마/E 1.vtt");
    assert.equal(parsed.request.programme, "드라마");
    assert.equal(parsed.request.episode, "E 1");
    assert.equal(parsed.canonicalTarget, "/storyboard/%EB%93%9C%EB%9D%BC%EB%A7%88/E%201.vtt?w=160&h=90&cols=10&rows=10&every=10");
    assert.ok(parse(parsed.canonicalTarget).isCanonical);
  });

  it("come from the settings' stills directory", () => {
    const l = storyboardSchema.parse({ stillsDir: "media/stills" });
    assert.equal(parse(TRACK, l).request.dir, "media/stills/drama/E001");
  });
});

describe("storyboard bounds", () => {
  for (const [query, param] of [
    ["w=7", "w"],
    ["w=641", "w"],
    ["h=0", "h"],
    ["w=1e3", "w"],
    ["w=-160", "w"],
    ["cols=0", "cols"],
    ["cols=101", "cols"],
    ["rows=1000000", "rows"],
    ["cols=11&rows=10", "cols"], // 110 stills on a sheet
    ["w=640&cols=7&rows=1", "cols"], // 4480 px wide
    ["h=640&rows=7&cols=1", "rows"],
    ["every=0", "every"],
    ["every=0.099", "every"],
    ["every=600.001", "every"],
    ["every=99999999", "every"],
    ["every=1e3", "every"],
    ["every=-10", "every"],
    ["every=10.0001", "every"],
    ["every=.5", "every"],
    ["every=NaN", "every"],
    ["fmt=png", "fmt"],
    ["fmt=gif", "fmt"],
    ["w=160&w=2000", "w"],
    ["cachebuster=1", "cachebuster"],
  ] as const) {
    it(`${query} -> 400 naming ${param}`, () => refused(`/storyboard/drama/E001.vtt?${query}`, 400, new RegExp(`^${param}: `)));
  }

  it("sheet indices beyond the most sheets an episode may have", () => {
    refused("/storyboard/drama/E001/sprite-100.jpg", 400, /^sheet: sprite-<n> with n from 0 to 99$/);
    refused("/storyboard/drama/E001/sprite-999999.jpg", 400, /^sheet: /);
    refused("/storyboard/drama/E001/sprite-9999999.jpg", 404, /no such storyboard resource/);
  });

  it("fmt on a sheet: only auto, and only on .jpg", () => {
    refused(`${SHEET}&fmt=webp`, 400, /^fmt: one of auto$/);
    refused("/storyboard/drama/E001/sprite-3.webp?fmt=auto", 400, /^fmt: auto is served as sprite-<n>\.jpg/);
  });

  it("unknown shapes under /storyboard/ are 404", () => {
    for (const target of [
      "/storyboard/",
      "/storyboard/drama",
      "/storyboard/drama/E001",
      "/storyboard/drama/E001.VTT",
      "/storyboard/drama/E001/sprite-1.png",
      "/storyboard/drama/E001/sprite-.jpg",
      "/storyboard/drama/E001/sheet-1.jpg",
      "/storyboard/drama/E001/x/sprite-1.jpg",
      "/storyboardx/drama/E001.vtt",
    ]) {
      refused(target, 404, /no such storyboard resource/);
    }
  });
});

describe("storyboard path safety (the resizer's src rules, per segment)", () => {
  for (const [target, param] of [
    ["/storyboard/%2e%2e/E001.vtt", "programme"],
    ["/storyboard/./E001.vtt", "programme"],
    ["/storyboard/drama/%2E%2E.vtt", "episode"],
    ["/storyboard/drama/..%2F..%2Fetc.vtt", "episode"],
    ["/storyboard/a%2Fb/E001.vtt", "programme"],
    ["/storyboard/drama/..%5C..%5Cetc.vtt", "episode"],
    ["/storyboard/drama/E001%00.vtt", "episode"],
    ["/storyboard/drama/E%0A1.vtt", "episode"],
    ["/storyboard/drama/E%ZZ.vtt", "episode"],
    ["/storyboard/file:x/E001.vtt", "programme"],
    ["/storyboard/drama/.vtt", "episode"],
    ["/storyboard/%2e%2e/%2e%2e/sprite-0.jpg", "programme"],
    ["/storyboard/drama/%2e%2e/sprite-0.jpg", "episode"],
    [`/storyboard/${"x".repeat(1025)}/E001.vtt`, "programme"],
  ] as const) {
    it(`${target.slice(0, 60)} -> 400 naming ${param}`, () => refused(target, 400, new RegExp(`^${param}: `)));
  }

  it("empty segments and literal '..' segments never reach a directory", () => {
    refused("/storyboard//E001.vtt", 400, /^programme: required$/);
    refused("/storyboard/../etc/passwd.vtt", 404, /no such storyboard resource/);
    refused("/storyboard/drama/../sprite-0.jpg", 400, /^episode: /);
  });
});

describe("storyboard settings", () => {
  it("default to 10x10 tiles of 160x90 every 10 s, N = 100 stills per sheet, M = 100 sheets", () => {
    const s = storyboardSchema.parse({});
    assert.deepEqual(s.defaults, { w: 160, h: 90, cols: 10, rows: 10, every: 10 });
    assert.deepEqual([s.maxStillsPerSheet, s.maxSheets, s.stillsDir], [100, 100, "stillshot"]);
    assert.deepEqual(storyboardProblems(s), []);
  });

  it("refuse defaults their own limits would refuse, naming both settings", () => {
    const s = storyboardSchema.parse({ defaults: { w: 500, cols: 20, every: 900 }, intervals: { drama: 700 }, maxTileDimension: 480 });
    assert.deepEqual(storyboardProblems(s).map((p) => `${p.path.join(".")}: ${p.message}`), [
      "defaults.w: 500 exceeds maxTileDimension (480)",
      "defaults.cols: cols × rows = 200 exceeds maxStillsPerSheet (100)",
      "defaults.cols: cols × w = 10000 exceeds maxSheetDimension (2048)",
      "defaults.every: the default interval 900 exceeds maxEvery (600)",
      "intervals.drama: this programme's interval 700 exceeds maxEvery (600)",
    ]);
  });

  it("refuse programme names and stills directories that are not plain paths, and sub-millisecond intervals", () => {
    for (const bad of [
      { intervals: { "../x": 10 } },
      { intervals: { "a/b": 10 } },
      { stillsDir: "/abs" },
      { stillsDir: "a/../b" },
      { defaults: { every: 0.0005 } },
      { intervals: { drama: 2.0004 } },
      { defaults: { w: 4 } },
    ]) {
      assert.equal(storyboardSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
