// Slave faults under steady load through the master (HTTP and HTTPS clients): a slave
// killed, both killed and brought back, a slave frozen with SIGSTOP. Bounds come from the
// master's configured proxy timeouts and the upstream's fail_timeout, never from speed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ERROR_PAGE_50X_HTML } from "../../infra/nginx/pages.js";
import { timeSeconds } from "../../infra/units.js";
import { accessLogCount, describeFailures, get, secondsUntil, secs, startE2E, steadyLoad, type E2E, type Target } from "../helpers/e2e.js";

let e2e: E2E;
before(async () => {
  e2e = await startE2E("slave-faults");
});
after(() => e2e?.close());

/** Static files from the slaves, and the L4's health check, over both schemes. */
function staticTargets(): Target[] {
  const stills = e2e.tree.stills.slice(0, 8);
  return [
    ...stills.map((path) => ({ path, scheme: "http" as const })),
    ...stills.map((path) => ({ path, scheme: "https" as const })),
    { path: "/healthz" },
    { path: "/healthz", scheme: "https" },
  ];
}

const proxy = () => e2e.cluster.host.master.tuning.proxy;
/** nginx's defaults when the stack sets none (max_fails=1 fail_timeout=10s). */
const failTimeoutSeconds = () => timeSeconds(e2e.cluster.host.master.slaves.members[0]!.failTimeout ?? "10s");

