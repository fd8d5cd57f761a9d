// The benchmark's generated sources: deterministic photo-like pixels (encoders must meet
// gradients and fine texture, as in real photos), never flat colour.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import { foliage, fractalNoise, landscape, posterSvg, rng, studioStillSvg, type RawImage } from "../../bench/lib/scenes.js";

function stats(img: RawImage) {
  const n = img.width * img.height;
  const colours = new Set<number>();
  let neighbour = 0;
  const mean = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const p = i * 3;
    colours.add((img.data[p]! << 16) | (img.data[p + 1]! << 8) | img.data[p + 2]!);
    for (let c = 0; c < 3; c++) mean[c]! += img.data[p + c]! / n;
    if ((i + 1) % img.width !== 0) neighbour += Math.abs(img.data[p + 1]! - img.data[p + 4]!) / n;
  }
  return { colours: colours.size, mean, neighbour };
}

describe("generated sources", () => {
  it("the PRNG and the noise are deterministic, in [0, 1]", () => {
    const a = rng(5);
    const b = rng(5);
    for (let i = 0; i < 10; i++) assert.equal(a(), b());
    const n = fractalNoise(64, 32, { seed: 3, cell: 16, octaves: 4 });
    assert.deepEqual(n, fractalNoise(64, 32, { seed: 3, cell: 16, octaves: 4 }));
    assert.ok(n.every((v) => v >= 0 && v <= 1));
    assert.notDeepEqual(n, fractalNoise(64, 32, { seed: 4, cell: 16, octaves: 4 }));
  });

  it("a landscape: the same scene every time, blue sky above green grass, thousands of colours", () => {
    const img = landscape(192, 108);
    assert.deepEqual(img.data, landscape(192, 108).data);
    assert.equal(img.data.length, 192 * 108 * 3);
    const s = stats(img);
    assert.ok(s.colours > 3000, `${s.colours} colours`);
    const at = (x: number, y: number) => [...img.data.subarray((y * 192 + x) * 3, (y * 192 + x) * 3 + 3)];
    const [r1, , b1] = at(20, 5);
    const [r2, g2, b2] = at(20, 100);
    assert.ok(b1! > r1! + 40, `sky ${at(20, 5)}`);
    assert.ok(g2! > b2! + 30 && g2! > r2!, `grass ${at(20, 100)}`);
  });

  it("foliage: detail everywhere (neighbouring pixels differ a lot), the hard case for encoders", () => {
    const f = stats(foliage(400, 300));
    const l = stats(landscape(400, 225));
    assert.ok(f.neighbour > 2 * l.neighbour, `foliage ${f.neighbour.toFixed(1)} vs landscape ${l.neighbour.toFixed(1)}`);
    assert.ok(f.mean[1]! > f.mean[2]!, "green over blue");
  });

  it("the poster and the studio still are SVG that renders at the asked size, not flat", async () => {
    for (const svg of [posterSvg(384, 216), studioStillSvg(384, 216)]) {
      const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.width, info.height], [384, 216]);
      assert.ok(stats({ width: 384, height: 216, data }).colours > 1000);
    }
  });
});
