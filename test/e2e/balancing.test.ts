// Load balancing over the slaves, counted from the slaves' own access logs: the local
// stack's round robin, then a weighted upstream applied with a graceful reload (the same
// re-render the reload test uses).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { accessLogCount, agents, get, localSpec, startE2E, type E2E } from "../helpers/e2e.js";

let e2e: E2E;
before(async () => {
  e2e = await startE2E("balancing");
});
after(() => e2e?.close());

/** `n` static requests (4 at a time, half over HTTPS), and how many each slave logged. */
async function spread(n: number): Promise<number[]> {
  const before = e2e.cluster.slaves.map((s) => accessLogCount(s.accessLog, "/stillshot/"));
  const pool = agents(4);
  try {
    let i = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (i < n) {
          const k = i++;
          const scheme = k % 2 === 0 ? "http" : "https";
          const r = await get(e2e, e2e.tree.stills[k % e2e.tree.stills.length]!, { scheme, agent: pool[scheme] });
          assert.equal(r.status, 200);
        }
      }),
    );
  } finally {
    pool.destroy();
  }
  return e2e.cluster.slaves.map((s, j) => accessLogCount(s.accessLog, "/stillshot/") - before[j]!);
}

it("round robin (the local stack's method) spreads requests evenly over both slaves", async (t) => {
  assert.equal(e2e.cluster.host.master.slaves.balance.method, "round_robin");
  const counts = await spread(200);
  t.diagnostic(`slave01 ${counts[0]}, slave02 ${counts[1]} of 200`);
  assert.equal(counts[0]! + counts[1]!, 200, "every request reached exactly one slave");
  for (const c of counts) assert.ok(c >= 80 && c <= 120, `each slave gets about half: ${counts}`);
});

it("weight=3 on slave01 (reloaded into the running master) sends it about three requests in four", async (t) => {
  const spec = localSpec();
  spec.slaves = spec.slaves.map((s, i) => (i === 0 ? { ...s, weight: 3 } : s));
  const reloaded = await e2e.cluster.reload(spec);
  assert.deepEqual(reloaded, [e2e.cluster.master.name], "only the master's config changed");
  const counts = await spread(200);
  t.diagnostic(`slave01 ${counts[0]}, slave02 ${counts[1]} of 200 with weights 3:1`);
  assert.equal(counts[0]! + counts[1]!, 200);
  assert.ok(counts[0]! >= 130 && counts[0]! <= 170, `slave01 gets about 150 of 200: ${counts}`);
});
