// RESIZER_ALLOW_VECTOR=true: SVG sources are rendered. Own file (own process): which
// libvips loaders are enabled is process-wide.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import sharp from "sharp";
import { startResizer, type TestResizer } from "../helpers/resizer.js";

let svc: TestResizer;
before(async () => {
  svc = await startResizer({ allowVector: true });
});
after(() => svc.close());

it("renders an SVG source to PNG when vector sources are enabled", async () => {
  const res = await svc.get("/resize?src=vector.svg&w=100");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "image/png");
  const meta = await sharp(res.bytes).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ["png", 100, 50]);
});

it("still refuses PDF (sharp's libvips has no PDF loader) and other formats", async () => {
  assert.equal((await svc.get("/resize?src=doc.pdf&w=100")).status, 422);
  assert.equal((await svc.get("/resize?src=not-an-image.jpg&w=100")).status, 422);
});
