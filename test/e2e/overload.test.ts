// Overload through the master: a burst of distinct, uncached resizes far beyond what the
// resizer replicas hold (concurrency + queue each). The excess is refused at once with
// 503 + Retry-After, nothing crashes, the resizers' memory stays bounded, and the very
// next request is served normally.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { agents, get, groupRssMiB, localSpec, startE2E, type E2E, type Reply } from "../helpers/e2e.js";

let e2e: E2E;
before(async () => {
  // One client sends the whole burst: the master's per-client limits would answer most of
  // it 429 before a resizer saw it (test/nginx/hostile.test.ts tests them). Here the
  // resizers' own load shedding is under test.
  const spec = localSpec();
  spec.nginx.resizeLimits.enabled = false;
  e2e = await startE2E("overload", { spec });
});
after(() => e2e?.close());

it("a burst far beyond the resizers' capacity gets 503 + Retry-After, no crash, bounded memory, then normal service", async (t) => {
  const { cluster } = e2e;
  const service = cluster.clusterPlan.hosts[0]!.resizers[0]!.env;
  const perReplica = Number(service.RESIZER_CONCURRENCY) + Number(service.RESIZER_QUEUE);
  const capacity = perReplica * cluster.resizers.length;
  const burst = capacity * 5;
  // The container's memory limit (resizer.memoryMb): production's hard bound, the point at
  // which Docker would OOM-kill the replica.
  const limitMiB = cluster.resizers[0]!.plan.memoryMb;
  const pids = cluster.resizers.map((r) => r.pid!);
  const masterPid = cluster.master.pid;

  let peak = 0;
  // A replica is its service process and its transform workers: the container counts them all.
  const baseline = Math.max(...pids.map(groupRssMiB));
  const sampler = setInterval(() => {
    for (const pid of pids) peak = Math.max(peak, groupRssMiB(pid));
  }, 25);

  const pool = agents(burst);
  const stills = e2e.tree.stills;
  const started = performance.now();
  let replies: (Reply | Error)[];
  try {
    replies = await Promise.all(
      Array.from({ length: burst }, (_, i) => {
        const scheme = i % 3 === 2 ? "https" : "http";
        const path = `/resize?src=${stills[i % stills.length]!.slice(1)}&w=${200 + i}&fmt=auto`;
        return get(e2e, path, { scheme, agent: pool[scheme], headers: { accept: "image/webp" }, timeoutMs: 60_000 }).catch((e: Error) => e);
      }),
    );
  } finally {
    clearInterval(sampler);
    pool.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  for (const pid of pids) peak = Math.max(peak, groupRssMiB(pid));

  const errors = replies.filter((r): r is Error => r instanceof Error);
  const answers = replies.filter((r): r is Reply => !(r instanceof Error));
  const ok = answers.filter((r) => r.status === 200);
  const busy = answers.filter((r) => r.status === 503);
  const other = answers.filter((r) => r.status !== 200 && r.status !== 503);
  const right = performance.now();
  const next = await get(e2e, `/resize?src=${stills[0]!.slice(1)}&w=199&fmt=auto`, { scheme: "https", headers: { accept: "image/webp" } });
  t.diagnostic(
    `burst of ${burst} resizes (capacity ${capacity} = ${cluster.resizers.length} x (concurrency ${service.RESIZER_CONCURRENCY} + queue ${service.RESIZER_QUEUE})) ` +
      `in ${seconds.toFixed(2)}s: ${ok.length} x 200, ${busy.length} x 503 with Retry-After, ${other.length} other, ${errors.length} without an answer; ` +
      `resizer RSS ${baseline.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB (bound ${limitMiB} MiB); ` +
      `next request ${next.status} ${next.headers["x-cache-status"]} in ${Math.round(performance.now() - right)} ms`,
  );

  assert.equal(errors.length, 0, errors.slice(0, 3).map((e) => e.message).join("; "));
  assert.deepEqual(other.map((r) => r.status), [], "only 200 and 503: no 502 from a resizer marked failed");
  assert.ok(busy.length > 0, "the excess was refused");
  for (const r of busy) assert.equal(r.headers["retry-after"], "1");
  assert.ok(ok.length >= capacity / 2, `a good share was served (${ok.length})`);
  assert.ok(peak < limitMiB, `resizer RSS peaked at ${peak.toFixed(0)} MiB, over the ${limitMiB} MiB container limit`);
  // No crash: the same processes still run and answer.
  assert.deepEqual(cluster.resizers.map((r) => r.pid), pids);
  assert.equal(cluster.master.pid, masterPid);
  for (const r of cluster.resizers) {
    const res = await fetch(`http://${r.plan.listen.address}:${r.plan.listen.port}/healthz`);
    assert.equal(res.status, 200, r.name);
  }
  // Normal service right after: the first request is a fresh resize, served.
  assert.equal(next.status, 200);
  assert.equal(next.headers["x-cache-status"], "MISS");
  assert.equal(next.headers["content-type"], "image/webp");
});
