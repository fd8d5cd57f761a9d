// The storyboard's pure core: WebVTT timing arithmetic against the spec's timestamp
// syntax, cue/sheet geometry, still numbering. No I/O, no sharp.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResizeError } from "../../resizer/src/errors.js";
import { placeStill, sheetCount, sheetSize, stillsOnSheet } from "../../resizer/src/storyboard/layout.js";
import type { Grid, TrackRequest } from "../../resizer/src/storyboard/request.js";
import { parseSeconds } from "../../resizer/src/storyboard/request.js";
import { toMs } from "../../resizer/src/storyboard/settings.js";
import { orderStills, stillNumber } from "../../resizer/src/storyboard/stills.js";
import { buildTrack, trackCues, vttTimestamp } from "../../resizer/src/storyboard/webvtt.js";

/**
 * The WebVTT timestamp syntax (W3C WebVTT, "WebVTT timestamp"): optionally (required if
 * the hours are not zero) two or more digits of hours and ':'; two digits of minutes
 * 00-59; ':'; two digits of seconds 00-59; '.'; three digits of thousandths. Returns the
 * milliseconds, or undefined when `text` is not a timestamp.
 */
function specTimestamp(text: string): number | undefined {
  const m = /^(?:([0-9]{2,}):)?([0-9]{2}):([0-9]{2})\.([0-9]{3})$/.exec(text);
  if (m === null) return undefined;
  const [hours, minutes, seconds, thousandths] = [Number(m[1] ?? 0), Number(m[2]), Number(m[3]), Number(m[4])];
  if (minutes > 59 || seconds > 59) return undefined;
  return ((hours * 60 + minutes) * 60 + seconds) * 1000 + thousandths;
}

const grid: Grid = { w: 160, h: 90, cols: 4, rows: 3 };
const track = (over: Partial<TrackRequest> = {}): TrackRequest => ({
  kind: "track",
  programme: "drama",
  episode: "E001",
  dir: "stillshot/drama/E001",
  grid,
  fmt: "jpeg",
  everyMs: 10_000,
  ...over,
});

describe("WebVTT timestamps", () => {
  it("spell minutes, seconds and thousandths, and hours only when they are not zero", () => {
    const cases: [number, string][] = [
      [0, "00:00.000"],
      [1, "00:00.001"],
      [999, "00:00.999"],
      [1_000, "00:01.000"],
      [59_999, "00:59.999"],
      [60_000, "01:00.000"],
      [3_599_999, "59:59.999"],
      [3_600_000, "01:00:00.000"],
      [3_661_001, "01:01:01.001"],
      [35_999_999, "09:59:59.999"],
      [360_000_000, "100:00:00.000"],
    ];
    for (const [ms, text] of cases) assert.equal(vttTimestamp(ms), text, `${ms} ms`);
  });

  it("always match the spec's syntax and read back to the same milliseconds", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const values = [0, 59_999, 60_000, 3_599_999, 3_600_000, 86_399_999, 86_400_000, 1_000_000_000_000];
    for (let i = 0; i < 2000; i++) values.push(random() % 400_000_000);
    for (const ms of values) {
      const text = vttTimestamp(ms);
      assert.equal(specTimestamp(text), ms, `${ms} -> ${text}`);
      if (ms < 3_600_000) assert.ok(!/^\d+:\d+:/.test(text), `no hours below one hour: ${text}`);
    }
  });

  it("refuse what is not whole, non-negative milliseconds", () => {
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => vttTimestamp(bad), RangeError);
  });
});

