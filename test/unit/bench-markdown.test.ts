// Markdown of bench/results/RESULTS.md.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cell, kb, num, rate, table, times, withRange } from "../../bench/lib/markdown.js";

describe("RESULTS.md formatting", () => {
  it("a table with right-aligned number columns; a pipe in a cell cannot break the row", () => {
    const t = table(["path", { title: "req/s", align: "right" }], [["a | b", "12"]]);
    assert.equal(t, "| path | req/s |\n|---|---:|\n| a \\| b | 12 |");
    assert.equal(cell("two\nlines"), "two lines");
  });

  it("a row with a missing cell is a bug, not a shifted table", () => {
    assert.throws(() => table(["a", "b"], [["1"]]), /row 0 has 1 cells, the table 2 columns/);
  });

  it("rates keep three significant digits below 100, thousands grouped above", () => {
    assert.equal(rate(3.948), "3.95");
    assert.equal(rate(68.44), "68.4");
    assert.equal(rate(65899.9), "65,900");
    assert.equal(rate(NaN), "–");
    assert.equal(num(1234.5), "1,235");
  });

  it("a median with its range, the range left out when the runs agree or there was one run", () => {
    assert.equal(withRange({ median: 152, min: 138.2, max: 158, n: 3 }), "152 (138–158)");
    assert.equal(withRange({ median: 68.4, min: 68.4, max: 68.4, n: 3 }), "68.4");
    assert.equal(withRange({ median: 68.4, min: 68.4, max: 68.4, n: 1 }), "68.4");
    assert.equal(withRange({ median: NaN, min: NaN, max: NaN, n: 0 }), "–");
  });

  it("ratios and kilobytes as a CDN bill counts them", () => {
    assert.equal(times(0.8449), "0.84×");
    assert.equal(kb(7600), "7.6 KB");
  });
});
