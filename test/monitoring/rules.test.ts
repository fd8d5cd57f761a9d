// The rendered monitoring files as Prometheus' own tools read them: `promtool check config`
// (with the rules it names), `promtool check rules`, the blackbox exporter's config check,
// and `promtool test rules`: each alert fires on the series that mean trouble, with the
// labels and annotations an operator reads, and stays quiet on the ones that do not.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { MONITORING_FILES, monitoringFiles } from "../../infra/monitoring/index.js";
import { ALERT_ANCHORS, THRESHOLDS, type AlertName } from "../../infra/monitoring/rules.js";
import { JOBS } from "../../infra/monitoring/targets.js";
import { SETUP_COMMAND, findOnPath } from "../../infra/local/tools.js";
import { planCluster } from "../../infra/topology.js";
import { PROD_L4_HOSTS, prodWithHaproxy, stackConfig } from "../helpers/pulumi.js";

const work = mkdtempSync(join(tmpdir(), "monitoring-rules-"));
after(() => rmSync(work, { recursive: true, force: true }));

function tool(name: string): string {
  const path = findOnPath(name);
  assert.ok(path, `${name} is missing: run \`${SETUP_COMMAND}\` as root (it installs Debian's prometheus and prometheus-blackbox-exporter)`);
  return path;
}

/** A stack's config; `prod-haproxy` is prod behind the software VIP. */
const configOf = (stack: string) => (stack === "prod-haproxy" ? prodWithHaproxy().config : stackConfig(stack));

/** Renders a stack's monitoring files into their own directory. */
function rendered(stack: string): string {
  const dir = join(work, stack);
  execFileSync("mkdir", ["-p", dir]);
  for (const f of monitoringFiles(planCluster(parseClusterSpec(fromStackConfig(configOf(stack)))))) writeFileSync(join(dir, f.name), f.content);
  return dir;
}

function run(cmd: string, args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe("Prometheus and the blackbox exporter accept the rendered files", () => {
  for (const stack of ["prod", "local", "prod-haproxy"]) {
    test(`${stack}: promtool check config (and the rules it names), check rules, blackbox --config.check`, () => {
      const dir = rendered(stack);
      const config = run(tool("promtool"), ["check", "config", MONITORING_FILES.prometheus], dir);
      assert.equal(config.code, 0, config.out);
      assert.match(config.out, /SUCCESS: 1 rule files found/);
      const rules = run(tool("promtool"), ["check", "rules", MONITORING_FILES.rules], dir);
      assert.equal(rules.code, 0, rules.out);
      const blackbox = run(tool("prometheus-blackbox-exporter"), ["--config.check", `--config.file=${MONITORING_FILES.blackbox}`], dir);
      assert.equal(blackbox.code, 0, blackbox.out);
      assert.doesNotMatch(blackbox.out, /deprecated/, "no deprecated blackbox settings");
    });
  }

  test("behind the software VIP, each L4 host's HAProxy metrics on its stats port (its own address); no such job without one", () => {
    const jobs = (stack: string) => (parse(readFileSync(join(rendered(stack), MONITORING_FILES.prometheus), "utf8")) as { scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[]; labels: Record<string, string> }[] }[] }).scrape_configs;
    const l4 = jobs("prod-haproxy").find((j) => j.job_name === JOBS.l4)!;
    assert.equal(l4.metrics_path, "/metrics");
    assert.deepEqual(
      l4.static_configs.map((c) => `${c.labels.host} ${c.targets.join(",")}`),
      PROD_L4_HOSTS.map((h) => `${h.name} ${h.address}:8404`),
    );
    assert.equal(jobs("prod").find((j) => j.job_name === JOBS.l4), undefined);
  });
});

// ---------------------------------------------------------------------------------------
// promtool test rules, on prod's rules (scrape interval 15 s: a target is down after 60 s)

const prodDir = rendered("prod");
const prod = planCluster(parseClusterSpec(fromStackConfig(stackConfig("prod"))));
const down = `${THRESHOLDS.downScrapes * prod.monitoring.scrapeIntervalSeconds}s`;
const runbook = (a: AlertName) => `${prod.monitoring.runbookUrl}#${ALERT_ANCHORS[a]}`;

