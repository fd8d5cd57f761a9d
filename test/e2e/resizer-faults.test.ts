// Resizer faults through the master: a replica killed under load, every replica dead
// (cached variants keep serving, stale once expired; uncached resizes fail fast and
// cleanly), and recovery when they are restarted. The cache validity is shortened to 2s
// (the stack says 1m) so that "stale" is reached within the test.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timeSeconds } from "../../infra/units.js";
import { ERROR_PAGE_50X_HTML } from "../../infra/nginx/pages.js";
import { describeFailures, get, localSpec, secondsUntil, secs, startE2E, steadyLoad, type E2E } from "../helpers/e2e.js";

const VALID_SECONDS = 2;
let e2e: E2E;
before(async () => {
  const spec = localSpec();
  spec.cache = { ...spec.cache, valid: [{ statuses: [200], time: `${VALID_SECONDS}s` }] };
  e2e = await startE2E("resizer-faults", { spec });
});
after(() => e2e?.close());

const src = () => e2e.tree.stills[3]!.slice(1);
const proxy = () => e2e.cluster.host.master.tuning.proxy;
/** nginx's defaults for members without max_fails/fail_timeout (the resizers have none). */
const FAIL_TIMEOUT_SECONDS = 10;

describe("resizer faults", () => {
  it("killing resizer01 loses no resize: requests in flight and new ones go to resizer02", async (t) => {
    let w = 100;
    const targets = Array.from({ length: 400 }, (_, i) => ({ path: `/resize?src=${src()}&w=${w + i}`, scheme: i % 2 === 0 ? ("http" as const) : ("https" as const) }));
    w += 400;
    const load = steadyLoad(e2e, targets, { concurrency: 3 });
    await load.until(10);
    const killedAt = performance.now();
    await e2e.cluster.resizers[0]!.kill("SIGKILL");
    await load.until(30, killedAt);
    const report = await load.stop();
    t.diagnostic(
      `killing resizer01: ${report.requests} uncached resizes (${report.requestsSince(killedAt)} after the kill), ` +
        `${report.failed.length} failed; slowest ${Math.round(report.maxMs)} ms; ` +
        `client retries of a kept-alive connection closed before an answer: ${report.keepaliveRetries} (bound 0)`,
    );
    assert.equal(report.failed.length, 0, describeFailures(report.failed));
    // The master retries on resizer02 (proxy_next_upstream): no client has to resend.
    assert.equal(report.keepaliveRetries, 0, "no client had to retry");
    await e2e.cluster.resizers[0]!.start();
  });

  it("with every resizer dead, cached variants are still served (stale once expired) and uncached resizes fail fast and cleanly", async (t) => {
    const cached = `/resize?src=${src()}&w=333&fmt=auto`;
    const webp = { accept: "image/webp" };
    const jpeg = await get(e2e, cached);
    const wv = await get(e2e, cached, { scheme: "https", headers: webp });
    assert.deepEqual([jpeg.status, wv.status], [200, 200]);

    await Promise.all(e2e.cluster.resizers.map((r) => r.kill("SIGKILL")));
    const fresh = await get(e2e, cached);
    assert.equal(fresh.headers["x-cache-status"], "HIT");
    assert.deepEqual(fresh.body, jpeg.body);

    // nginx keeps whole seconds: an entry is expired once a full second past its validity.
    let stale = fresh;
    const staleAfter = await secondsUntil(async () => (stale = await get(e2e, cached)).headers["x-cache-status"] !== "HIT", (VALID_SECONDS + 3) * 1000, 100);
    assert.ok(staleAfter >= VALID_SECONDS - 1, `the entry stopped being fresh after ${staleAfter.toFixed(2)}s, before its ${VALID_SECONDS}s validity`);
    // The WebP copy was stored one request later: when a whole second fell between the two
    // stores it expires a second after the JPEG one.
    let staleWebp = stale;
    await secondsUntil(async () => (staleWebp = await get(e2e, cached, { scheme: "https", headers: webp })).headers["x-cache-status"] !== "HIT", 2000, 100);
    assert.equal(stale.status, 200);
    assert.equal(stale.headers["x-cache-status"], "STALE");
    assert.deepEqual(stale.body, jpeg.body);
    assert.equal(staleWebp.headers["x-cache-status"], "STALE");
    assert.equal(staleWebp.headers["content-type"], "image/webp");
    assert.deepEqual(staleWebp.body, wv.body);

    // Uncached: no resizer can answer. Worst case per request: each try's connect times out.
    const boundMs = timeSeconds(proxy().connectTimeout) * proxy().nextUpstreamTries * 1000 + 1000;
    const errors = await Promise.all(
      (["http", "https"] as const).flatMap((scheme) => [1, 2, 3].map((i) => get(e2e, `/resize?src=${src()}&w=${900 + i}`, { scheme }))),
    );
    for (const r of errors) {
      assert.equal(r.status, 502);
      assert.equal(r.body.toString(), ERROR_PAGE_50X_HTML);
      assert.ok(r.ms < boundMs, `answered in ${Math.round(r.ms)} ms (bound ${boundMs} ms)`);
    }
    // Everything else of the host does not depend on the resizers.
    assert.equal((await get(e2e, "/healthz")).status, 200);
    assert.equal((await get(e2e, e2e.tree.stills[0]!)).status, 200);
    t.diagnostic(
      `every resizer dead: cached variants HIT, then STALE after ${VALID_SECONDS}s (same bytes); ` +
        `uncached resizes 502 in at most ${Math.round(Math.max(...errors.map((r) => r.ms)))} ms (bound ${boundMs} ms)`,
    );
  });

  it("restarting the resizers brings resizing back", async (t) => {
    const restartAt = performance.now();
    for (const r of e2e.cluster.resizers) await r.start();
    const healthyAt = performance.now();
    // Members marked failed are tried again fail_timeout after their last failure.
    const seconds = await secondsUntil(async () => {
      const r = await get(e2e, `/resize?src=${src()}&w=901`, { scheme: "https" });
      return r.status === 200 && r.headers["x-cache-status"] === "MISS";
    }, (FAIL_TIMEOUT_SECONDS + 2) * 1000, 100);
    const refreshed = await secondsUntil(async () => (await get(e2e, `/resize?src=${src()}&w=333&fmt=auto`)).headers["x-cache-status"] !== "STALE", 5000);
    t.diagnostic(
      `resizers restarted and healthy in ${secs(healthyAt - restartAt)}s; uncached resizes served again ${seconds.toFixed(2)}s later ` +
        `(bound fail_timeout ${FAIL_TIMEOUT_SECONDS}s + 2s); the stale variant refreshed ${refreshed.toFixed(2)}s after that`,
    );
  });
});
