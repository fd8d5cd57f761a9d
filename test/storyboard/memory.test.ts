// A sheet's memory estimate, from its shape alone (pure): what the service logs for each
// sheet and what the cluster config checks the storyboard limits against.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planSheet } from "../../resizer/src/storyboard/compose.js";
import { estimateSheetBytes, largestSheetBytes } from "../../resizer/src/storyboard/memory.js";
import { storyboardSchema } from "../../resizer/src/storyboard/settings.js";

const MB = 1024 * 1024;

describe("sheet memory estimate", () => {
  it("grows with the canvas by the encoder's factor, and with the decoders at work", () => {
    const jpeg = estimateSheetBytes(planSheet(0, 100, { w: 160, h: 90, cols: 10, rows: 10 }, "jpeg", 2));
    const avif = estimateSheetBytes(planSheet(0, 100, { w: 160, h: 90, cols: 10, rows: 10 }, "avif", 2));
    // The bench's measured growth (jemalloc): +33..39 MB as JPEG, +68..77 MB as AVIF.
    assert.ok(jpeg > 40 * MB && jpeg < 55 * MB, `${jpeg / MB} MB`);
    assert.ok(avif > 70 * MB && avif < 85 * MB, `${avif / MB} MB`);
    const partial = estimateSheetBytes(planSheet(1, 101, { w: 160, h: 90, cols: 10, rows: 10 }, "jpeg", 2));
    assert.ok(partial < jpeg / 2, "the last sheet of one still is cut to its tile: little canvas, one decoder");
  });

  it("bounds the largest sheet the limits allow: the sheet side, or the tiles when they are smaller", () => {
    const defaults = storyboardSchema.parse({});
    const side = defaults.maxSheetDimension;
    const byLimits = estimateSheetBytes({ width: side, height: side, grid: { w: 640, h: 640 }, format: "avif", parallelism: 2 });
    assert.equal(largestSheetBytes(defaults), byLimits);
    // A request can reach it: 10x10 tiles of 204x204 is a 2040x2040 sheet.
    const reachable = estimateSheetBytes(planSheet(0, 100, { w: 204, h: 204, cols: 10, rows: 10 }, "avif", 2));
    assert.ok(reachable <= largestSheetBytes(defaults) && reachable > 0.95 * largestSheetBytes(defaults));
    // Four tiles of at most 100x100 cannot make a large sheet, whatever maxSheetDimension says.
    const small = storyboardSchema.parse({ maxStillsPerSheet: 4, maxTileDimension: 100, defaults: { w: 100, h: 90, cols: 2, rows: 2 } });
    assert.equal(largestSheetBytes(small), estimateSheetBytes({ width: 200, height: 200, grid: { w: 100, h: 100 }, format: "avif", parallelism: 2 }));
  });
});