describe("cue timing", () => {
  it("gives still k [k × every, (k+1) × every), each cue ending where the next starts", () => {
    const cues = trackCues(track({ everyMs: 10_000 }), 30);
    assert.equal(cues.length, 30);
    cues.forEach((cue, k) => {
      assert.equal(cue.startMs, k * 10_000);
      assert.equal(cue.endMs, (k + 1) * 10_000);
      if (k > 0) assert.equal(cue.startMs, cues[k - 1]!.endMs);
    });
  });

  it("does not drift with an interval that is not a whole second (0.333 s × 3 is 0.999, not 1.000)", () => {
    const cues = trackCues(track({ everyMs: 333 }), 3001);
    assert.equal(vttTimestamp(cues[3]!.startMs), "00:00.999");
    assert.equal(vttTimestamp(cues[3000]!.startMs), "16:39.000"); // 3000 × 333 ms = 999 s
    // Floating-point seconds would give 0.30000000000000004 here.
    assert.equal(vttTimestamp(trackCues(track({ everyMs: 100 }), 4)[3]!.startMs), "00:00.300");
  });

  it("crosses into hours in the track text: 400 stills every 10 s end at 01:06:40.000", () => {
    const text = buildTrack(track(), 400);
    assert.ok(text.includes("59:50.000 --> 01:00:00.000\n"), "the cue that ends on the hour");
    assert.ok(text.includes("01:00:00.000 --> 01:00:10.000\n"), "the first cue past it");
    assert.ok(text.trimEnd().split("\n").at(-2)!.endsWith("--> 01:06:40.000"));
  });
});