describe("slave faults", () => {
  it("killing slave01 loses no request, during or after", async (t) => {
    const [slave01] = e2e.cluster.slaves;
    const load = steadyLoad(e2e, staticTargets(), { concurrency: 4 });
    await load.until(50);
    const killedAt = performance.now();
    await slave01!.kill("SIGKILL");
    await load.until(150, killedAt);
    const afterAt = performance.now();
    await load.until(100, afterAt);
    const report = await load.stop();
    t.diagnostic(
      `killing slave01: ${report.requests} requests (${report.requestsSince(killedAt)} after the kill), ` +
        `${report.failedSince(killedAt).length} failed during, ${report.failedSince(afterAt).length} failed after, ` +
        `${report.failed.length} failed in all; client retries of a kept-alive connection closed before an answer: ${report.keepaliveRetries} (bound 0)`,
    );
    assert.equal(report.failed.length, 0, describeFailures(report.failed));
    // The master's own connections to slave01 break, not the clients': proxy_next_upstream
    // hides the kill entirely, so no client ever has to resend.
    assert.equal(report.keepaliveRetries, 0, "no client had to retry");
    await slave01!.start();
  });

  it("killing both slaves answers a clean 502 within the proxy timeouts; service returns when they do", async (t) => {
    const { connectTimeout, nextUpstreamTries } = proxy();
    // Worst case per request: every try's connect times out instead of being refused.
    const boundMs = timeSeconds(connectTimeout) * nextUpstreamTries * 1000 + 1000;
    const path = e2e.tree.stills[2]!;
    assert.equal((await get(e2e, path)).status, 200);

    const killedAt = performance.now();
    await Promise.all(e2e.cluster.slaves.map((s) => s.kill("SIGKILL")));
    const toError = await secondsUntil(async () => (await get(e2e, path)).status !== 200, boundMs);
    const answers = await Promise.all(
      (["http", "https"] as const).flatMap((scheme) => [path, "/healthz", "/"].map((p) => get(e2e, p, { scheme }))),
    );
    for (const r of answers) {
      assert.ok([502, 503, 504].includes(r.status), `status ${r.status}`);
      assert.ok(r.ms < boundMs, `answered in ${Math.round(r.ms)} ms (bound ${boundMs} ms)`);
    }
    const page = answers.find((r) => r.status === 502 && r.body.toString() !== "");
    assert.equal(page?.body.toString(), ERROR_PAGE_50X_HTML, "the master's own 50x page");

    // The thumbnails are the master's own: they keep serving.
    assert.equal((await get(e2e, e2e.tree.thumbnails[0]!)).status, 200);

    const restartAt = performance.now();
    for (const s of e2e.cluster.slaves) await s.start();
    const healthyAt = performance.now();
    // nginx retries a member marked failed only after fail_timeout since its last failure.
    const recoverBound = (failTimeoutSeconds() + 2) * 1000;
    const toRecover = await secondsUntil(async () => (await get(e2e, path)).status === 200 && (await get(e2e, "/healthz", { scheme: "https" })).status === 200, recoverBound);
    t.diagnostic(
      `killing both slaves: first 5xx ${toError.toFixed(2)}s after the kill, slowest 5xx ${Math.round(Math.max(...answers.map((r) => r.ms)))} ms ` +
        `(bound ${boundMs} ms); slaves healthy again ${secs(healthyAt - restartAt)}s after restart, ` +
        `master serving again ${toRecover.toFixed(2)}s later (${secs(performance.now() - killedAt)}s after the kill; bound fail_timeout ${failTimeoutSeconds()}s + 2s)`,
    );
  });

  it("a frozen slave (SIGSTOP) does not stall the master beyond the slave read timeout", async (t) => {
    const { connectTimeout, slaveReadTimeout } = proxy();
    const readMs = timeSeconds(slaveReadTimeout) * 1000;
    // A request sent to the frozen slave waits for its read timeout, then is retried on slave02.
    const boundMs = readMs + timeSeconds(connectTimeout) * 1000 + 1000;
    // Both slaves must be in rotation again (the previous test marked them failed): wait
    // until each one has served requests again.
    const logged = () => e2e.cluster.slaves.map((s) => accessLogCount(s.accessLog, "/"));
    const servedBefore = logged();
    await secondsUntil(async () => {
      await get(e2e, e2e.tree.stills[0]!);
      return logged().every((n, i) => n > servedBefore[i]!);
    }, (failTimeoutSeconds() + 2) * 1000);

    const [slave01] = e2e.cluster.slaves;
    const load = steadyLoad(e2e, staticTargets(), { concurrency: 4 });
    const thumbs = steadyLoad(e2e, e2e.tree.thumbnails.slice(0, 6).map((path) => ({ path })), { concurrency: 1, pauseMs: 20 });
    await load.until(30);
    const frozenAt = performance.now();
    slave01!.pause();
    let frozenMs: number;
    try {
      // Frozen until a request has met it and been answered by slave02 after the read timeout.
      await secondsUntil(async () => load.outcomesSince(frozenAt).some((o) => o.ms >= readMs), readMs + 10_000);
      frozenMs = performance.now() - frozenAt;
    } finally {
      slave01!.resume();
    }
    const resumedAt = performance.now();
    await load.until(50, resumedAt);
    const report = await load.stop();
    const thumbReport = await thumbs.stop();
    const delayed = report.outcomes.filter((o) => o.at >= frozenAt && o.ms > 1000);
    t.diagnostic(
      `slave01 frozen ${secs(frozenMs)}s: ${report.requests} requests, ${report.failed.length} failed, ${delayed.length} delayed over 1s, ` +
        `slowest ${secs(report.maxMs)}s (bound ${secs(boundMs)}s = read timeout ${slaveReadTimeout} + connect ${connectTimeout} + 1s); ` +
        `thumbnails meanwhile: ${thumbReport.requests}, slowest ${Math.round(thumbReport.maxMs)} ms (bound: the read timeout, ${readMs} ms); ` +
        `client retries of a kept-alive connection closed before an answer: ${report.keepaliveRetries + thumbReport.keepaliveRetries} (bound 0)`,
    );
    assert.equal(report.failed.length, 0, describeFailures(report.failed));
    assert.ok(report.maxMs < boundMs, `slowest request ${Math.round(report.maxMs)} ms exceeds ${boundMs} ms`);
    assert.ok(delayed.length > 0, "some requests met the frozen slave (else the test proved nothing)");
    assert.equal(report.keepaliveRetries, 0, "no client had to retry");
    // The master's own thumbnails never wait for a slave: none took as long as a slave's
    // read timeout. (How fast they stay is measured by bench/frozen-slave.ts.)
    assert.equal(thumbReport.failed.length, 0, describeFailures(thumbReport.failed));
    assert.equal(thumbReport.keepaliveRetries, 0);
    assert.ok(thumbReport.maxMs < readMs, `a thumbnail took ${Math.round(thumbReport.maxMs)} ms: it waited for the frozen slave`);
  });
});
