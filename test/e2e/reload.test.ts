// A graceful reload under steady load: the config is changed the way an operator changes
// it (the stack's values, re-planned and re-rendered through the same code as `pulumi up`,
// written in place), nginx -t, then SIGHUP to each changed instance. No request fails.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, it } from "node:test";
import { describeFailures, get, localSpec, sleep, startE2E, steadyLoad, type E2E, type Target } from "../helpers/e2e.js";

let e2e: E2E;
before(async () => {
  e2e = await startE2E("reload");
});
after(() => e2e?.close());

function targets(): Target[] {
  const still = e2e.tree.stills[0]!;
  return (["http", "https"] as const).flatMap((scheme) => [
    ...e2e.tree.stills.slice(0, 4).map((path) => ({ path, scheme })),
    ...e2e.tree.thumbnails.slice(0, 4).map((path) => ({ path, scheme })),
    { path: `/resize?src=${still.slice(1)}&w=240`, scheme },
    { path: "/healthz", scheme },
  ]);
}

/** Reloads `spec` into the running cluster under steady load; the load report and what was reloaded. */
async function reloadUnderLoad(spec: ReturnType<typeof localSpec>) {
  const load = steadyLoad(e2e, targets(), { concurrency: 4 });
  await sleep(800);
  const reloadAt = performance.now();
  const reloaded = await e2e.cluster.reload(spec);
  const seconds = (performance.now() - reloadAt) / 1000;
  await sleep(1000);
  const report = await load.stop();
  const summary =
    `reloaded ${reloaded.join(", ")} in ${seconds.toFixed(2)}s under load: ${report.requests} requests ` +
    `(${report.requestsSince(reloadAt)} from the reload on), ${report.failed.length} failed; ` +
    `${report.keepaliveRetries} retried once by the client because an old worker closed the connection before answering (RFC 9110 9.2.2)`;
  return { reloaded, report, reloadAt, summary };
}

it("a graceful reload of the master (nginx -s reload after a config change) under steady load drops no request", async (t) => {
  const thumb = e2e.tree.thumbnails[0]!;
  assert.equal((await get(e2e, `/resize?src=${e2e.tree.stills[0]!.slice(1)}&w=240`)).status, 200);
  assert.equal((await get(e2e, thumb)).headers["cache-control"], "max-age=5");

  // The change: the thumbnail expiry, which only the master's config holds.
  const spec = localSpec();
  spec.nginx = { ...spec.nginx, expires: { ...spec.nginx.expires, thumbnail: "7s" } };
  const { reloaded, report, reloadAt, summary } = await reloadUnderLoad(spec);
  t.diagnostic(summary);
  assert.deepEqual(reloaded, [e2e.cluster.master.name]);
  assert.ok(report.requestsSince(reloadAt) > 100, "the load kept running through the reload");
  assert.equal(report.failed.length, 0, describeFailures(report.failed));
  for (const scheme of ["http", "https"] as const) {
    assert.equal((await get(e2e, thumb, { scheme })).headers["cache-control"], "max-age=7", "the new config is in effect");
  }
  // The same processes: a reload, not a restart.
  for (const inst of e2e.cluster.instances) assert.ok(inst.alive, inst.name);
});

it("a config nginx rejects is not loaded: the running one keeps serving", async () => {
  const conf = e2e.cluster.master.plan.paths.config;
  const good = readFileSync(conf, "utf8");
  writeFileSync(conf, `${good}\nthis is not nginx;\n`);
  try {
    await assert.rejects(e2e.cluster.reload(), /nginx -t rejected/);
    assert.equal((await get(e2e, e2e.tree.stills[1]!)).status, 200);
  } finally {
    writeFileSync(conf, good);
  }
});
