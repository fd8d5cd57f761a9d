// The resize service over real HTTP on loopback, with real images decoded by sharp.
import assert from "node:assert/strict";
import { stat, utimes } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { render } from "../../resizer/src/engine.js";
import { DEFAULT_QUALITY } from "../../resizer/src/params.js";
import { planWithoutHeader } from "../../resizer/src/plan.js";
import { serviceSchema } from "../../resizer/src/settings.js";
import { ACCEPT_TABLE } from "../helpers/accept-table.js";
import { BLUE, GREEN, RED, WHITE } from "../helpers/images.js";
import { startResizer, type TestResizer } from "../helpers/resizer.js";

let svc: TestResizer;
before(async () => {
  svc = await startResizer({
    presets: { thumb_320x180: { w: 320, h: 180 }, square: { w: 100, h: 100, fit: "cover", fmt: "webp" } },
    cacheControl: "public, max-age=600",
  });
});
after(() => svc.close());

async function decode(bytes: Buffer) {
  const meta = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  /** The RGB at (x, y) of the decoded image. */
  const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  return { meta, pixel };
}

function assertColour(actual: number[], expected: readonly number[], where: string): void {
  const off = actual.some((v, i) => Math.abs(v - (expected[i] ?? 0)) > 40);
  assert.ok(!off, `${where}: expected ~${expected.join(",")}, got ${actual.join(",")}`);
}

