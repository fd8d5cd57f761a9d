// The whole prod cluster (its five hosts) behind the software VIP, on loopback: requests
// balanced across the five hosts, and a config change rolled out host by host in the order
// `pulumi up` uses (`rollout: serial`: the hosts' order), each master drained before it is
// replaced and the next host touched only once the VIP has taken this one back, under a
// constant load in which every answer is checked for its status and bytes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { describe as failures, fileTargets, requestsPass, secs, servedBy, startVipE2E, vipGet, vipLoad, vipTestSpec, watchVip, type VipE2E } from "../helpers/vip.js";

let e: VipE2E;
before(async () => {
  e = await startVipE2E("rollout", vipTestSpec());
});
after(() => e?.close());

describe("prod's five hosts behind the software VIP", () => {
  test("10,000 requests over HTTP are balanced round robin across the five hosts within ±10 %, and new HTTPS connections too", async (t) => {
    const hosts = e.fleet.hosts.map((h) => h.plan.name);
    assert.deepEqual(hosts, ["img01", "img02", "img03", "img04", "img05"]);
    const target = fileTargets(e).find((x) => x.path.startsWith("/thumbnail/") && x.scheme === "http")!;
    const before = servedBy(e, "/thumbnail/");
    const load = vipLoad(e, [target], 16);
    await requestsPass(load, 10_000, 120_000);
    const report = await load.stop();
    const after = servedBy(e, "/thumbnail/");
    const counts = hosts.map((h) => after.get(h)! - before.get(h)!);
    const total = counts.reduce((a, b) => a + b, 0);
    const spread = Math.max(...counts.map((c) => Math.abs(c - total / hosts.length) / (total / hosts.length)));
    t.diagnostic(`HTTP: ${report.requests} requests, ${report.failed.length} failed, slowest ${Math.round(report.slowestMs)} ms; per host ${hosts.map((h, i) => `${h} ${counts[i]}`).join(", ")}; spread ±${(spread * 100).toFixed(2)} %`);
    assert.deepEqual(report.failed, [], failures(report.failed));
    assert.ok(report.requests >= 10_000);
    assert.equal(total, report.requests + report.keepaliveRetries, "every request reached exactly one master");
    assert.ok(spread <= 0.1, `spread ±${(spread * 100).toFixed(1)} % exceeds ±10 %`);

    // HTTPS is balanced per connection (TLS passes through to the masters): new connections.
    const tlsBefore = servedBy(e, "/stillshot/");
    const still = fileTargets(e).find((x) => x.path.startsWith("/stillshot/") && x.scheme === "https")!;
    for (let i = 0; i < 500; i += 10) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => vipGet(e, "https", still.path)));
      for (const a of answers) assert.equal(a.status, 200);
    }
    // The master logs the request it passes to its slaves.
    const tls = hosts.map((h) => servedBy(e, "/stillshot/").get(h)! - tlsBefore.get(h)!);
    const tlsSpread = Math.max(...tls.map((c) => Math.abs(c - 100) / 100));
    t.diagnostic(`HTTPS: 500 new connections; per host ${hosts.map((h, i) => `${h} ${tls[i]}`).join(", ")}; spread ±${(tlsSpread * 100).toFixed(2)} %`);
    assert.ok(tlsSpread <= 0.1, `HTTPS spread ±${(tlsSpread * 100).toFixed(1)} %`);
  });

  test("a config change rolled out host by host as `pulumi up` does, each drained, replaced, healthy and re-admitted before the next: no failed request", async (t) => {
    const next = vipTestSpec((raw) => (raw.nginx = { ...raw.nginx, expires: { ...raw.nginx.expires, thumbnail: "7s" } }));
    const hc = e.fleet.vipPlan.healthCheck;
    const load = vipLoad(e, fileTargets(e), 6);
    await requestsPass(load, 300);
    const steps: string[] = [];
    // The serial order (the plan's host order, which program.ts chains the hosts' gates in):
    // the VIP never has more than one host out at a time.
    const watch = watchVip(e);
    const order = e.fleet.clusterPlan.hosts.map((h) => h.name);
    for (const host of order) {
      const r = await e.fleet.replaceMaster(host, next);
      steps.push(`${host}: out ${secs(r.outSeconds)}s, master down ${secs(r.downSeconds)}s, back ${secs(r.backSeconds)}s`);
      // A drained host leaves after `fall` failed checks and returns after `rise` passed ones.
      assert.ok(r.outSeconds <= (hc.fall + 1) * hc.intervalSeconds + hc.timeoutSeconds + 1, `${host} left the VIP after ${r.outSeconds}s`);
      assert.ok(r.backSeconds <= (hc.rise + 1) * hc.intervalSeconds + 1, `${host} came back after ${r.backSeconds}s`);
      await requestsPass(load, 100);
    }
    const report = await load.stop();
    const vip = await watch.stop();
    t.diagnostic(`rollout in the order ${order.join(", ")}: at most ${vip.mostOutAtOnce.length} host${vip.mostOutAtOnce.length === 1 ? "" : "s"} out of the VIP at once (${vip.samples} samples of HAProxy's states)`);
    t.diagnostic(`rollout under load: ${report.requests} requests, ${report.failed.length} failed, ${report.keepaliveRetries} client resends of a closed kept-alive connection, slowest ${Math.round(report.slowestMs)} ms`);
    for (const s of steps) t.diagnostic(s);
    assert.deepEqual(report.failed, [], failures(report.failed));
    assert.equal(vip.mostOutAtOnce.length, 1, `hosts out of the VIP at once: ${vip.mostOutAtOnce.join(", ")}`);
    // Only an HTTPS connection a stopping master closed can be resent (at most one per client per host).
    assert.ok(report.keepaliveRetries <= 6 * e.fleet.hosts.length, `${report.keepaliveRetries} resends`);

    // Every host serves the new config now.
    const thumbnail = fileTargets(e).find((x) => x.path.startsWith("/thumbnail/"))!.path;
    const { request } = await import("node:http");
    for (const h of e.fleet.hosts) {
      const listen = h.plan.master.http;
      const cc = await new Promise<string>((resolve, reject) => {
        request({ host: listen.address, port: listen.port, path: thumbnail, headers: { host: e.name } }, (res) => {
          res.resume();
          resolve(String(res.headers["cache-control"]));
        })
          .on("error", reject)
          .end();
      });
      assert.match(cc, /max-age=7\b/, `${h.plan.name} serves the new config`);
    }
  });
});
