// One URL per result: every spelling of a request but its canonical one answers a cheap
// redirect to it (before any file is touched), so the master, which caches by URL, keeps
// one entry per result. And signed URLs: a deployment can refuse every size its
// application did not sign, with keys that rotate.
import assert from "node:assert/strict";
import { copyFile, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { DEFAULT_QUALITY } from "../../resizer/src/params.js";
import { sign, verify } from "../../resizer/src/signing.js";
import { fixtureTree, startResizer, type TestResizer } from "../helpers/resizer.js";

const PRESETS = { thumb_320x180: { w: 320, h: 180, fit: "cover" as const, fmt: "auto" as const } };
const NEW_KEY = "new-key-0123456789abcdef0123456789abcdef";
const OLD_KEY = "old-key-fedcba9876543210fedcba9876543210";
let tree: Awaited<ReturnType<typeof fixtureTree>>;
let svc: TestResizer;
let signed: TestResizer;

before(async () => {
  tree = await fixtureTree();
  // Real images under hidden and backup names: a 404 is the rule, not a missing file.
  for (const name of ["dir/.hidden.jpg", ".git/config", "quadrants.jpg~", "quadrants.jpg.bak", "x.ORIG"]) {
    await mkdir(path.dirname(path.join(tree.root, name)), { recursive: true });
    await copyFile(path.join(tree.root, "quadrants.jpg"), path.join(tree.root, name));
  }
  svc = await startResizer({ presets: PRESETS }, tree);
  signed = await startResizer({ presets: PRESETS, signing: { required: true, exemptLegacy: true } }, tree, [NEW_KEY, OLD_KEY]);
});
after(async () => {
  await svc.close();
  await signed.close();
  await rm(tree.dir, { recursive: true, force: true });
});

async function redirectOf(s: TestResizer, url: string): Promise<string> {
  const res = await s.get(url, {}, "manual");
  assert.equal(res.status, 301, `${url}: ${res.bytes.toString()}`);
  assert.equal(res.headers.get("cache-control"), "private, max-age=3600", "browsers may keep it, shared caches (the master) may not");
  assert.equal(res.bytes.length, 0);
  return res.headers.get("location")!;
}

describe("canonical URLs", () => {
  const CANONICAL = "/resize?src=dir/sub/photo.jpg&w=320&h=90&fmt=webp";

  it("the canonical spelling is served; every other spelling redirects to it", async () => {
    const ok = await svc.get(CANONICAL, {}, "manual");
    assert.equal(ok.status, 200);
    for (const other of [
      "/resize?src=dir/sub/photo.jpg&w=0320&h=90&fmt=webp",
      "/resize?src=dir/sub/photo.jpg&w=320&h=90&fmt=WEBP",
      "/resize?src=dir/sub/photo.jpg&w=320&h=90&fmt=webp&fit=COVER",
      "/resize?h=90&w=320&src=dir/sub/photo.jpg&fmt=webp",
      "/resize?src=dir%2Fsub%2Fphoto.jpg&w=320&h=90&fmt=webp",
      "/resize?src=%64ir/sub/photo.jpg&w=320&h=90&fmt=webp",
      "/resize?%73rc=dir/sub/photo.jpg&w=320&h=90&fmt=webp",
      `/resize?src=/dir/sub/photo.jpg&w=320&h=90&fmt=webp&q=${DEFAULT_QUALITY.webp}`,
      "/resize?src=dir/sub/photo.jpg&w=320&h=90&fmt=webp&position=centre&enlarge=0",
      "/resize?src=dir/sub/photo.jpg&w=320&h=90&fmt=webp&pos=",
    ]) {
      assert.equal(await redirectOf(svc, other), CANONICAL, other);
    }
  });

  it("a redirect touches no file: a missing source's other spelling still redirects (its canonical URL answers 404)", async () => {
    assert.equal(await redirectOf(svc, "/resize?w=10&src=missing.jpg"), "/resize?src=missing.jpg&w=10");
    assert.equal((await svc.get("/resize?src=missing.jpg&w=10", {}, "manual")).status, 404);
  });

  it("a transform equal to a preset has the preset's URL, with presetsOnly too", async () => {
    assert.equal(await redirectOf(svc, "/resize?src=quadrants.jpg&w=320&h=180&fmt=auto"), "/resize?src=quadrants.jpg&p=thumb_320x180");
    assert.equal((await svc.get("/resize?src=quadrants.jpg&p=thumb_320x180", {}, "manual")).status, 200);
    const only = await startResizer({ presets: PRESETS, presetsOnly: true }, tree);
    try {
      for (const other of ["/resize?src=quadrants.jpg&w=0320&h=180&fmt=AUTO", "/resize?fit=COVER&h=180&w=320&src=%71uadrants.jpg&fmt=auto", "/resize?p=thumb_320x180&src=/quadrants.jpg"]) {
        assert.equal(await redirectOf(only, other), "/resize?src=quadrants.jpg&p=thumb_320x180", other);
      }
    } finally {
      await only.close();
    }
  });

  it("TimThumb URLs redirect to /resize, whatever they carry in their ignored parameters", async () => {
    for (const f of ["1", "random-1", "random-2"]) {
      assert.equal(await redirectOf(svc, `/timthumb.php?src=/quadrants.jpg&w=320&h=90&zc=1&f=${f}&s=1`), "/resize?src=quadrants.jpg&w=320&h=90");
    }
  });
});

describe("hidden and backup files", () => {
  it("are never a source, whether they exist or not (404, as if absent)", async () => {
    for (const src of [".env", "dir/.hidden.jpg", ".git/config", "quadrants.jpg~", "quadrants.jpg.bak", "x.ORIG"]) {
      const res = await svc.get(`/resize?src=${src}&w=10`, {}, "manual");
      assert.equal(res.status, 404, src);
      assert.equal((JSON.parse(res.bytes.toString()) as { error: string }).error, "not_found");
    }
  });
});

describe("signed URLs", () => {
  const query = "src=quadrants.jpg&w=77&h=33";

  it("signatures are HMAC-SHA256 of the canonical request; every listed key verifies", () => {
    const sig = sign(NEW_KEY, query);
    assert.match(sig, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(verify([NEW_KEY, OLD_KEY], query, sig), true);
    assert.equal(verify([OLD_KEY], query, sign(OLD_KEY, query)), true);
    assert.equal(verify([OLD_KEY], query, sig), false);
    assert.equal(verify([NEW_KEY], `${query}0`, sig), false);
    assert.equal(verify([NEW_KEY], query, `${sig}A`), false, "a longer text");
    assert.equal(verify([NEW_KEY], query, sig.slice(0, -1)), false, "a shorter one");
  });

  it("required: unsigned arbitrary sizes are 403; the application's signature (new or old key) serves", async () => {
    const unsigned = await signed.get(`/resize?${query}`, {}, "manual");
    assert.equal(unsigned.status, 403);
    assert.equal((JSON.parse(unsigned.bytes.toString()) as { error: string }).error, "signature_required");
    for (const key of [NEW_KEY, OLD_KEY]) {
      const res = await signed.get(`/resize?${query}&sig=${sign(key, query)}`, {}, "manual");
      assert.equal(res.status, 200, key);
    }
  });

  it("a signature for another size, a damaged one, or one by an unknown key is 403", async () => {
    for (const sig of [sign(NEW_KEY, "src=quadrants.jpg&w=78&h=33"), `${sign(NEW_KEY, query).slice(0, -2)}AA`, sign("a-key-nobody-configured-0123456789abc", query)]) {
      const res = await signed.get(`/resize?${query}&sig=${sig}`, {}, "manual");
      assert.equal(res.status, 403, sig);
      assert.equal((JSON.parse(res.bytes.toString()) as { error: string }).error, "bad_signature");
    }
  });

  it("another spelling of a signed request redirects to its canonical URL with the same signature", async () => {
    const sig = sign(OLD_KEY, query);
    assert.equal(await redirectOf(signed, `/resize?h=33&w=077&src=quadrants.jpg&sig=${sig}`), `/resize?${query}&sig=${sig}`);
  });

  it("presets need no signature; exempt legacy URLs redirect to a URL the service signed itself", async () => {
    assert.equal((await signed.get("/resize?src=quadrants.jpg&p=thumb_320x180", {}, "manual")).status, 200);
    const location = await redirectOf(signed, "/timthumb.php?src=/quadrants.jpg&w=64&h=48");
    assert.equal(location, `/resize?src=quadrants.jpg&w=64&h=48&sig=${sign(NEW_KEY, "src=quadrants.jpg&w=64&h=48")}`);
    assert.equal((await signed.get(location, {}, "manual")).status, 200);
  });

  it("legacy URLs not exempt are refused; a service without keys refuses a sig parameter", async () => {
    const strict = await startResizer({ signing: { required: true } }, tree, [NEW_KEY]);
    try {
      assert.equal((await strict.get("/timthumb.php?src=/quadrants.jpg&w=64&h=48", {}, "manual")).status, 403);
    } finally {
      await strict.close();
    }
    const res = await svc.get(`/resize?${query}&sig=${sign(NEW_KEY, query)}`, {}, "manual");
    assert.equal(res.status, 400);
  });

  it("signing required without a key does not start", async () => {
    await assert.rejects(startResizer({ signing: { required: true } }, tree), /RESIZER_SIGNING_KEYS: signing.required needs at least one key/);
  });
});
