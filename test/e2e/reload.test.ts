// A graceful reload under steady load: the config is changed the way an operator changes
// it (the stack's values, re-planned and re-rendered through the same code as `pulumi up`,
// written in place), nginx -t, then SIGHUP to each changed instance. No request fails.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, it } from "node:test";
import { childrenOf } from "../../infra/local/process.js";
import { describeFailures, get, localSpec, SCHEMES, startE2E, steadyLoad, type E2E, type Target } from "../helpers/e2e.js";

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

const CONCURRENCY = 4;

/** Reloads `spec` into the running cluster under steady load; the load report and what was reloaded. */
async function reloadUnderLoad(spec: ReturnType<typeof localSpec>) {
  const load = steadyLoad(e2e, targets(), { concurrency: CONCURRENCY });
  await load.until(100);
  const reloadAt = performance.now();
  const reloaded = await e2e.cluster.reload(spec);
  const seconds = (performance.now() - reloadAt) / 1000;
  // reload() returns once the old workers are gone; then some more under the new config.
  await load.until(100, performance.now());
  const report = await load.stop();
  const summary =
    `reloaded ${reloaded.join(", ")} in ${seconds.toFixed(2)}s under load: ${report.requests} requests ` +
    `(${report.requestsSince(reloadAt)} from the reload on), ${report.failed.length} failed; ` +
    `client retries of a kept-alive connection an old worker closed before answering (RFC 9110 9.2.2): ${report.keepaliveRetries} (bound ${retryBound()})`;
  return { reloaded, report, reloadAt, summary };
}

/**
 * An old worker closes each kept-alive client connection it holds once, so a client can
 * meet that close at most once per connection: the load's pool holds at most one
 * connection per client and scheme.
 */
const retryBound = () => CONCURRENCY * SCHEMES.length;

it("a graceful reload of the master (nginx -s reload after a config change) under steady load drops no request", async (t) => {
  const thumb = e2e.tree.thumbnails[0]!;
  assert.equal((await get(e2e, `/resize?src=${e2e.tree.stills[0]!.slice(1)}&w=240`)).status, 200);
  assert.equal((await get(e2e, thumb)).headers["cache-control"], "max-age=5");
  const pids = e2e.cluster.instances.map((i) => i.pid);
  const workersBefore = childrenOf(e2e.cluster.master.pid!);

  // The change: the thumbnail expiry, which only the master's config holds.
  const spec = localSpec();
  spec.nginx = { ...spec.nginx, expires: { ...spec.nginx.expires, thumbnail: "7s" } };
  const { reloaded, report, reloadAt, summary } = await reloadUnderLoad(spec);
  t.diagnostic(summary);
  assert.deepEqual(reloaded, [e2e.cluster.master.name]);
  assert.ok(report.requestsSince(reloadAt) > 100, "the load kept running through the reload");
  assert.equal(report.failed.length, 0, describeFailures(report.failed));
  assert.ok(report.keepaliveRetries <= retryBound(), `${report.keepaliveRetries} client retries, more than the ${retryBound()} connections an old worker can close`);
  for (const scheme of SCHEMES) {
    assert.equal((await get(e2e, thumb, { scheme })).headers["cache-control"], "max-age=7", "the new config is in effect");
  }
  // A reload, not a restart: the same master process (and every other one), new workers.
  assert.deepEqual(e2e.cluster.instances.map((i) => i.pid), pids, "no process was restarted");
  const workersAfter = childrenOf(e2e.cluster.master.pid!);
  assert.ok(workersAfter.length > 0 && workersAfter.every((w) => !workersBefore.includes(w)), `new workers ${workersAfter} replaced ${workersBefore}`);
});

it("a config nginx rejects is not loaded: the running one keeps serving", async () => {
  const conf = e2e.cluster.master.plan.paths.config;
  const good = readFileSync(conf, "utf8");
  const pid = e2e.cluster.master.pid;
  const workers = childrenOf(pid!);
  writeFileSync(conf, `${good}\nthis is not nginx;\n`);
  try {
    await assert.rejects(e2e.cluster.reload(), /nginx -t rejected/);
    assert.equal((await get(e2e, e2e.tree.stills[1]!)).status, 200);
    assert.equal(e2e.cluster.master.pid, pid);
    assert.deepEqual(childrenOf(pid!), workers, "not even signalled: the same workers serve");
  } finally {
    writeFileSync(conf, good);
  }
});
