// The local cluster (real master, slaves and resizers, as `npm start` runs them) against
// a client that tries to multiply the resize cache, to confuse format negotiation, to
// send headers the resizer used to refuse, and to read the engine's versions. The number
// of cache entries is counted in the master's cache directory.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sign } from "../../resizer/src/signing.js";
import { ACCEPT_TABLE } from "../helpers/accept-table.js";
import { openPage, reportSink } from "../helpers/chromium.js";
import { get, localSpec, startE2E, type E2E, type Reply } from "../helpers/e2e.js";

const KEY = "e2e-signing-key-0123456789abcdef0123456789";
let e2e: E2E;

before(async () => {
  const spec = localSpec();
  // Redirects too are a status the cache would keep here: only proxy_no_cache stops them.
  spec.cache.valid = [{ statuses: [200, 301, 302], time: "1m" }];
  e2e = await startE2E("hostile", { spec, sample: { thumbnails: 2, stills: 2 }, resizerSigningKeys: [KEY] });
});
after(() => e2e?.close());

/** Files in the master's resize cache: one per entry. */
function cacheEntries(): number {
  return readdirSync(e2e.cluster.host.master.paths.cacheDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).length;
}

/** GET, following one redirect the way a browser does. */
async function fetchImage(path: string, headers: Record<string, string> = {}): Promise<Reply & { redirected: boolean }> {
  const first = await get(e2e, path, { headers });
  if (first.status !== 301) return { ...first, redirected: false };
  return { ...(await get(e2e, String(first.headers.location), { headers })), redirected: true };
}