describe("resizing", () => {
  it("1920x1080 JPEG -> 320x180 JPEG, sRGB, metadata stripped", async () => {
    const res = await svc.get("/resize?src=dir/sub/photo.jpg&w=320&h=180");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    assert.equal(Number(res.headers.get("content-length")), res.bytes.length);
    const { meta } = await decode(res.bytes);
    assert.deepEqual([meta.format, meta.width, meta.height, meta.space, meta.channels], ["jpeg", 320, 180, "srgb", 3]);
    assert.equal(meta.exif, undefined);
    assert.equal(meta.icc, undefined);
  });

  it("JPEG is progressive with optimised scans: the baseline encoder's pixels in fewer bytes", async () => {
    const res = await svc.get("/resize?src=dir/sub/photo.jpg&w=320&h=180&fmt=jpeg");
    assert.equal(res.headers.get("x-resize-params"), "src=dir/sub/photo.jpg&w=320&h=180&fmt=jpeg", "the default quality");
    assert.equal((await sharp(res.bytes).metadata()).isProgressive, true);
    // The same pixels (the lossless answer) through sharp's baseline JPEG encoder at the same quality.
    const lossless = (await svc.get("/resize?src=dir/sub/photo.jpg&w=320&h=180&fmt=png")).bytes;
    const baseline = await sharp(lossless).jpeg({ quality: DEFAULT_QUALITY.jpeg }).toBuffer();
    const pixels = async (b: Buffer) => sharp(b).raw().toBuffer();
    assert.ok((await pixels(res.bytes)).equals(await pixels(baseline)), "same quantisation, same decoded pixels");
    assert.ok(res.bytes.length < baseline.length, `${res.bytes.length} bytes, baseline ${baseline.length}`);
  });

  it("a box without fmt keeps the source's format, planned from its first bytes: the same bytes as with fmt", async () => {
    const sniffed = await svc.get("/resize?src=dir/sub/photo.jpg&w=200&h=100");
    const explicit = await svc.get("/resize?src=dir/sub/photo.jpg&w=200&h=100&fmt=jpeg");
    assert.equal(sniffed.headers.get("content-type"), "image/jpeg");
    assert.ok(sniffed.bytes.equals(explicit.bytes));
    const gif = await svc.get("/resize?src=anim.gif&w=40&h=40");
    assert.equal(gif.headers.get("content-type"), "image/png", "a GIF becomes PNG, as with the probe");
  });

  it("keeps the aspect ratio with w or h alone", async () => {
    const byWidth = await decode((await svc.get("/resize?src=quadrants.jpg&w=200")).bytes);
    assert.deepEqual([byWidth.meta.width, byWidth.meta.height], [200, 150]);
    const byHeight = await decode((await svc.get("/resize?src=quadrants.jpg&h=60")).bytes);
    assert.deepEqual([byHeight.meta.width, byHeight.meta.height], [80, 60]);
  });

  it("never enlarges unless asked", async () => {
    const plain = await decode((await svc.get("/resize?src=quadrants.jpg&w=1000")).bytes);
    assert.deepEqual([plain.meta.width, plain.meta.height], [400, 300]);
    const enlarged = await decode((await svc.get("/resize?src=quadrants.jpg&w=1000&enlarge=1")).bytes);
    assert.deepEqual([enlarged.meta.width, enlarged.meta.height], [1000, 750]);
  });

  it("fits as sharp does: cover crops, contain letterboxes, fill stretches, inside/outside scale", async () => {
    const size = async (q: string) => {
      const { meta } = await decode((await svc.get(`/resize?src=quadrants.jpg&${q}`)).bytes);
      return [meta.width, meta.height];
    };
    assert.deepEqual(await size("w=100&h=100"), [100, 100]);
    assert.deepEqual(await size("w=100&h=100&fit=contain"), [100, 100]);
    assert.deepEqual(await size("w=100&h=100&fit=fill"), [100, 100]);
    assert.deepEqual(await size("w=100&h=100&fit=inside"), [100, 75]);
    assert.deepEqual(await size("w=100&h=100&fit=outside"), [133, 100]);
    const letterbox = await decode((await svc.get("/resize?src=quadrants.jpg&w=100&h=100&fit=contain")).bytes);
    assertColour(letterbox.pixel(50, 2), WHITE, "letterbox bar of an opaque source");
  });

  it("crops towards the requested position", async () => {
    const top = await decode((await svc.get("/resize?src=quadrants.jpg&w=400&h=100&position=north")).bytes);
    assertColour(top.pixel(10, 50), RED, "north crop keeps the top row");
    const bottom = await decode((await svc.get("/resize?src=quadrants.jpg&w=400&h=100&position=south")).bytes);
    assertColour(bottom.pixel(10, 50), BLUE, "south crop keeps the bottom row");
  });

  for (const fmt of ["jpeg", "png", "webp", "avif"] as const) {
    it(`encodes fmt=${fmt}`, async () => {
      const res = await svc.get(`/resize?src=quadrants.jpg&w=120&fmt=${fmt}`);
      assert.equal(res.headers.get("content-type"), `image/${fmt}`);
      const { meta } = await decode(res.bytes);
      assert.equal(meta.format, fmt === "avif" ? "heif" : fmt);
      assert.equal(meta.width, 120);
    });
  }

  it("applies q: lower quality, fewer bytes", async () => {
    const low = await svc.get("/resize?src=dir/sub/photo.jpg&w=640&q=20");
    const high = await svc.get("/resize?src=dir/sub/photo.jpg&w=640&q=95");
    assert.ok(low.bytes.length < high.bytes.length, `${low.bytes.length} < ${high.bytes.length}`);
  });

  it("applies the EXIF orientation, then drops it", async () => {
    const res = await svc.get("/resize?src=rotated.jpg&w=100");
    const { meta, pixel } = await decode(res.bytes);
    assert.deepEqual([meta.width, meta.height], [100, 200], "stored 400x200, displayed 200x400");
    assert.equal(meta.orientation, undefined);
    // Rotating the stored picture 90° clockwise puts its bottom-left (blue) at the top-left.
    assertColour(pixel(5, 5), BLUE, "top-left");
    assertColour(pixel(95, 5), RED, "top-right");
    assertColour(pixel(5, 195), WHITE, "bottom-left");
  });

  it("converts CMYK to sRGB", async () => {
    const { meta, pixel } = await decode((await svc.get("/resize?src=cmyk.jpg&w=100")).bytes);
    assert.deepEqual([meta.space, meta.channels], ["srgb", 3]);
    assertColour(pixel(5, 5), RED, "top-left after CMYK round trip");
  });

  it("turns a 16-bit PNG into an 8-bit PNG", async () => {
    const res = await svc.get("/resize?src=deep.png&w=100");
    const { meta, pixel } = await decode(res.bytes);
    assert.deepEqual([meta.format, meta.depth, meta.width], ["png", "uchar", 100]);
    assertColour(pixel(95, 5), GREEN, "top-right");
  });

  it("flattens transparency onto white for JPEG and keeps it for WebP", async () => {
    const jpeg = await decode((await svc.get("/resize?src=alpha.png&w=100&fmt=jpeg")).bytes);
    assert.equal(jpeg.meta.channels, 3);
    assertColour(jpeg.pixel(5, 5), WHITE, "transparent pixel in a JPEG");
    const webp = await sharp((await svc.get("/resize?src=alpha.png&w=100&fmt=webp")).bytes).metadata();
    assert.equal(webp.hasAlpha, true);
  });

  for (const [src, format] of [["quadrants.webp", "webp"], ["quadrants.avif", "heif"], ["alpha.png", "png"]] as const) {
    it(`reads ${src} and keeps its format without fmt`, async () => {
      const { meta, pixel } = await decode((await svc.get(`/resize?src=${src}&w=100`)).bytes);
      assert.deepEqual([meta.format, meta.width], [format, 100]);
      if (src !== "alpha.png") assertColour(pixel(95, 70), WHITE, "bottom-right");
    });
  }

  it("serves the first frame of an animated GIF, as a PNG still", async () => {
    const res = await svc.get("/resize?src=anim.gif&w=80");
    assert.equal(res.headers.get("content-type"), "image/png");
    const { meta, pixel } = await decode(res.bytes);
    assert.deepEqual([meta.width, meta.height, meta.pages ?? 1], [80, 60, 1]);
    assertColour(pixel(40, 30), RED, "first frame");
  });

  it("answers a box with fmt (planned without reading the header first) like any request", async () => {
    const rotated = await decode((await svc.get("/resize?src=rotated.jpg&w=100&h=200&fmt=jpeg")).bytes);
    assert.deepEqual([rotated.meta.width, rotated.meta.height, rotated.meta.orientation], [100, 200, undefined]);
    assertColour(rotated.pixel(5, 5), BLUE, "EXIF orientation applied: top-left");
    assertColour(rotated.pixel(95, 5), RED, "EXIF orientation applied: top-right");
    const flattened = await decode((await svc.get("/resize?src=alpha.png&w=100&h=100&fmt=jpeg")).bytes);
    assert.equal(flattened.meta.channels, 3);
    assertColour(flattened.pixel(5, 5), WHITE, "transparent pixel in a JPEG");
    assert.equal((await sharp((await svc.get("/resize?src=alpha.png&w=100&h=100&fmt=webp")).bytes).metadata()).hasAlpha, true);
    const cmyk = await decode((await svc.get("/resize?src=cmyk.jpg&w=100&h=50&fmt=jpeg")).bytes);
    assert.deepEqual([cmyk.meta.space, cmyk.meta.channels], ["srgb", 3]);
    assertColour(cmyk.pixel(5, 5), RED, "top-left after CMYK round trip");
    const gif = await decode((await svc.get("/resize?src=anim.gif&w=80&h=60&fmt=png")).bytes);
    assert.deepEqual([gif.meta.width, gif.meta.height, gif.meta.pages ?? 1], [80, 60, 1]);
    assertColour(gif.pixel(40, 30), RED, "first frame");
  });

  it("flattening for JPEG leaves an opaque source's bytes alone (so it needs no header)", async () => {
    for (const src of ["quadrants.jpg", "cmyk.jpg", "rotated.jpg", "deep.png"]) {
      const input = path.join(svc.root, src);
      const plan = planWithoutHeader({ w: 90, h: 60 }, ["jpeg"], { ...serviceSchema.parse({}), budgetBytes: 2 ** 40 });
      assert.ok(plan?.flatten === true);
      const options = { maxInputPixels: 1e8 };
      const [flattened, untouched] = await Promise.all([render(input, plan, options), render(input, { ...plan, flatten: false }, options)]);
      assert.ok(flattened.data.equals(untouched.data), `${src}: same bytes with and without flatten`);
    }
  });

  it("serves files with spaces and '+' in their names", async () => {
    const res = await svc.get("/resize?src=a%20b%2Bc.jpg&w=50");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-resize-params"), "src=a%20b%2Bc.jpg&w=50");
  });

  it("follows symlinks that stay inside the root", async () => {
    const res = await svc.get("/resize?src=alias.jpg&w=50");
    assert.equal(res.status, 200);
  });

  it("answers HEAD with the GET headers and no body", async () => {
    const get = await svc.get("/resize?src=quadrants.jpg&w=64");
    const head = await fetch(`${svc.base}/resize?src=quadrants.jpg&w=64`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("etag"), get.headers.get("etag"));
    assert.equal(head.headers.get("content-length"), String(get.bytes.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });
});

describe("format negotiation (fmt=auto)", () => {
  for (const [accept, variant] of [
    ["image/avif,image/webp,image/apng,*/*;q=0.8", "avif"],
    ["image/webp,*/*", "webp"],
    ["image/avif;q=0,image/webp", "webp"],
    ["*/*", "jpeg"],
    ["", "jpeg"],
  ] as const) {
    it(`Accept: ${JSON.stringify(accept)} -> ${variant}`, async () => {
      const res = await svc.get("/resize?src=quadrants.jpg&w=80&fmt=auto", { Accept: accept });
      assert.equal(res.headers.get("content-type"), `image/${variant}`);
      assert.equal(res.headers.get("vary"), "Accept");
      const { meta } = await decode(res.bytes);
      assert.equal(meta.format, variant === "avif" ? "heif" : variant);
    });
  }

  it("answers every Accept of the shared table with the format the master's map picks for it", async () => {
    for (const [accept, variant] of ACCEPT_TABLE) {
      const res = await svc.get("/resize?src=quadrants.jpg&w=40&fmt=auto", accept === undefined ? {} : { Accept: accept });
      assert.equal(res.headers.get("content-type"), `image/${variant}`, JSON.stringify(accept));
    }
  });

  it("falls back to the next accepted format when the best one's area limit is exceeded", async () => {
    const small = await startResizer({ maxOutputPixels: { avif: 10_000 } }, { dir: path.dirname(svc.root), root: svc.root });
    try {
      const res = await small.get("/resize?src=quadrants.jpg&w=200&h=100&fmt=auto", { Accept: "image/avif,image/webp" });
      assert.equal(res.headers.get("content-type"), "image/webp");
      const explicit = await small.get("/resize?src=quadrants.jpg&w=200&h=100&fmt=avif");
      assert.equal(explicit.status, 400);
      assert.match(explicit.bytes.toString(), /over the AVIF limit of 10000 px/);
    } finally {
      await small.close();
    }
  });

  it("gives each variant its own ETag, and only auto varies on Accept", async () => {
    const avif = await svc.get("/resize?src=quadrants.jpg&w=80&fmt=auto", { Accept: "image/avif" });
    const webp = await svc.get("/resize?src=quadrants.jpg&w=80&fmt=auto", { Accept: "image/webp" });
    assert.notEqual(avif.headers.get("etag"), webp.headers.get("etag"));
    const fixed = await svc.get("/resize?src=quadrants.jpg&w=80&fmt=webp", { Accept: "image/avif" });
    assert.equal(fixed.headers.get("vary"), null);
  });
});

describe("TimThumb alias", () => {
  for (const [legacy, canonical] of [
    ["/timthumb.php?src=/dir/sub/photo.jpg&w=320&h=180&zc=1&a=t&q=70", "/resize?src=dir/sub/photo.jpg&w=320&h=180&position=north&q=70"],
    ["/timthumb.php?src=quadrants.jpg&h=90&w=0", "/resize?src=quadrants.jpg&h=90"],
    ["/timthumb.php?zc=2&w=100&h=100&src=/quadrants.jpg&f=2|3&s=1", "/resize?src=quadrants.jpg&w=100&h=100&fit=contain"],
    ["/timthumb.php?src=rotated.jpg&zc=0&w=50&h=50", "/resize?src=rotated.jpg&w=50&h=50&fit=fill"],
  ] as const) {
    it(`${legacy} redirects to ${canonical}, which it equals byte for byte`, async () => {
      const redirect = await svc.get(legacy, {}, "manual");
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get("location"), canonical);
      const a = await svc.get(legacy);
      const b = await svc.get(canonical);
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.ok(a.bytes.equals(b.bytes), "same bytes");
      assert.equal(a.headers.get("etag"), b.headers.get("etag"));
      assert.equal(a.headers.get("x-resize-params"), b.headers.get("x-resize-params"));
      assert.equal(a.headers.get("content-type"), b.headers.get("content-type"));
    });
  }

  it("answers only the configured script names (resizer.legacyPaths); any other *.php is a 404", async () => {
    for (const path of ["/thumb/image.php", "/x.PHP", "/TimThumb.php", "/a1b2c3.php"]) {
      const res = await svc.get(`${path}?src=quadrants.jpg&w=40`, {}, "manual");
      assert.equal(res.status, 404, path);
    }
    const other = await startResizer({ legacyPaths: ["/thumb/image.php"] }, { dir: path.dirname(svc.root), root: svc.root });
    try {
      assert.equal((await other.get("/thumb/image.php?src=quadrants.jpg&w=40", {}, "manual")).status, 301);
      assert.equal((await other.get("/timthumb.php?src=quadrants.jpg&w=40", {}, "manual")).status, 404);
    } finally {
      await other.close();
    }
  });

  it("uses TimThumb's 100x100 when no size is given", async () => {
    const { meta } = await decode((await svc.get("/timthumb.php?src=quadrants.jpg")).bytes);
    assert.deepEqual([meta.width, meta.height], [100, 100]);
  });
});

describe("presets", () => {
  it("?p=name equals the spelled-out transform", async () => {
    const preset = await svc.get("/resize?src=dir/sub/photo.jpg&p=thumb_320x180");
    const spelled = await svc.get("/resize?src=dir/sub/photo.jpg&w=320&h=180");
    assert.equal(preset.status, 200);
    assert.ok(preset.bytes.equals(spelled.bytes));
    const square = await svc.get("/resize?src=quadrants.jpg&p=square");
    assert.equal(square.headers.get("content-type"), "image/webp");
  });

  it("presetsOnly refuses other sizes with 400 and serves the presets", async () => {
    const only = await startResizer({ presets: { thumb_320x180: { w: 320, h: 180 } }, presetsOnly: true });
    try {
      assert.equal((await only.get("/resize?src=quadrants.jpg&p=thumb_320x180")).status, 200);
      assert.equal((await only.get("/timthumb.php?src=quadrants.jpg&w=320&h=180")).status, 200);
      const refused = await only.get("/resize?src=quadrants.jpg&w=321&h=180");
      assert.equal(refused.status, 400);
      assert.match(String((JSON.parse(refused.bytes.toString()) as { message: string }).message), /presets/);
    } finally {
      await only.close();
    }
  });
});

describe("headers and revalidation", () => {
  it("carries validators, the canonical parameters, the engine and Cache-Control from config", async () => {
    const res = await svc.get("/resize?w=0320&src=/dir/sub/photo.jpg&h=180&fit=cover");
    assert.match(res.headers.get("etag") ?? "", /^"[A-Za-z0-9_-]{32}"$/, "a strong ETag");
    assert.equal(res.headers.get("x-resize-params"), "src=dir/sub/photo.jpg&w=320&h=180");
    assert.match(res.headers.get("x-resize-engine") ?? "", /^sharp\/\d+\.\d+\.\d+ libvips\/\d+\.\d+\.\d+$/);
    assert.equal(res.headers.get("cache-control"), "public, max-age=600");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.ok(res.headers.get("x-request-id"));
    const { mtime } = await stat(path.join(svc.root, "dir/sub/photo.jpg"));
    assert.equal(res.headers.get("last-modified"), new Date(Math.floor(mtime.getTime() / 1000) * 1000).toUTCString());
  });

  it("equivalent URLs share one ETag; different transforms do not", async () => {
    const a = await svc.get("/resize?src=quadrants.jpg&w=100&h=100");
    const b = await svc.get("/resize?h=100&w=100&src=/quadrants.jpg&fit=cover&position=center");
    const c = await svc.get("/resize?src=quadrants.jpg&w=100&h=101");
    assert.equal(a.headers.get("etag"), b.headers.get("etag"));
    assert.ok(a.bytes.equals(b.bytes));
    assert.notEqual(a.headers.get("etag"), c.headers.get("etag"));
  });

  it("If-None-Match answers 304 without reading the source", async () => {
    const first = await svc.get("/resize?src=dir/sub/photo.jpg&w=200");
    const etag = first.headers.get("etag") ?? "";
    const readBefore = await sourceBytesRead();
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await svc.get("/resize?src=dir/sub/photo.jpg&w=200", { "If-None-Match": inm });
      assert.equal(res.status, 304, inm);
      assert.equal(res.bytes.length, 0);
      assert.equal(res.headers.get("etag"), etag);
      assert.equal(res.headers.get("cache-control"), "public, max-age=600");
    }
    assert.equal(await sourceBytesRead(), readBefore, "no source byte was read for a 304");
    const stale = await svc.get("/resize?src=dir/sub/photo.jpg&w=200", { "If-None-Match": '"stale"' });
    assert.equal(stale.status, 200);
  });

  it("If-Modified-Since answers 304 when the source is unchanged", async () => {
    const first = await svc.get("/resize?src=quadrants.jpg&w=30");
    const res = await svc.get("/resize?src=quadrants.jpg&w=30", { "If-Modified-Since": first.headers.get("last-modified") ?? "" });
    assert.equal(res.status, 304);
  });

  it("a changed source gets a new ETag", async () => {
    const file = path.join(svc.root, "quadrants.webp");
    const before = (await svc.get("/resize?src=quadrants.webp&w=30")).headers.get("etag");
    await utimes(file, new Date(), new Date(Date.now() + 5_000));
    const res = await svc.get("/resize?src=quadrants.webp&w=30", { "If-None-Match": before ?? "" });
    assert.equal(res.status, 200);
    assert.notEqual(res.headers.get("etag"), before);
  });
});

