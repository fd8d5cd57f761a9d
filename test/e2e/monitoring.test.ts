// Monitoring for real: the local cluster (its ops agent run by the launcher, as its
// container would be), Prometheus and the blackbox exporter from Debian with the files
// `npm run render` writes for that cluster's plan. Traffic of every kind, then every
// documented metric has data, every dashboard query returns some, a killed slave raises
// SlaveDown through Prometheus' API and `npm run status --once` shows it, and a restarted
// slave clears it. Waits are on what Prometheus reports, bounded by the scrape interval.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { DASHBOARD_ROWS } from "../../infra/monitoring/dashboard.js";
import { THRESHOLDS } from "../../infra/monitoring/rules.js";
import { JOBS } from "../../infra/monitoring/targets.js";
import { Histogram } from "prom-client";
import { OPS_METRICS } from "../../resizer/src/ops/metrics.js";
import { Admission } from "../../resizer/src/admission.js";
import { createMetrics } from "../../resizer/src/metrics.js";
import { PROJECT_ROOT } from "../../infra/local/launcher.js";
import { accessLogEntries, get, localSpec, startE2E, steadyLoad, type E2E } from "../helpers/e2e.js";
import { freePorts } from "../helpers/stage.js";
import { startMonitor, type Monitor } from "../helpers/prometheus.js";

const SCRAPE_SECONDS = 2;
let e2e: E2E;
let monitor: Monitor;

before(async () => {
  const [prometheus = 0, blackbox = 0] = await freePorts(2);
  const spec = localSpec();
  spec.monitoring = { ...spec.monitoring, scrapeIntervalSeconds: SCRAPE_SECONDS, blackboxExporter: `127.0.0.1:${blackbox}` };
  // One slot and one queue place per replica: a small burst is shed (503), as in production under overload.
  spec.resizer = { ...spec.resizer, concurrency: 1, queue: 1 };
  // Resized images expire at once: a repeat is revalidated with the resizer (EXPIRED, STALE, 304s).
  spec.cache = { ...spec.cache, valid: [{ statuses: [200], time: "1s" }] };
  e2e = await startE2E("monitoring", { spec });
  monitor = await startMonitor(e2e.cluster.clusterPlan, { prometheus, blackbox });
});
after(async () => {
  await monitor?.stop();
  await e2e?.close();
});

const scrapes = (n: number) => n * SCRAPE_SECONDS * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every scrape interval until it returns a value; the last failure says why. */
async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s${last ? ` (${(last as Error).message})` : ""}`);
    await sleep(SCRAPE_SECONDS * 500);
  }
}

/** Every kind of request an operator's metrics should show: both slaves, thumbnails, resizes (miss, hit, expired, legacy, refused, bad), HTTPS. */
async function traffic(): Promise<void> {
  const tree = e2e.tree;
  const src = tree.sources[0]!;
  for (const still of tree.stills.slice(0, 8)) assert.equal((await get(e2e, still)).status, 200);
  for (const thumb of tree.thumbnails.slice(0, 4)) assert.equal((await get(e2e, thumb, { scheme: "https" })).status, 200);
  assert.equal((await get(e2e, "/thumbnail/none.jpg")).status, 404);
  const resize = (w: number) => `/resize?src=${src.replace(/^\//, "")}&w=${w}&fmt=webp`;
  assert.equal((await get(e2e, resize(120))).headers["x-cache-status"], "MISS");
  assert.equal((await get(e2e, resize(120))).headers["x-cache-status"], "HIT");
  // Past cache.valid, the next request revalidates with the resizer (a 304, no resize):
  // asked until nginx says so, since a loaded machine stretches every delay.
  const seen: string[] = [];
  for (const deadline = Date.now() + 30_000; ; ) {
    await sleep(1500);
    seen.push(String((await get(e2e, resize(120))).headers["x-cache-status"]));
    if (/^(EXPIRED|STALE|UPDATING|REVALIDATED)$/.test(seen[seen.length - 1]!)) break;
    assert.ok(Date.now() < deadline, `an expired entry is revalidated (cache statuses seen: ${seen.join(" ")})`);
  }
  // A TimThumb URL answers a redirect to its canonical /resize URL (route "legacy").
  assert.equal((await get(e2e, `/timthumb.php?src=/${src.replace(/^\//, "")}&w=90`)).status, 301);
  assert.equal((await get(e2e, "/resize?src=images/none.jpg&w=100")).status, 404, "a missing source: the resizer's not_found");
  assert.equal((await get(e2e, "/resize?src=x.jpg&w=abc")).status, 400);
  // A burst of new sizes beyond 2 replicas x (1 slot + 1 queued): some are refused with 503.
  const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => get(e2e, resize(300 + i * 7))));
  assert.ok(burst.some((r) => r.status === 503), `the burst was shed: ${burst.map((r) => r.status).join(" ")}`);
}

