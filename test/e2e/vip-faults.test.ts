// Faults behind the software VIP, each under a constant load through it in which every
// answer is checked for its status and bytes: a host drained with the drain flag (the VIP
// stops sending within fall x interval, what is in flight completes) and undrained (back
// within rise x interval), with a reload of HAProxy meanwhile that keeps it out; a master
// killed with SIGKILL (GETs over HTTP retried on another host by HAProxy); a whole host
// lost and brought back.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  describe as failures,
  fileTargets,
  requestsPass,
  secondsUntil,
  secs,
  servedBy,
  startVipE2E,
  vipLoad,
  vipTestSpec,
  type VipE2E,
} from "../helpers/vip.js";

let e: VipE2E;
before(async () => {
  e = await startVipE2E("faults", vipTestSpec());
});
after(() => e?.close());

/** Requests of the load (stills and thumbnails) a host's master answered; its log also holds the L4's checks. */
const served = (host: string) => servedBy(e, "/stillshot/").get(host)! + servedBy(e, "/thumbnail/").get(host)!;
const hostNamed = (name: string) => e.fleet.hosts.find((h) => h.plan.name === name)!;
const haproxy = () => e.fleet.vip.haproxy[0]!;
/** Bounds from the vip plan: a check cycle's phase (one interval) and its timeout on top of `checks` intervals, plus 1s. */
const within = (checks: number) => {
  const hc = e.fleet.vipPlan.healthCheck;
  return (checks + 1) * hc.intervalSeconds + hc.timeoutSeconds + 1;
};

