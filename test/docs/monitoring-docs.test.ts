// README's metric and access-log tables are the ones generated from their definitions,
// and every metric the alerts and the dashboard read is one that exists.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DASHBOARD_ROWS } from "../../infra/monitoring/dashboard.js";
import { withMonitoringReference } from "../../infra/monitoring/docs.js";
import { alertRules, recordingRules } from "../../infra/monitoring/rules.js";
import { planCluster } from "../../infra/topology.js";
import { Admission } from "../../resizer/src/admission.js";
import { createMetrics } from "../../resizer/src/metrics.js";
import { OPS_METRICS } from "../../resizer/src/ops/metrics.js";
import { projectRoot } from "../helpers/cli.js";
import { stackSpec } from "../helpers/stage.js";

test("README.md's monitoring reference is the generated one (run `npm run docs:monitoring` after changing a metric or a log field)", () => {
  const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
  assert.equal(withMonitoringReference(readme), readme);
});

test("every metric an alert, a recorded series or a dashboard panel reads is exposed by the agent, a resizer or the blackbox exporter", () => {
  const plan = planCluster(stackSpec("Pulumi.prod.yaml"));
  const exposed = new Set([
    ...Object.values(OPS_METRICS).flatMap((m) => (m.type === "histogram" ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])),
    ...createMetrics(new Admission(1, 1, 1)).registry.getMetricsAsArray().flatMap((m) => [m.name, `${m.name}_bucket`]),
    "probe_success",
    "probe_ssl_earliest_cert_expiry",
    "up",
    ...recordingRules().map((r) => r.record),
  ]);
  const exprs = [...alertRules(plan).map((r) => r.expr), ...recordingRules().map((r) => r.expr), ...DASHBOARD_ROWS.flatMap((r) => r.panels.flatMap((p) => p.queries.map((q) => q.expr)))];
  const PROMQL = new Set(["sum", "by", "rate", "histogram_quantile", "time", "and", "on", "or", "le", "host"]);
  const read = new Set(exprs.flatMap((e) => [...e.replace(/\{[^}]*\}|"[^"]*"|\[[^\]]*\]/g, " ").matchAll(/[a-z_:][a-z0-9_:]*/g)].map((m) => m[0])).filter((n) => !PROMQL.has(n) && !/^(route|member|upstream|status_class|cache_status|role|replica|certificate)$/.test(n)));
  assert.deepEqual([...read].filter((n) => !exposed.has(n)), []);
  assert.ok(read.size > 15, [...read].join(" "));
});
