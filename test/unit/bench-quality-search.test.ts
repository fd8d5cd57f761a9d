// The search for the lowest encoder quality that reaches a target SSIM.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lowestQualityReaching, type Encoded } from "../../bench/lib/quality-search.js";

/** An encoder whose SSIM rises with q (like real ones), counting its encodes. */
function encoder(ssimAt: (q: number) => number) {
  const calls: number[] = [];
  return {
    calls,
    evaluate: async (q: number): Promise<Encoded> => {
      calls.push(q);
      return { ssim: ssimAt(q), bytes: q * 100 };
    },
  };
}

describe("lowest quality reaching a target SSIM", () => {
  it("finds the exact threshold in a handful of encodes, each q encoded once", async () => {
    const e = encoder((q) => 0.9 + q / 1000);
    const m = await lowestQualityReaching(0.9735, e.evaluate);
    assert.deepEqual([m.q, m.bytes, m.reached], [74, 7400, true]);
    assert.ok(m.ssim >= 0.9735);
    assert.ok(e.calls.length <= 8, `${e.calls.length} encodes`);
    assert.equal(new Set(e.calls).size, e.calls.length);
    assert.equal(m.evaluations, e.calls.length);
  });

  it("a target even q100 misses is reported as not reached, with what q100 gives", async () => {
    const e = encoder((q) => 0.9 + q / 10_000);
    const m = await lowestQualityReaching(0.95, e.evaluate);
    assert.deepEqual([m.q, m.reached, m.ssim], [100, false, 0.91]);
    assert.deepEqual(e.calls, [100]);
  });

  it("a target every quality reaches gives the lowest of the range", async () => {
    const m = await lowestQualityReaching(0.5, encoder(() => 0.99).evaluate, { lo: 10, hi: 90 });
    assert.equal(m.q, 10);
  });

  it("a dip in an encoder's curve can cost bytes, never quality: the answer always reaches the target", async () => {
    // q75 dips below the target although q60..74 reach it; the search visits q75 and
    // settles above it: a higher q than needed, but one that reaches the target.
    const e = encoder((q) => (q === 75 ? 0.95 : 0.9 + q / 1000));
    const m = await lowestQualityReaching(0.96, e.evaluate);
    assert.ok(e.calls.includes(75));
    assert.ok(m.ssim >= 0.96);
    assert.equal(m.q, 76);
  });
});
