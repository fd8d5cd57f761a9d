// Resizing through the master, end to end: the proxy cache in front of the resizer
// replicas (MISS then HIT with the same bytes), fmt=auto variants per Accept, the legacy
// TimThumb URLs, over HTTP and HTTPS; a new variant asked for by many clients at once; and
// a changed source served new once its entry expires, although HITs keep cache files open.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { agents, get, localSpec, SCHEMES, secondsUntil, startE2E, type E2E } from "../helpers/e2e.js";

let e2e: E2E;
before(async () => {
  e2e = await startE2E("resize");
});
after(() => e2e?.close());

const src = () => e2e.tree.stills[0]!.slice(1);
const format = async (body: Buffer) => (await sharp(body).metadata()).format;

for (const scheme of SCHEMES) {
  // Each scheme its own widths: the cache is shared by both (the key has no scheme).
  const w = scheme === "http" ? 320 : 321;

  describe(`resizing through the master over ${scheme.toUpperCase()}`, () => {
    it("the first request is a MISS, the second a HIT with identical bytes", async () => {
      const path = `/resize?src=${src()}&w=${w}&h=180`;
      const first = await get(e2e, path, { scheme });
      assert.equal(first.status, 200);
      assert.equal(first.headers["x-cache-status"], "MISS");
      const meta = await sharp(first.body).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", w, 180]);
      const second = await get(e2e, path, { scheme });
      assert.equal(second.headers["x-cache-status"], "HIT");
      assert.deepEqual(second.body, first.body);
      assert.equal(second.headers.etag, first.headers.etag);
    });

    it("fmt=auto: each Accept gets its own cached variant, and WebP only to clients that accept it", async () => {
      const path = `/resize?src=${src()}&w=${w}&fmt=auto`;
      const webp = { accept: "image/webp,image/*,*/*;q=0.8" };
      const avif = { accept: "image/avif,image/webp,*/*" };
      const plain = { accept: "image/*,*/*;q=0.8" };
      const refuses = { accept: "image/webp;q=0, image/jpeg" };

      const w1 = await get(e2e, path, { scheme, headers: webp });
      assert.equal(w1.headers["x-cache-status"], "MISS");
      assert.equal(w1.headers["content-type"], "image/webp");
      assert.equal(await format(w1.body), "webp");
      assert.equal(w1.headers.vary, "Accept");

      // The WebP variant is cached now: a client without WebP must still never get it.
      for (const headers of [plain, refuses, {}]) {
        const r = await get(e2e, path, { scheme, headers });
        assert.equal(r.status, 200);
        assert.equal(r.headers["content-type"], "image/jpeg", JSON.stringify(headers));
        assert.equal(await format(r.body), "jpeg");
      }
      const a1 = await get(e2e, path, { scheme, headers: avif });
      assert.equal(a1.headers["content-type"], "image/avif");

      // Every variant is a HIT the second time, with its own bytes.
      const w2 = await get(e2e, path, { scheme, headers: webp });
      assert.equal(w2.headers["x-cache-status"], "HIT");
      assert.deepEqual(w2.body, w1.body);
      const j2 = await get(e2e, path, { scheme, headers: plain });
      assert.equal(j2.headers["x-cache-status"], "HIT");
      assert.equal(j2.headers["content-type"], "image/jpeg");
      const a2 = await get(e2e, path, { scheme, headers: avif });
      assert.equal(a2.headers["x-cache-status"], "HIT");
      assert.deepEqual(a2.body, a1.body);
    });

    it("a legacy TimThumb URL redirects to its canonical /resize URL; other *.php names are 404", async () => {
      const canonicalPath = `/resize?src=${src()}&w=${w - 160}&h=90`;
      const legacy = await get(e2e, `/timthumb.php?src=/${src()}&w=${w - 160}&h=90&zc=1`, { scheme });
      assert.equal(legacy.status, 301);
      assert.equal(legacy.headers.location, canonicalPath);
      const canonical = await get(e2e, canonicalPath, { scheme });
      assert.equal(canonical.status, 200);
      assert.equal(canonical.headers["content-type"], "image/jpeg");
      const deep = await get(e2e, `/legacy/thumbs/timthumb.php?src=/${src()}&w=${w - 160}&h=90`, { scheme });
      assert.equal(deep.status, 404, "only the script paths of resizer.legacyPaths are resizes");
    });

    it("a bad resize request is the resizer's 4xx, not a 5xx", async () => {
      assert.equal((await get(e2e, `/resize?src=${src()}&w=0`, { scheme })).status, 400);
      assert.equal((await get(e2e, "/resize?src=images/none.jpg&w=10", { scheme })).status, 404);
    });
  });
}