describe("faults behind the software VIP", () => {
  test("a drained host: the VIP stops sending within fall x interval, nothing fails; a reload keeps it out; undrained, it is back within rise x interval", async (t) => {
    const hc = e.fleet.vipPlan.healthCheck;
    // HTTPS passes through: a kept-alive TLS connection stays with its master until it
    // closes (as behind any L4); what the VIP decides is where each new one goes.
    const loads = [vipLoad(e, fileTargets(e).filter((x) => x.scheme === "http"), 6), vipLoad(e, fileTargets(e).filter((x) => x.scheme === "https"), 2, { newConnections: true })];
    const load = { completed: (since?: number) => loads[0]!.completed(since) + loads[1]!.completed(since) };
    await requestsPass(load, 200);
    e.fleet.drain("img03");
    const out = await secondsUntil("img03 out of the VIP", () => haproxy().excludes("img03"), within(hc.fall) * 1000);
    // Its master logs what reaches it (once answered): nothing more once the VIP has taken
    // it out and what was in flight then has completed.
    await requestsPass(load, 300);
    const servedThen = served("img03")!;
    await requestsPass(load, 300);

    // A reload (as for a member change) while img03 is drained: the saved state keeps it out.
    await haproxy().reload();
    await requestsPass(load, 300);
    const stillOut = await haproxy().excludes("img03");
    const servedAfter = served("img03")!;

    e.fleet.undrain("img03");
    const back = await secondsUntil("img03 back in the VIP", () => haproxy().admits("img03"), within(hc.rise) * 1000);
    const before = served("img03")!;
    await requestsPass(load, 300);
    const [rh, rs] = await Promise.all(loads.map((l) => l.stop()));
    const report = { requests: rh!.requests + rs!.requests, failed: [...rh!.failed, ...rs!.failed], slowestMs: Math.max(rh!.slowestMs, rs!.slowestMs) };
    t.diagnostic(
      `drain under load: ${report.requests} requests, ${report.failed.length} failed, slowest ${Math.round(report.slowestMs)} ms; ` +
        `out of the VIP ${secs(out)}s after the flag (fall ${hc.fall} x ${hc.intervalSeconds}s), back ${secs(back)}s after the flag was removed (rise ${hc.rise} x ${hc.intervalSeconds}s); ` +
        `img03 got ${servedAfter - servedThen} requests while out, across a reload`,
    );
    assert.deepEqual(report.failed, [], failures(report.failed));
    assert.ok(out <= within(hc.fall), `out after ${out}s`);
    assert.ok(back <= within(hc.rise), `back after ${back}s`);
    assert.ok(stillOut, "the reloaded HAProxy kept the drained host out");
    assert.equal(servedAfter - servedThen, 0, "nothing reached the drained host once it was out, reload included");
    assert.ok(served("img03")! > before, "undrained, it serves again");
  });

  test("a master killed with SIGKILL: HAProxy takes the host out, GETs over HTTP never fail (retried on another host)", async (t) => {
    const hc = e.fleet.vipPlan.healthCheck;
    const http = fileTargets(e).filter((x) => x.scheme === "http");
    const https = fileTargets(e).filter((x) => x.scheme === "https");
    const loadHttp = vipLoad(e, http, 6);
    const loadHttps = vipLoad(e, https, 4);
    await requestsPass(loadHttp, 200);
    const killedAt = performance.now();
    await hostNamed("img02").master.kill("SIGKILL");
    const removal = await secondsUntil("img02 out of the VIP", () => haproxy().excludes("img02"), within(hc.fall) * 1000);
    await requestsPass(loadHttp, 300);
    const [rh, rs] = await Promise.all([loadHttp.stop(), loadHttps.stop()]);
    const sinceKill = (r: typeof rh) => r.failed.filter((f) => f.at >= killedAt - 50);
    t.diagnostic(
      `master killed under load: HTTP ${rh.requests} requests, ${rh.failed.length} failed; HTTPS ${rs.requests} requests, ${rs.failed.length} failed ` +
        `(${rs.keepaliveRetries} resends of a kept-alive connection); slowest ${Math.round(Math.max(rh.slowestMs, rs.slowestMs))} ms; ` +
        `removed from the VIP ${secs(removal)}s after the kill`,
    );
    assert.deepEqual(rh.failed, [], `HTTP: ${failures(rh.failed)}`);
    // HTTPS passes through: only connections the dead master held can fail (one per client).
    assert.ok(sinceKill(rs).length <= 4, `HTTPS: ${failures(rs.failed)}`);
    assert.equal(rs.failed.length, sinceKill(rs).length, "nothing failed before the kill");
    assert.ok(removal <= within(hc.fall));

    await hostNamed("img02").master.start();
    const back = await secondsUntil("img02 back", () => haproxy().admits("img02"), within(hc.rise) * 1000);
    t.diagnostic(`restarted: back in the VIP ${secs(back)}s after its master answered again`);
  });

  test("a whole host lost (every process killed) and brought back: HTTP loses nothing, the VIP re-admits it", async (t) => {
    const hc = e.fleet.vipPlan.healthCheck;
    const host = hostNamed("img04");
    const load = vipLoad(e, fileTargets(e).filter((x) => x.scheme === "http"), 6);
    await requestsPass(load, 200);
    await Promise.all(host.instances.map((i) => i.kill("SIGKILL")));
    const removal = await secondsUntil("img04 out", () => haproxy().excludes("img04"), within(hc.fall) * 1000);
    await requestsPass(load, 300);
    // Back in the seeds' order: slaves and resizers, then the master.
    const backAt = performance.now();
    for (const inst of host.instances) await inst.start();
    const started = (performance.now() - backAt) / 1000;
    const readmitted = await secondsUntil("img04 back", () => haproxy().admits("img04"), within(hc.rise) * 1000);
    const before = served("img04")!;
    await requestsPass(load, 300);
    const report = await load.stop();
    t.diagnostic(
      `host lost under load: ${report.requests} requests, ${report.failed.length} failed, slowest ${Math.round(report.slowestMs)} ms; ` +
        `removed ${secs(removal)}s after the loss; restarted in ${secs(started)}s, re-admitted ${secs(readmitted)}s later`,
    );
    assert.deepEqual(report.failed, [], failures(report.failed));
    assert.ok(served("img04")! > before, "it serves again");
  });
});