describe("a whole track, read back as the WebVTT syntax reads it", () => {
  /** The cues of a track file: `WEBVTT`, then blocks of a timing line and one payload line. */
  function readTrack(text: string): { start: number; end: number; payload: string }[] {
    assert.ok(text.startsWith("WEBVTT\n\n"), "the signature line, then a blank line");
    assert.ok(text.endsWith("\n"), "ends with a line terminator");
    return text
      .slice("WEBVTT\n\n".length)
      .split("\n\n")
      .filter((block) => block !== "")
      .map((block) => {
        const lines = block.replace(/\n$/, "").split("\n");
        assert.equal(lines.length, 2, `one timing line and one payload line: ${JSON.stringify(block)}`);
        const m = /^(\S+) --> (\S+)$/.exec(lines[0]!);
        assert.ok(m, `a timing line: ${lines[0]}`);
        const [start, end] = [specTimestamp(m[1]!), specTimestamp(m[2]!)];
        assert.ok(start !== undefined && end !== undefined, `WebVTT timestamps: ${lines[0]}`);
        assert.ok(!lines[1]!.includes("-->"), "a payload never holds -->");
        return { start, end, payload: lines[1]! };
      });
  }

  const cases: [string, number, number, Grid][] = [
    ["10 s over 10,000 stills (past 27 hours)", 10_000, 10_000, { w: 160, h: 90, cols: 10, rows: 10 }],
    ["600 s over 1,000 stills (166 hours: three digits of hours)", 600_000, 1000, { w: 160, h: 90, cols: 10, rows: 10 }],
    ["0.333 s over 12,013 stills (a fraction of a second, past the hour)", 333, 12_013, grid],
    ["2.5 s over 13 stills (a partial last sheet)", 2500, 13, grid],
    ["0.1 s, one still", 100, 1, grid],
  ];
  for (const [name, everyMs, stills, g] of cases) {
    it(name, () => {
      const cues = readTrack(buildTrack(track({ everyMs, grid: g }), stills));
      assert.equal(cues.length, stills);
      cues.forEach((cue, k) => {
        assert.equal(cue.start, k * everyMs, `cue ${k} starts at k × every`);
        assert.equal(cue.end, (k + 1) * everyMs, `cue ${k} ends at (k + 1) × every`);
        const m = /sprite-(\d+)\.jpg\?[^#]*#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(cue.payload)!;
        const [sheet, x, y, w, h] = m.slice(1).map(Number) as [number, number, number, number, number];
        const { first, end } = stillsOnSheet(sheet, stills, g);
        const size = sheetSize(end - first, g);
        assert.ok(k >= first && k < end && x + w <= size.width && y + h <= size.height, `cue ${k} lies on sheet ${sheet} (${size.width}x${size.height})`);
      });
      const last = buildTrack(track({ everyMs, grid: g }), stills).trimEnd().split("\n").at(-2)!;
      assert.equal(/ --> (\d+:)?\d\d:\d\d\.\d{3}$/.exec(last)![1] !== undefined, stills * everyMs >= 3_600_000, `hours written exactly when not zero: ${last}`);
    });
  }

  it("takes intervals from the config and the URL as whole milliseconds, without floating-point error", () => {
    // 1.005 × 1000 is 1004.9999999999999 in floating point; 2.675 × 1000 is 2674.9999999999995.
    assert.deepEqual([toMs(1.005), toMs(2.675), toMs(0.1 + 0.2), toMs(600)], [1005, 2675, 300, 600_000]);
    assert.deepEqual(["1.005", "2.675", "0.3", "600", "0.100"].map((t) => parseSeconds("every", t, 100, 600_000)), [1005, 2675, 300, 600_000, 100]);
    const cues = trackCues(track({ everyMs: toMs(1.005) }), 3600);
    assert.equal(vttTimestamp(cues.at(-1)!.endMs), "01:00:18.000", "3600 × 1.005 s, exactly");
  });
});

describe("track text", () => {
  it("is WEBVTT, a blank line, then timing line + payload per cue, blank-line separated", () => {
    const text = buildTrack(track({ grid: { w: 160, h: 90, cols: 2, rows: 2 }, everyMs: 2500 }), 5);
    assert.equal(
      text,
      [
        "WEBVTT",
        "",
        "00:00.000 --> 00:02.500",
        "E001/sprite-0.jpg?w=160&h=90&cols=2&rows=2#xywh=0,0,160,90",
        "",
        "00:02.500 --> 00:05.000",
        "E001/sprite-0.jpg?w=160&h=90&cols=2&rows=2#xywh=160,0,160,90",
        "",
        "00:05.000 --> 00:07.500",
        "E001/sprite-0.jpg?w=160&h=90&cols=2&rows=2#xywh=0,90,160,90",
        "",
        "00:07.500 --> 00:10.000",
        "E001/sprite-0.jpg?w=160&h=90&cols=2&rows=2#xywh=160,90,160,90",
        "",
        "00:10.000 --> 00:12.500",
        "E001/sprite-1.jpg?w=160&h=90&cols=2&rows=2#xywh=0,0,160,90",
        "",
      ].join("\n"),
    );
  });

  it("names the sheet relative to the track, the episode percent-encoded, fmt=auto on .jpg", () => {
    const [cue] = trackCues(track({ episode: "E 1:?#", fmt: "auto" }), 1);
    assert.equal(cue!.payload, "E%201%3A%3F%23/sprite-0.jpg?w=160&h=90&cols=4&rows=3&fmt=auto#xywh=0,0,160,90");
    assert.equal(new URL(cue!.payload, "http://o.test/storyboard/drama/E%201%3A%3F%23.vtt?w=1").pathname, "/storyboard/drama/E%201%3A%3F%23/sprite-0.jpg");
    const [webp] = trackCues(track({ fmt: "webp" }), 1);
    assert.ok(webp!.payload.startsWith("E001/sprite-0.webp?w=160&h=90&cols=4&rows=3#"));
  });
});

describe("sheet geometry", () => {
  it("fills sheets row by row; the last one is cut to the rows (and columns) it uses", () => {
    assert.equal(sheetCount(0, grid), 0);
    assert.equal(sheetCount(12, grid), 1);
    assert.equal(sheetCount(13, grid), 2);
    assert.deepEqual(stillsOnSheet(1, 13, grid), { first: 12, end: 13 });
    assert.deepEqual(sheetSize(12, grid), { width: 640, height: 270 });
    assert.deepEqual(sheetSize(6, grid), { width: 640, height: 180 });
    assert.deepEqual(sheetSize(3, grid), { width: 480, height: 90 });
    assert.deepEqual(sheetSize(1, grid), { width: 160, height: 90 });
    assert.deepEqual(placeStill(5, grid), { sheet: 0, rect: { x: 160, y: 90, w: 160, h: 90 } });
    assert.deepEqual(placeStill(12, grid), { sheet: 1, rect: { x: 0, y: 0, w: 160, h: 90 } });
  });

  it("agrees with every cue: each #xywh lies inside its sheet, one tile per still, none shared", () => {
    for (const stills of [1, 3, 4, 11, 12, 13, 25, 37]) {
      const cues = trackCues(track(), stills);
      const seen = new Set<string>();
      cues.forEach((cue, k) => {
        const m = /^E001\/sprite-(\d+)\.jpg\?[^#]*#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(cue.payload);
        assert.ok(m, cue.payload);
        const [sheet, x, y, w, h] = m.slice(1).map(Number) as [number, number, number, number, number];
        const { first, end } = stillsOnSheet(sheet, stills, grid);
        assert.ok(k >= first && k < end, `still ${k} is on sheet ${sheet}`);
        const size = sheetSize(end - first, grid);
        assert.ok(x + w <= size.width && y + h <= size.height, `${cue.payload} inside ${size.width}x${size.height}`);
        assert.deepEqual([w, h], [grid.w, grid.h]);
        assert.ok(!seen.has(`${sheet}:${x},${y}`), `tile ${sheet}:${x},${y} used twice`);
        seen.add(`${sheet}:${x},${y}`);
      });
      assert.equal(new Set(cues.map((c) => /sprite-(\d+)/.exec(c.payload)![1])).size, sheetCount(stills, grid));
    }
  });
});

describe("still numbering", () => {
  const stills = (...names: string[]) => names.map((name) => ({ name, number: stillNumber(name)! }));
  const numberingError = (names: string[], status: number, pattern: RegExp) =>
    assert.throws(
      () => orderStills(stills(...names)),
      (e: unknown) => e instanceof ResizeError && e.status === status && pattern.test(e.message),
    );

  it("reads numbered image names only, leading zeros allowed", () => {
    assert.equal(stillNumber("07.jpg"), 7);
    assert.equal(stillNumber("120.JPG"), 120);
    assert.equal(stillNumber("0003.jpeg"), 3);
    assert.equal(stillNumber("5.webp"), 5);
    for (const other of ["poster.jpg", "1.gif", "1.jpg.tmp", ".1.jpg", "Thumbs.db", "1", "-1.jpg", "1e3.jpg", "1234567890.jpg"]) {
      assert.equal(stillNumber(other), undefined, other);
    }
  });

  it("orders by number, not by name", () => {
    assert.deepEqual(orderStills(stills("10.jpg", "9.jpg", "1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg", "6.jpg", "7.jpg", "8.jpg")).map((s) => s.number), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(orderStills(stills("02.jpg", "0.jpg", "1.jpg")).map((s) => s.name), ["0.jpg", "1.jpg", "02.jpg"]);
  });

  it("names the missing number of a gap", () => {
    numberingError(["1.jpg", "2.jpg", "4.jpg"], 404, /^still 3 is missing between 1 and 4$/);
    numberingError(["01.jpg", "02.jpg", "05.jpg", "07.jpg"], 404, /^still 3 is missing between 1 and 7; 3 numbers are missing in all$/);
    numberingError(["5.jpg", "6.jpg"], 404, /^still 1 is missing: the episode's stills start at 5/);
  });

  it("refuses a number given twice, naming both files", () => {
    numberingError(["1.jpg", "2.jpg", "02.jpg"], 404, /^still 2 appears twice \((02\.jpg and 2\.jpg|2\.jpg and 02\.jpg)\)$/);
  });

  it("says an episode without stills is not found", () => {
    numberingError([], 404, /^the episode has no stills$/);
  });
});