describe("a new variant asked for by many clients at once (a new episode's poster)", () => {
  /** Per replica: resize requests answered, and transforms done, from its own /metrics. */
  async function counters(): Promise<{ requests: number; transforms: number }[]> {
    return Promise.all(
      e2e.cluster.host.resizers.map(async (r) => {
        const text = await (await fetch(`http://${r.listen.address}:${r.listen.port}/metrics`)).text();
        const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
        return { requests: sum(/^resizer_http_requests_total\{route="resize",status="200"\} (\d+)$/gm), transforms: sum(/^resizer_transforms_total (\d+)$/gm) };
      }),
    );
  }

  it("is resized once, by the replica its cache key hashes to, and nobody waits on the cache lock", async () => {
    // A source whose resize takes far longer than the master's short lock wait (5 ms), so
    // every waiter is passed on while the first resize still runs.
    const width = 6000, height = 4000;
    const noise = Buffer.alloc(width * height);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const file = join(e2e.treeDir, "images", "stillshot", "slow.png");
    await sharp(noise, { raw: { width, height, channels: 1 } }).png({ compressionLevel: 1 }).toFile(file);
    chmodSync(file, 0o644);

    const n = 12;
    const pool = agents(n);
    try {
      const before = await counters();
      const path = "/resize?src=stillshot/slow.png&w=640&h=360&fmt=webp";
      const answers = await Promise.all(Array.from({ length: n }, () => get(e2e, path, { agent: pool.http })));
      const after = await counters();
      assert.deepEqual(answers.map((a) => a.status), Array(n).fill(200));
      assert.ok(answers.every((a) => a.body.equals(answers[0]!.body)), "the same bytes for everyone");
      // Before: one request resized while the others slept on nginx's cache lock (~500 ms)
      // and came back as HITs. Now every one of them reaches the replica, which shares one resize.
      assert.deepEqual(answers.map((a) => a.headers["x-cache-status"]), Array(n).fill("MISS"));
      const grew = after.map((c, i) => ({ requests: c.requests - before[i]!.requests, transforms: c.transforms - before[i]!.transforms }));
      assert.equal(grew.reduce((t, c) => t + c.transforms, 0), 1, `one transform in all: ${JSON.stringify(grew)}`);
      assert.deepEqual(grew.map((c) => c.requests).sort((a, b) => a - b), [0, n], `all on one replica: ${JSON.stringify(grew)}`);
    } finally {
      pool.destroy();
    }
  });
});

describe("a source changed on disk (cache files are kept open between HITs)", () => {
  it("is served new once its entry expires, never from a descriptor of the old cache file", async () => {
    const spec = localSpec();
    spec.cache = { ...spec.cache, valid: [{ statuses: [200], time: "1s" }] };
    await e2e.cluster.reload(spec);
    const file = join(e2e.treeDir, "images", "stillshot", "changing.png");
    const paint = async (colour: string) => {
      await sharp({ create: { width: 64, height: 64, channels: 3, background: colour } }).png().toFile(file);
      chmodSync(file, 0o644);
    };
    const red = async (body: Buffer) => (await sharp(body).raw().toBuffer())[0]! > 200;
    await paint("#ff0000");
    const path = "/resize?src=stillshot/changing.png&w=32&h=32&fmt=png";
    assert.equal((await get(e2e, path)).headers["x-cache-status"], "MISS");
    const hit = await get(e2e, path);
    assert.equal(hit.headers["x-cache-status"], "HIT", "the cache file is open now");
    assert.ok(await red(hit.body));

    await paint("#0000ff");
    await secondsUntil(async () => !(await red((await get(e2e, path)).body)), 15_000, 100);
    for (let i = 0; i < 5; i++) {
      const r = await get(e2e, path);
      assert.ok(!(await red(r.body)), `request ${i} after the update (${r.headers["x-cache-status"]}) served the old image`);
    }
  });
});