interface Case {
  alert: AlertName;
  /** What the series say. */
  name: string;
  series: Record<string, string>;
  at: string;
  /** Expected alerts: labels beyond alertname, and the annotations (runbook_url added). */
  fires?: { labels: Record<string, string>; summary: string; description: string }[];
}

const ops = { job: JOBS.ops, host: "img01", instance: "172.18.141.51:9145" };
const lbl = (o: Record<string, string>) => `{${Object.entries(o).map(([k, v]) => `${k}="${v}"`).join(",")}}`;
const master = (extra: Record<string, string>) => `nginx_http_responses_total${lbl({ ...ops, role: "master", ...extra })}`;
const resizer = { job: JOBS.resizer, host: "img01", instance: "172.18.141.51:9145", replica: "resizer01" };
const healthz = { job: JOBS.health, host: "img01", port: "80", instance: "http://172.18.141.51:80/healthz" };
const tls = { job: JOBS.tls, host: "img01", certificate: "star-tving", instance: "172.18.141.51:443" };
const bucket = (le: string) => `resizer_http_request_duration_seconds_bucket${lbl({ ...resizer, route: "resize", le })}`;

const cases: Case[] = [
  {
    alert: "HostHealthCheckFailing",
    name: "/healthz failing for 3 minutes",
    series: { [`probe_success${lbl(healthz)}`]: "1 0x20" },
    at: "4m",
    fires: [
      {
        labels: { severity: "critical", ...healthz },
        summary: "img01 fails its health check on port 80",
        description: `GET /healthz on http://172.18.141.51:80/healthz has not answered 200 for ${down}: the L4 takes the host out (drained, no slave serving, master down, or TLS broken).`,
      },
    ],
  },
  { alert: "HostHealthCheckFailing", name: "two failed probes, then healthy (shorter than the L4's patience)", series: { [`probe_success${lbl(healthz)}`]: "1 0 0 1x20" }, at: "4m" },
  {
    alert: "HostErrorRatioHigh",
    name: "10 of 70 requests per second are 5xx for 12 minutes",
    series: { [master({ route: "static", status_class: "2xx", cache_status: "none" })]: "0+900x60", [master({ route: "static", status_class: "5xx", cache_status: "none" })]: "0+150x60" },
    at: "12m",
    fires: [
      {
        labels: { severity: "critical", host: "img01" },
        summary: "img01 answers 14.29% of its requests with 5xx",
        description: "More than 5% of the master's responses on img01 were 5xx over 5 minutes.",
      },
    ],
  },
  {
    alert: "HostErrorRatioHigh",
    name: "1 of 61 requests per second is 5xx",
    series: { [master({ route: "static", status_class: "2xx", cache_status: "none" })]: "0+900x60", [master({ route: "static", status_class: "5xx", cache_status: "none" })]: "0+15x60" },
    at: "12m",
  },
  {
    alert: "HostErrorRatioHigh",
    name: "half of a trickle (0.4 requests per second) is 5xx",
    series: { [master({ route: "static", status_class: "2xx", cache_status: "none" })]: "0+3x60", [master({ route: "static", status_class: "5xx", cache_status: "none" })]: "0+3x60" },
    at: "12m",
  },
  {
    alert: "ResizerLoadShedding",
    name: "2 of 22 resizes per second refused for 12 minutes",
    series: { [`resizer_http_requests_total${lbl({ ...resizer, route: "resize", status: "200" })}`]: "0+300x60", [`resizer_http_requests_total${lbl({ ...resizer, route: "resize", status: "503" })}`]: "0+30x60" },
    at: "12m",
    fires: [
      {
        labels: { severity: "warning", host: "img01" },
        summary: "the resizers of img01 refuse 9.091% of their requests (503)",
        description: "Every replica's concurrency slots and queue are full (or transforms outlive their timeout): clients get 503 + Retry-After for uncached sizes.",
      },
    ],
  },
  {
    alert: "ResizerLoadShedding",
    name: "one 503 in 1500 resizes",
    series: { [`resizer_http_requests_total${lbl({ ...resizer, route: "resize", status: "200" })}`]: "0+1500x60", [`resizer_http_requests_total${lbl({ ...resizer, route: "resize", status: "503" })}`]: "0+1x60" },
    at: "12m",
  },
  {
    alert: "ResizeLatencyHigh",
    name: "every resize between 2.5 and 5 seconds for 20 minutes",
    series: { [bucket("0.1")]: "0x100", [bucket("2.5")]: "0x100", [bucket("5")]: "0+30x100", [bucket("+Inf")]: "0+30x100" },
    at: "20m",
    fires: [
      {
        labels: { severity: "warning", host: "img01" },
        summary: "resize p99 on img01 is 4.975s",
        description: "The slowest 1% of resizes took more than 2.5 s for 10 minutes (large sources, too few CPUs, or a queue building up).",
      },
    ],
  },
  { alert: "ResizeLatencyHigh", name: "every resize within 100 ms", series: { [bucket("0.1")]: "0+30x100", [bucket("2.5")]: "0+30x100", [bucket("5")]: "0+30x100", [bucket("+Inf")]: "0+30x100" }, at: "20m" },
  {
    alert: "CacheHitRatioCollapsed",
    name: "1 hit for 3 misses per second for 35 minutes",
    series: { [master({ route: "resize", status_class: "2xx", cache_status: "HIT" })]: "0+15x200", [master({ route: "resize", status_class: "2xx", cache_status: "MISS" })]: "0+45x200" },
    at: "35m",
    fires: [
      {
        labels: { severity: "warning", host: "img01" },
        summary: "only 25% of cached requests on img01 come from the cache",
        description: "The cache serves less than half of the requests of its routes (resizes, storyboards): the resizers carry the load (a lost cache volume, a cache-busting client, or a key change).",
      },
    ],
  },
  {
    alert: "CacheHitRatioCollapsed",
    name: "3 hits (and stale copies) for 1 miss per second",
    series: {
      [master({ route: "resize", status_class: "2xx", cache_status: "HIT" })]: "0+30x200",
      [master({ route: "storyboard_sheet", status_class: "2xx", cache_status: "STALE" })]: "0+15x200",
      [master({ route: "resize", status_class: "2xx", cache_status: "MISS" })]: "0+15x200",
    },
    at: "35m",
  },
  { alert: "CacheHitRatioCollapsed", name: "a trickle of misses (0.2 per second)", series: { [master({ route: "resize", status_class: "2xx", cache_status: "MISS" })]: "0+3x200" }, at: "35m" },
  {
    alert: "CertificateExpiringSoon",
    name: "10 days left",
    series: { [`probe_ssl_earliest_cert_expiry${lbl(tls)}`]: `${10 * 86400}x100` },
    at: "20m",
    fires: [
      {
        labels: { severity: "warning", ...tls },
        summary: 'certificate "star-tving" on img01 expires in 9d 23h 40m 0s',
        description: "Less than 14 days left on the certificate this host serves: renewal (ACME) or replacement (supplied) did not happen.",
      },
    ],
  },
  { alert: "CertificateExpiringSoon", name: "30 days left", series: { [`probe_ssl_earliest_cert_expiry${lbl(tls)}`]: `${30 * 86400}x100` }, at: "20m" },
  {
    alert: "AcmeRenewerFailing",
    name: "the last checks failed for 2 hours",
    series: { [`image_origin_acme_renewal_success${lbl({ ...ops, certificate: "star-tving" })}`]: "0x600", [`image_origin_acme_renewal_last_check_timestamp_seconds${lbl({ ...ops, certificate: "star-tving" })}`]: "0+15x600" },
    at: "2h",
    fires: [
      {
        labels: { severity: "warning", ...ops, certificate: "star-tving" },
        summary: 'the ACME renewer of "star-tving" on img01 is failing',
        description: "Its last checks failed (it retries every hour), or it has not checked for over 13 hours. The masters keep serving the current certificate until it expires.",
      },
    ],
  },
  {
    alert: "AcmeRenewerFailing",
    name: "no check for 15 hours after a success",
    series: { [`image_origin_acme_renewal_success${lbl({ ...ops, certificate: "star-tving" })}`]: "1x4000", [`image_origin_acme_renewal_last_check_timestamp_seconds${lbl({ ...ops, certificate: "star-tving" })}`]: "0x4000" },
    at: "15h",
    fires: [
      {
        labels: { severity: "warning", ...ops, certificate: "star-tving" },
        summary: 'the ACME renewer of "star-tving" on img01 is failing',
        description: "Its last checks failed (it retries every hour), or it has not checked for over 13 hours. The masters keep serving the current certificate until it expires.",
      },
    ],
  },
  {
    alert: "AcmeRenewerFailing",
    name: "one failed check, then a success within the hour",
    series: { [`image_origin_acme_renewal_success${lbl({ ...ops, certificate: "star-tving" })}`]: "0x240 1x400", [`image_origin_acme_renewal_last_check_timestamp_seconds${lbl({ ...ops, certificate: "star-tving" })}`]: "0+15x600" },
    at: "2h",
  },
  {
    alert: "SlaveDown",
    name: "slave02's stub_status unanswered for 3 minutes",
    series: { [`nginx_up${lbl({ ...ops, role: "slave02" })}`]: "1 0x20", [`nginx_up${lbl({ ...ops, role: "slave01" })}`]: "1x20" },
    at: "4m",
    fires: [
      {
        labels: { severity: "warning", ...ops, role: "slave02" },
        summary: "slave02 on img01 is down",
        description: `The slave has not answered its stub_status for ${down}; the master sends its requests to the other slaves.`,
      },
    ],
  },
  { alert: "SlaveDown", name: "the master down is no slave down (the health check alert covers it)", series: { [`nginx_up${lbl({ ...ops, role: "master" })}`]: "1 0x20" }, at: "4m" },
  { alert: "SlaveDown", name: "one missed scrape", series: { [`nginx_up${lbl({ ...ops, role: "slave01" })}`]: "1 0 1x20" }, at: "4m" },
  {
    alert: "ResizerDown",
    name: "resizer01's metrics unanswered for 3 minutes",
    series: { [`up${lbl(resizer)}`]: "1 0x20" },
    at: "4m",
    fires: [{ labels: { severity: "warning", ...resizer }, summary: "resizer01 on img01 is down", description: `The replica has not answered for ${down}; the master resizes on the others.` }],
  },
  { alert: "ResizerDown", name: "the ops agent down is not a resizer down", series: { [`up${lbl(ops)}`]: "1 0x20", [`up${lbl(resizer)}`]: "1x20" }, at: "4m" },
  {
    alert: "OpsAgentDown",
    name: "the ops listener unanswered for 3 minutes",
    series: { [`up${lbl(ops)}`]: "1 0x20" },
    at: "4m",
    fires: [
      {
        labels: { severity: "warning", ...ops },
        summary: "the ops agent of img01 does not answer",
        description: "No metrics from this host's master, slaves and resizers: its other alerts cannot fire while this lasts.",
      },
    ],
  },
  { alert: "OpsAgentDown", name: "answering", series: { [`up${lbl(ops)}`]: "1x20" }, at: "4m" },
];