describe("Prometheus against the local cluster's ops listener", () => {
  test("every scrape job is up: the ops listener, each resizer's path, each health check and certificate probe", async () => {
    const targets = await eventually("every target healthy", scrapes(15), async () => {
      const t = await monitor.targets();
      return t.length > 0 && t.every((x) => x.health === "up") ? t : undefined;
    });
    const jobs = (job: string) => targets.filter((t) => t.job === job).map((t) => t.scrapeUrl);
    assert.deepEqual(jobs(JOBS.ops).length, 1);
    assert.deepEqual(jobs(JOBS.resizer).map((u) => new URL(u).pathname).sort(), ["/metrics/resizer01", "/metrics/resizer02"]);
    assert.equal(jobs(JOBS.health).length, 2, "HTTP and HTTPS");
    assert.equal(jobs(JOBS.tls).length, 1, "the local certificate");
  });

  test("after traffic of every kind, every documented metric has data (with a sample of each)", async (t) => {
    await traffic();
    const opsMetrics = Object.values(OPS_METRICS).filter((m) => !("only" in m));
    const resizerMetrics = createMetrics(new Admission(1, 1, 1))
      .registry.getMetricsAsArray()
      .map((m) => ({ name: m.name, type: m instanceof Histogram ? "histogram" : "other" }))
      .filter((m) => m.name.startsWith("resizer_"));
    const wanted = [
      ...opsMetrics.map((m) => ({ job: JOBS.ops, name: m.name, type: m.type as string })),
      ...resizerMetrics.map((m) => ({ job: JOBS.resizer, ...m })),
      { job: JOBS.health, name: "probe_success", type: "gauge" },
      { job: JOBS.tls, name: "probe_ssl_earliest_cert_expiry", type: "gauge" },
    ];
    const series = (m: { job: string; name: string; type: string }) => `${m.name}${m.type === "histogram" ? "_bucket" : ""}{job="${m.job}"}`;
    const samples = await eventually("data for every metric", scrapes(20), async () => {
      const got = await Promise.all(wanted.map(async (m) => ({ m, r: await monitor.query(series(m)) })));
      const missing = got.filter((g) => g.r.length === 0).map((g) => g.m.name);
      if (missing.length > 0) throw new Error(`no data yet for ${missing.join(", ")}`);
      return got;
    });
    for (const { r } of samples) {
      const s = r.find((x) => Number(x.value[1]) > 0) ?? r[0]!;
      const { __name__, job: _job, instance: _instance, ...labels } = s.metric;
      t.diagnostic(`${__name__}${JSON.stringify(labels)} ${s.value[1]}`);
    }
    // Each replica is scraped on its own path.
    assert.deepEqual((await monitor.query(`count by (replica) (resizer_http_requests_total{job="${JOBS.resizer}"})`)).map((s) => s.metric.replica).sort(), ["resizer01", "resizer02"]);
    // What the traffic was, counted from the access logs (once the scrape after it is in).
    const count = async (sel: string) => Number((await monitor.query(`sum(nginx_http_responses_total{job="${JOBS.ops}",${sel}})`))[0]?.value[1] ?? 0);
    const expected: [string, number, string][] = [
      ['role="master",route="thumbnail",status_class="2xx"', 4, "thumbnails"],
      ['role="master",route="static",status_class="2xx"', 8, "stills through the master"],
      ['role=~"slave.*",route="static"', 8, "the slaves count what they served"],
      ['route="resize",cache_status="HIT"', 1, "a cache hit"],
      ['route="resize",cache_status="MISS"', 1, "a miss"],
      ['route="resize",status_class="5xx"', 1, "the shed burst"],
      ['route="legacy"', 1, "a TimThumb URL"],
      ['cache_status=~"EXPIRED|STALE|UPDATING|REVALIDATED"', 1, "expired entries revalidated"],
    ];
    await eventually("the traffic counted", scrapes(10), async () => {
      const short = [];
      for (const [sel, n, what] of expected) if ((await count(sel)) < n) short.push(what);
      if (Number((await monitor.query(`sum(resizer_not_modified_total{job="${JOBS.resizer}"})`))[0]?.value[1] ?? 0) < 1) short.push("the resizer's 304 to a revalidation");
      if (short.length > 0) throw new Error(`not yet: ${short.join(", ")}`);
      return true;
    });
    // Nothing lost between nginx and the agent: every logged request was counted.
    const lost = await monitor.query(`image_origin_ops_log_messages_total{result!="counted"}`);
    assert.deepEqual(lost.map((s) => `${s.metric.result} ${s.value[1]}`), []);
  });

  test("one request, one id: the master's JSON line, the slave's and the resizer's carry the same request_id", () => {
    const master = accessLogEntries(e2e.cluster.master.accessLog);
    for (const e of master) {
      assert.equal(typeof e.status, "number");
      assert.equal(typeof e.request_time, "number");
      assert.match(String(e.request_id), /^[0-9a-f]{32}$/);
    }
    const still = master.find((e) => e.route === "static" && e.status === 200 && e.upstream !== "")!;
    const slaves = e2e.cluster.slaves.flatMap((s) => accessLogEntries(s.accessLog));
    assert.deepEqual(slaves.filter((e) => e.request_id === still.request_id).map((e) => e.path), [still.path]);
    const resized = master.find((e) => e.route === "resize" && e.cache === "MISS")!;
    const resizerLines = e2e.cluster.resizers.flatMap((r) => readFileSync(r.logFile, "utf8").split("\n")).filter((l) => l.includes(`"id":"${String(resized.request_id)}"`));
    assert.equal(resizerLines.length, 1, `the resizer logged ${String(resized.request_id)}`);
    const https = master.find((e) => e.route === "thumbnail" && e.tls !== "")!;
    assert.match(String(https.tls), /^TLSv1\.[23]$/);
    assert.equal(https.host, e2e.main.serverNames[0]);
  });

  test("every panel of the dashboard returns data", async (t) => {
    const load = steadyLoad(e2e, [{ path: e2e.tree.stills[0]! }, { path: `/resize?src=${e2e.tree.sources[0]!.replace(/^\//, "")}&w=64` }, { path: e2e.tree.thumbnails[0]!, scheme: "https" }], {
      concurrency: 2,
      pauseMs: 20,
      ok: () => true,
    });
    try {
      await sleep(scrapes(3));
      for (const row of DASHBOARD_ROWS) {
        for (const panel of row.panels) {
          for (const q of panel.queries) {
            const expr = q.expr.replaceAll("$__rate_interval", "1m").replaceAll('"$host"', '".*"');
            const result = await eventually(`${row.title} / ${panel.title}: ${expr}`, scrapes(15), async () => {
              const r = await monitor.query(expr);
              return r.some((s) => Number.isFinite(Number(s.value[1]))) ? r : undefined;
            });
            t.diagnostic(`${panel.title}: ${result.length} series, e.g. ${result.find((s) => Number.isFinite(Number(s.value[1])))!.value[1]}`);
          }
        }
      }
    } finally {
      await load.stop();
    }
  });

  test("a killed slave raises SlaveDown through Prometheus, npm run status --once shows it, and a restart clears it", async (t) => {
    const slave = e2e.cluster.slaves[0]!;
    const load = steadyLoad(e2e, [{ path: e2e.tree.stills[1]! }, { path: `/resize?src=${e2e.tree.sources[0]!.replace(/^\//, "")}&w=80` }, { path: e2e.tree.thumbnails[1]!, scheme: "https" }], {
      concurrency: 4,
      ok: () => true,
    });
    try {
      const killedAt = Date.now();
      await slave.kill();
      const firing = await eventually("SlaveDown firing", scrapes(THRESHOLDS.downScrapes + 20), async () => {
        const a = (await monitor.alerts()).find((x) => x.labels.alertname === "SlaveDown" && x.state === "firing");
        return a;
      });
      t.diagnostic(`SlaveDown firing ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill: ${firing.annotations.summary}`);
      assert.equal(firing.labels.role, "slave01");
      assert.equal(firing.labels.host, e2e.cluster.host.name);
      assert.match(firing.annotations.runbook_url ?? "", /RUNBOOK\.md#alert-slave-down$/);
      assert.ok(!(await monitor.alerts()).some((a) => a.labels.alertname === "HostHealthCheckFailing"), "the host still serves: slave02");

      // The status view, under load, with slave01 down.
      const status = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "infra/cli/status.ts", "--plan", e2e.cluster.planFile, "--once", "--interval", "2"], { cwd: PROJECT_ROOT });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        child.on("exit", (code) => resolve({ code, out }));
      });
      t.diagnostic("npm run status -- --once (under load, slave01 killed):");
      for (const line of status.out.trimEnd().split("\n")) t.diagnostic(line);
      assert.equal(status.code, 1, "a host with a problem");
      const lines = status.out.split("\n");
      const row = lines.find((l) => l.startsWith(`${e2e.cluster.host.name} `))!;
      const m = e2e.cluster.host.master;
      assert.match(row, new RegExp(`:${m.http.port} 200  :${m.https!.port} 200`), "health per published port");
      const [, rps] = /200\s+([\d.]+)\s/.exec(row.slice(row.lastIndexOf(" 200") - 1)) ?? [];
      assert.ok(Number(rps) > 0, `requests per second under load: ${row}`);
      assert.match(row, /2\/2 up/);
      assert.match(row, /\s(2[89]|30)$/, "certificate days left (the stand-in is made for 30 days)");
      assert.ok(lines.some((l) => /^\s+slave01\s+DOWN\s/.test(l)), "slave01 down");
      assert.ok(lines.some((l) => /^\s+slave02\s+up\s/.test(l)));
      assert.ok(lines.some((l) => /^\s+! slave01 down$/.test(l)));

      const restartedAt = Date.now();
      await slave.start();
      await eventually("SlaveDown resolved", scrapes(20), async () => ((await monitor.alerts()).some((a) => a.labels.alertname === "SlaveDown") ? undefined : true));
      t.diagnostic(`SlaveDown cleared ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart`);
    } finally {
      const report = await load.stop();
      t.diagnostic(`load meanwhile: ${report.requests} requests, ${report.failed.length} failed`);
    }
  });
});