const SRC = "images/poster/hero.jpg";
const random = () => Math.random().toString(36).slice(2, 10);
/** A random %-encoding of some of the characters of `text`. */
const encodeSome = (text: string) => [...text].map((c) => (Math.random() < 0.4 ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}` : c)).join("");
const randomCase = (text: string) => [...text].map((c) => (Math.random() < 0.5 ? c.toUpperCase() : c)).join("");

/** The `n`th ordering of `items` (by the factorial number system). */
function permutation<T>(items: T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  for (let k = pool.length; k > 0; k--) {
    out.push(pool.splice(n % k, 1)[0]!);
    n = Math.floor(n / k);
  }
  return out;
}

/** 100 spellings of two requests: the preset thumbnail (fmt=auto) and the legacy 320x180. */
function bustingVariants(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 20; i++) out.push(`/timthumb.php?src=/${SRC}&w=320&h=180&zc=1&f=${random()}`);
  for (let i = 0; i < 20; i++) out.push(`/${random()}.php?src=/${SRC}&w=320&h=180`);
  for (let i = 0; i < 20; i++) out.push(`/resize?src=${encodeSome(SRC)}&w=320&h=180&fmt=auto`);
  for (let i = 0; i < 20; i++) out.push(`/resize?src=${SRC}&w=320&h=180&fmt=${randomCase("auto")}&fit=${randomCase("cover")}`);
  const params = (i: number) => [`w=${"0".repeat(i % 3)}320`, "h=180", "fmt=auto", `src=${SRC}`];
  for (let i = 0; i < 20; i++) out.push(`/resize?${permutation(params(i), i + 1).join("&")}`);
  return out;
}

describe("cache-busting", () => {
  it("100 spellings of two requests make at most two cache entries; the rest are redirects or 404s", async (t) => {
    const before = cacheEntries();
    const answers = new Map<string, number>();
    for (const path of bustingVariants()) {
      const r = await fetchImage(path, { accept: "image/avif,image/webp,*/*" });
      const label = `${r.status}${r.redirected ? " after a redirect" : ""}`;
      answers.set(label, (answers.get(label) ?? 0) + 1);
      if (path.startsWith("/timthumb.php") || path.startsWith("/resize")) assert.equal(r.status, 200, path);
      else assert.equal(r.status, 404, `${path}: a script name not in legacyPaths is no resize`);
    }
    const created = cacheEntries() - before;
    t.diagnostic(`100 busting variants: ${created} new cache entries; answers: ${[...answers].map(([k, n]) => `${n} x ${k}`).join(", ")}`);
    assert.ok(created <= 2, `${created} cache entries`);
  });

  it("a redirect is never stored, even where the cache would keep its status", async () => {
    const path = `/resize?w=321&src=${SRC}&h=180`;
    for (let i = 0; i < 3; i++) {
      const r = await get(e2e, path);
      assert.equal(r.status, 301);
      assert.equal(r.headers["x-cache-status"], "MISS");
      assert.equal(r.headers.location, `/resize?src=${SRC}&w=321&h=180`);
    }
  });

  it("signed URLs: a valid signature serves and caches, another is 403", async () => {
    const query = `src=${SRC}&w=96&h=54`;
    const ok = await get(e2e, `/resize?${query}&sig=${sign(KEY, query)}`);
    assert.equal(ok.status, 200);
    assert.equal((await get(e2e, `/resize?${query}&sig=${sign(KEY, query)}`)).headers["x-cache-status"], "HIT");
    assert.equal((await get(e2e, `/resize?${query}&sig=${sign(`${KEY}x`, query)}`)).status, 403);
  });
});

describe("what a client sends, through the master", () => {
  it("fmt=auto answers every Accept of the shared table as the resizer's own rule says (real nginx, real resizer)", async () => {
    for (const [accept, variant] of ACCEPT_TABLE) {
      const r = await get(e2e, `/resize?src=${SRC}&w=40&h=30&fmt=auto`, { headers: accept === undefined ? {} : { accept } });
      assert.equal(r.status, 200, JSON.stringify(accept));
      assert.equal(r.headers["content-type"], `image/${variant}`, JSON.stringify(accept));
    }
  });

  it("16-32 KB of headers that nginx accepts are accepted by the resizer too (no 431)", async () => {
    const headers = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`x-client-${i}`, "y".repeat(6 * 1024)]));
    const r = await get(e2e, `/resize?src=${SRC}&w=41&h=30&fmt=jpeg`, { headers });
    assert.equal(r.status, 200, r.body.toString().slice(0, 200));
  });

  it("the resizer's sharp and libvips versions are not public", async () => {
    const r = await get(e2e, `/resize?src=${SRC}&w=42&h=30&fmt=jpeg`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-resize-engine"], undefined);
  });
});

/** A page of `n` thumbnails of one picture, each its own size, reporting how each loaded. */
const THUMBNAIL_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>thumbnails</title></head><body>
<script>
(async () => {
  const params = new URLSearchParams(location.search);
  const n = Number(params.get("n"));
  performance.setResourceTimingBufferSize(10 * n);
  const started = performance.now();
  const loads = [];
  for (let i = 0; i < n; i++) {
    const img = new Image();
    img.src = "/resize?src=${SRC}&w=" + (40 + i);
    document.body.appendChild(img);
    loads.push(img.decode().then(() => (img.naturalWidth === 40 + i ? "loaded" : "wrong width"), () => "failed"));
  }
  const outcomes = await Promise.all(loads);
  const seconds = (performance.now() - started) / 1000;
  const protocols = [...new Set(performance.getEntriesByType("resource").map((e) => e.nextHopProtocol))];
  await fetch(params.get("report"), { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ outcomes, seconds, protocols }) });
})();
</script></body></html>
`;

describe("per-client limits (defaults) and a real browser", () => {
  it("a page of 300 thumbnails in headless Chromium over HTTP/2 loads whole: no 429", async (t) => {
    const n = 300;
    // Cached first: the page is about the master's limits, not the resizers' queue.
    for (let i = 0; i < n; i++) assert.equal((await get(e2e, `/resize?src=${SRC}&w=${40 + i}`)).status, 200);
    const images = join(e2e.treeDir, "images");
    mkdirSync(join(images, "limits-page"), { recursive: true });
    writeFileSync(join(images, "limits-page", "index.html"), THUMBNAIL_PAGE);
    const master = e2e.cluster.host.master;
    const name = e2e.main.serverNames[0]!;
    const sink = await reportSink();
    const url = `https://${name}:${master.https!.port}/limits-page/index.html?n=${n}&report=${encodeURIComponent(sink.url)}`;
    const browser = openPage(url, { [name]: master.https!.address }, ["--ignore-certificate-errors"]);
    let timer: NodeJS.Timeout | undefined;
    let report: { outcomes: string[]; seconds: number; protocols: string[] };
    try {
      report = (await Promise.race([
        sink.report,
        browser.exited.then(() => Promise.reject(new Error(`Chromium exited before the page reported:\n${browser.log()}`))),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no report from Chromium within 90 s:\n${browser.log()}`)), 90_000))),
      ])) as typeof report;
    } finally {
      clearTimeout(timer);
      await browser.close();
      await sink.close();
    }
    t.diagnostic(`${n} thumbnails in ${report.seconds.toFixed(2)} s (${Math.round(n / report.seconds)}/s) over ${report.protocols.join(", ")}`);
    assert.deepEqual(report.protocols, ["h2"], "the page's images came over HTTP/2 (up to 128 streams at once)");
    const failed = report.outcomes.filter((o) => o !== "loaded").length;
    assert.equal(failed, 0, `${failed} of ${n} thumbnails did not load`);
  });
});