describe("promtool test rules: every alert fires when it should, and only then", () => {
  test("every alert of rules.yml has a case firing and a case staying quiet", () => {
    const doc = parse(monitoringFiles(prod).find((f) => f.name === MONITORING_FILES.rules)!.content) as { groups: { rules: { alert?: string }[] }[] };
    const alerts = doc.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    assert.deepEqual(alerts.sort(), Object.keys(ALERT_ANCHORS).sort());
    for (const a of alerts) {
      assert.ok(cases.some((c) => c.alert === a && c.fires), `${a}: a firing case`);
      assert.ok(cases.some((c) => c.alert === a && !c.fires), `${a}: a quiet case`);
    }
  });

  test(`${cases.length} cases pass promtool test rules`, () => {
    const tests = cases.map((c) => ({
      name: `${c.alert}: ${c.name}`,
      interval: "15s",
      input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: c.alert,
          exp_alerts: (c.fires ?? []).map((f) => ({ exp_labels: f.labels, exp_annotations: { summary: f.summary, description: f.description, runbook_url: runbook(c.alert) } })),
        },
      ],
    }));
    const file = join(prodDir, "alerts.test.yml");
    writeFileSync(file, stringify({ rule_files: [MONITORING_FILES.rules], evaluation_interval: "15s", tests }, { lineWidth: 0, aliasDuplicateObjects: false }));
    const r = run(tool("promtool"), ["test", "rules", "alerts.test.yml"], prodDir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });
});
