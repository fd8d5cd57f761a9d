// What the benchmark's load asks for: distinct sizes near 320x180 (each a cache MISS),
// in disjoint slices per round, as URLs of each server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { distinctVariants, gdPath, imageFilterPath, resizePath, slice, TARGET, variantCapacity } from "../../bench/lib/workload.js";
import { parseResizeQuery } from "../../resizer/src/params.js";
import { serviceSchema } from "../../resizer/src/settings.js";

const key = (v: { src: string; w: number; h: number }) => `${v.src}|${v.w}x${v.h}`;

describe("distinct variants", () => {
  const sources = ["load/a-00.jpg", "load/a-01.jpg", "load/a-02.jpg"];
  const all = distinctVariants(sources, variantCapacity(sources));

  it("every variant up to the capacity is distinct (so through the master each one misses)", () => {
    assert.equal(new Set(all.map(key)).size, all.length);
  });

  it("stay near the target box: same shrink-on-load factor, pixel count within ±15%", () => {
    for (const v of all) {
      assert.ok(Math.abs(v.w - TARGET.w) <= 20 && Math.abs(v.h - TARGET.h) <= 11, key(v));
      assert.ok(Math.abs((v.w * v.h) / (TARGET.w * TARGET.h) - 1) <= 0.15, key(v));
    }
  });

  it("consecutive variants differ in source, width and height (any slice is a fair mix)", () => {
    for (let i = 1; i < 200; i++) {
      assert.notEqual(all[i]!.src, all[i - 1]!.src);
      assert.notEqual(all[i]!.w, all[i - 1]!.w);
    }
    const heights = new Set(all.slice(0, 100).map((v) => v.h));
    assert.ok(heights.size > 10, `heights seen in the first 100: ${[...heights].join(",")}`);
  });

  it("deterministic, and more than the capacity is refused rather than repeated", () => {
    assert.deepEqual(distinctVariants(sources, 50), all.slice(0, 50));
    assert.throws(() => distinctVariants(sources, variantCapacity(sources) + 1), /only \d+ distinct variants/);
  });

  it("slices (warm-up, round 1, round 2...) are disjoint and equal", () => {
    const parts = [0, 1, 2, 3].map((i) => slice(all, i, 4));
    const seen = new Set<string>();
    for (const p of parts) {
      assert.equal(p.length, Math.floor(all.length / 4));
      for (const v of p) {
        assert.ok(!seen.has(key(v)), `${key(v)} in two slices`);
        seen.add(key(v));
      }
    }
    assert.throws(() => slice(all, 4, 4));
  });
});

describe("the URL of a variant on each server", () => {
  const v = { src: "quality/a b+c.jpg", w: 320, h: 180 };

  it("the resizer's API, cover, the target quality, spelled as the resizer serves it (any other spelling is redirected)", () => {
    assert.equal(resizePath(v), "/resize?src=quality/a%20b%2Bc.jpg&w=320&h=180&q=80");
    assert.equal(parseResizeQuery(resizePath(v).slice("/resize?".length), serviceSchema.parse({})).canonical, resizePath(v).slice("/resize?".length));
  });

  it("the GD script and image_filter ask for the same box", () => {
    assert.equal(gdPath(v), "/gd-resize.php?src=quality/a%20b%2Bc.jpg&w=320&h=180&q=80");
    assert.equal(imageFilterPath(v), "/filter/quality/a%20b%2Bc.jpg?w=320&h=180");
  });
});
