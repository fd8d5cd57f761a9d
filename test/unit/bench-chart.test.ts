// The chart of bench/results/: an SVG people read before the tables.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import { chartSvg, COLOURS, esc, niceTicks, tickLabel } from "../../bench/lib/chart.js";
import { chartModel } from "../../bench/lib/report.js";
import { fixture } from "../helpers/bench-results.js";

/** Every <rect> with its attributes. */
const rects = (svg: string) =>
  [...svg.matchAll(/<rect ([^>]*)\/>/g)].map((m) => Object.fromEntries([...m[1]!.matchAll(/([a-z-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));

describe("the benchmark chart", () => {
  const svg = chartSvg(chartModel(fixture()));

  it("is an SVG that librsvg renders (what sharp turns into chart.png)", async () => {
    const meta = await sharp(Buffer.from(svg)).metadata();
    assert.equal(meta.format, "svg");
    assert.equal(meta.width, 1400);
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    assert.ok(png.length > 10_000);
  });

  it("a throughput bar per path, as long as its median req/s on the group's scale", () => {
    const bars = rects(svg).filter((r) => r.height === "18.0");
    // 8 paths (a detail row is not drawn) + 5 stall bars (3 as configured, 2 of the design before)
    assert.equal(bars.length, 13);
    // Group 1: scale 0..200 req/s over 400 px: raw sharp 170 -> 340 px, master 153 -> 306 px.
    assert.deepEqual(bars.slice(0, 3).map((b) => [b.width, b.fill]), [
      ["340.0", COLOURS.limit],
      ["306.0", COLOURS.ours],
      ["136.0", COLOURS.peer],
    ]);
  });

  it("the stall bars of the design before are drawn as a reference, not as image-origin's", () => {
    const stall = rects(svg).filter((r) => r.height === "18.0").slice(8);
    assert.deepEqual(stall.map((b) => b.fill), [COLOURS.ours, COLOURS.ours, COLOURS.ours, COLOURS.limit, COLOURS.limit]);
  });

  it("latency: p99 light under p50 solid, per path, in its group's ms scale", () => {
    const lat = rects(svg).filter((r) => r.height === "14.0" && r.x === "1040.0");
    assert.equal(lat.length, 16);
    // Group 1's scale runs to 150 ms over 250 px: master p99 75 ms -> 125 px, p50 50 ms -> 83.3 px.
    assert.deepEqual([lat[2]!.width, lat[2]!["fill-opacity"], lat[3]!.width], ["125.0", "0.3", "83.3"]);
  });

  it("labels, values, ratios and the stall target are written out", () => {
    for (const text of ["master, cache MISS", "153", "0.90× raw sharp", "50 / 75 ms", "8 identical requests", "515 ms", "target: 1.2× one request", "throughput vs reference"]) {
      assert.ok(svg.includes(`>${esc(text)}<`), `missing text ${text}`);
    }
  });

  it("text from labels cannot break the SVG", () => {
    assert.ok(svg.includes(">php-fpm + GD &lt;the seeds&gt;<"));
    assert.equal(esc(`a<b>&"c"`), "a&lt;b&gt;&amp;&quot;c&quot;");
  });
});

describe("axis ticks", () => {
  it("round steps from 0 to at least the largest value", () => {
    assert.deepEqual(niceTicks(183), [0, 50, 100, 150, 200]);
    assert.deepEqual(niceTicks(72_900), [0, 20_000, 40_000, 60_000, 80_000]);
    assert.deepEqual(niceTicks(3), [0, 1, 2, 3]);
    assert.deepEqual(niceTicks(0.45), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    assert.deepEqual(niceTicks(0), [0, 1]);
  });

  it("labels in k from a thousand on", () => {
    assert.deepEqual([tickLabel(0), tickLabel(25), tickLabel(2500), tickLabel(80_000), tickLabel(0.25)], ["0", "25", "2.5k", "80k", "0.25"]);
  });
});
