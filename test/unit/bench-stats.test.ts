// The benchmark's statistics: medians of interleaved runs and ratios taken round by round.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { median, pairedRatio, percentile, spread } from "../../bench/lib/stats.js";

describe("benchmark statistics", () => {
  it("median of odd and even counts, NaN for none, input left unsorted", () => {
    const xs = [5, 1, 3];
    assert.equal(median(xs), 3);
    assert.deepEqual(xs, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it("nearest-rank percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, shuffled order
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile(xs, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it("spread ignores runs that produced no number", () => {
    assert.deepEqual(spread([3, NaN, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
    assert.equal(spread([]).n, 0);
  });

  it("a ratio is taken within each round, not between medians of different rounds", () => {
    // Three rounds; in round 2 something else slowed the reference down.
    const master = [50, 100, 200];
    const raw = [100, 400, 210];
    const r = pairedRatio(master, raw);
    assert.deepEqual([r.n, r.min, r.median], [3, 0.25, 0.5]);
    assert.ok(Math.abs(r.max - 200 / 210) < 1e-12);
    // Dividing the medians (100 / 210) would compare round 2's master with round 3's raw.
    assert.notEqual(r.median, median(master) / median(raw));
  });

  it("a round with a missing or zero reference is dropped, not counted as infinity", () => {
    assert.deepEqual(pairedRatio([10, 20, 30], [0, 10, NaN]), { median: 2, min: 2, max: 2, n: 1 });
  });
});