async function sourceBytesRead(): Promise<number> {
  const text = await (await svc.get("/metrics")).bytes.toString();
  const line = text.split("\n").find((l) => l.startsWith("resizer_source_bytes_total "));
  return Number(line?.split(" ")[1]);
}

describe("operations", () => {
  it("/healthz answers 200 while the images root is readable", async () => {
    const res = await svc.get("/healthz");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
  });

  it("/metrics exposes requests by status, latency, in-flight, queue and bytes, and no libvips-cache gauges (the cache is off)", async () => {
    await svc.get("/resize?src=quadrants.jpg&w=10");
    await svc.get("/resize?src=missing.jpg&w=10");
    const res = await svc.get("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const text = res.bytes.toString();
    for (const pattern of [
      /^resizer_http_requests_total\{route="resize",status="200"\} [1-9]/m,
      /^resizer_http_requests_total\{route="resize",status="404"\} [1-9]/m,
      /^resizer_http_request_duration_seconds_bucket\{le="0.1",route="resize"\} [1-9]/m,
      /^resizer_http_in_flight_requests 1$/m, // this very request
      /^resizer_queue_depth 0$/m,
      /^resizer_transforms_active 0$/m,
      /^resizer_source_bytes_total [1-9]/m,
      /^resizer_response_bytes_total [1-9]/m,
      /^resizer_errors_total\{code="not_found"\} [1-9]/m,
      /^process_resident_memory_bytes \d/m,
    ]) {
      assert.match(text, pattern);
    }
    assert.doesNotMatch(text, /resizer_vips_cache/);
  });

  it("logs one JSON line per request with its id, parameters and status, no image bytes", async () => {
    const id = "test-request-42";
    const res = await svc.get("/resize?src=quadrants.jpg&w=77", { "X-Request-Id": id });
    assert.equal(res.headers.get("x-request-id"), id);
    await new Promise((r) => setImmediate(r));
    const lines = svc.logs.filter((l) => l.id === id);
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.status, 200);
    assert.equal(line.params, "src=quadrants.jpg&w=77");
    assert.equal(line.bytes, res.bytes.length);
    assert.ok(JSON.stringify(line).length < 400, "a short line, never image data");
  });

  it("replaces an unusable X-Request-Id with its own", async () => {
    const res = await svc.get("/healthz", { "X-Request-Id": "bad id with spaces" });
    assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  });
});
