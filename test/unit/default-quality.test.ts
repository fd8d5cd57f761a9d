// The resizer's default qualities are derived from the committed benchmark, as
// resizer/src/params.ts says: per format, the lowest quality that reaches the SSIM of the
// seeds' GD output on every source of the bytes-at-equal-quality table. New results with
// other qualities must come with new defaults (and the other way round).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import type { BenchResults } from "../../bench/lib/results.js";
import { DEFAULT_QUALITY } from "../../resizer/src/params.js";

const results = JSON.parse(readFileSync(join(__dirname, "../../bench/results/results.json"), "utf8")) as BenchResults;
/** The resizer's own rows of the table, by format (their names start with it). */
const ROWS = { jpeg: "JPEG, resizer", webp: "WebP, resizer", avif: "AVIF, resizer" } as const;

for (const [format, prefix] of Object.entries(ROWS) as [keyof typeof ROWS, string][]) {
  it(`${format}: the default quality is the highest of the per-source qualities that reach GD's SSIM`, () => {
    const perSource = results.quality.map((s) => {
      const row = s.encoders.find((e) => e.encoder.startsWith(prefix));
      assert.ok(row, `${s.src}: no "${prefix}" row`);
      assert.ok(row.reached, `${s.src}: ${row.encoder} never reached GD's SSIM`);
      return { src: s.src, q: row.q };
    });
    assert.ok(perSource.length >= 4, "every source of the table");
    const needed = Math.max(...perSource.map((x) => x.q));
    assert.equal(DEFAULT_QUALITY[format], needed, `per source: ${perSource.map((x) => `${x.src} q${x.q}`).join(", ")}`);
  });
}
