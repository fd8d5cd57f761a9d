// The alert and recording rules (monitoring/rules.yml). Each alert says what broke in
// operator terms and links its RUNBOOK.md section (`runbook_url`); thresholds are named
// here once. `promtool test rules` exercises each alert firing and not firing
// (test/monitoring/rules.test.ts). Pure.
import { ROUTES } from "../../resizer/src/routes.js";
import type { ClusterPlan } from "../topology.js";
import { JOBS } from "./targets.js";

const routeRegex = (keep: (r: (typeof ROUTES)[number]) => boolean) => ROUTES.filter(keep).map((r) => r.label).join("|");
/** Resizes proper (`/resize` and the legacy `.php`), as a `route` label regex: their latency is the one to watch. */
export const RESIZE_ROUTES = routeRegex((r) => r.handler === "resize");
/** Every route the master sends to the resizers (resizes and storyboards): what a busy replica refuses. */
export const RESIZER_ROUTES = routeRegex((r) => r.public);
/** Every route the master caches: the cache hit ratio's. */
export const CACHED_ROUTES = routeRegex((r) => r.public && r.cached);

/** Thresholds, each with the reason it is where it is. */
export const THRESHOLDS = {
  /** A host answering more than 5% of its requests with 5xx for 5 minutes is failing its clients. */
  errorRatio: 0.05,
  /** Requests per second below which ratios are noise (a handful of requests). */
  minRequestRate: 1,
  /** The resizers refusing (503) more than 1% of their requests for 5 minutes: capacity is short. */
  shedRatio: 0.01,
  /** A resize p99 beyond 2.5 s (a histogram bucket boundary) for 10 minutes: clients wait. */
  resizeP99Seconds: 2.5,
  /** Below half of the cached routes' requests served from the cache for 15 minutes: the resizers carry what the cache should. */
  cacheHitRatio: 0.5,
  /** Certificates are renewed 30 days ahead (ACME) or replaced by hand: 14 days left means that failed. */
  certificateDays: 14,
  /** The renewer checks every 12 h; a last check older than 13 h means it stopped. */
  acmeCheckAgeHours: 13,
  /** Consecutive failed scrapes before a target counts as down (not one lost packet). */
  downScrapes: 4,
} as const;

/** How long each condition must hold before its alert fires (Prometheus durations). */
export const HOLD = { errorRatio: "5m", shedRatio: "5m", resizeLatency: "10m", cacheHitRatio: "15m", certificate: "10m", acme: "90m" } as const;

const minutes = (d: string) => d.replace(/m$/, " min");

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "critical" | "warning" };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RecordingRule {
  record: string;
  expr: string;
}

/** Recorded series the alerts and the dashboard share. */
export const RECORDED = {
  requestRate: "image_origin:http_requests:rate5m",
  errorRatio: "image_origin:http_5xx_ratio:rate5m",
  cachedRate: "image_origin:cached_route_requests:rate15m",
  cacheHitRatio: "image_origin:cache_hit_ratio:rate15m",
  shedRatio: "image_origin:resizer_503_ratio:rate5m",
  resizeP99: "image_origin:resize_duration_seconds:p99_5m",
} as const;

const MASTER = 'role="master"';

export function recordingRules(): RecordingRule[] {
  const responses = (sel: string, window: string) => `sum by (host) (rate(nginx_http_responses_total{${sel}}[${window}]))`;
  return [
    { record: RECORDED.requestRate, expr: responses(MASTER, "5m") },
    { record: RECORDED.errorRatio, expr: `${responses(`${MASTER},status_class="5xx"`, "5m")}\n/\n${responses(MASTER, "5m")}` },
    { record: RECORDED.cachedRate, expr: responses(`${MASTER},route=~"${CACHED_ROUTES}"`, "15m") },
    {
      // Served from the cache: fresh hits, stale copies while revalidating or after an error, 304s from the resizer.
      record: RECORDED.cacheHitRatio,
      expr: `${responses(`${MASTER},route=~"${CACHED_ROUTES}",cache_status=~"HIT|STALE|UPDATING|REVALIDATED"`, "15m")}\n/\n${responses(`${MASTER},route=~"${CACHED_ROUTES}",cache_status!="none"`, "15m")}`,
    },
    {
      record: RECORDED.shedRatio,
      expr: `sum by (host) (rate(resizer_http_requests_total{job="${JOBS.resizer}",status="503"}[5m]))\n/\nsum by (host) (rate(resizer_http_requests_total{job="${JOBS.resizer}",route=~"${RESIZER_ROUTES}"}[5m]))`,
    },
    {
      record: RECORDED.resizeP99,
      expr: `histogram_quantile(0.99, sum by (host, le) (rate(resizer_http_request_duration_seconds_bucket{job="${JOBS.resizer}",route=~"${RESIZE_ROUTES}"}[5m])))`,
    },
  ];
}

/** RUNBOOK.md anchors of the alerts (test/docs checks that each exists). */
export const ALERT_ANCHORS = {
  HostHealthCheckFailing: "alert-host-health-check",
  HostErrorRatioHigh: "alert-host-5xx",
  ResizerLoadShedding: "resizer-overloaded",
  ResizeLatencyHigh: "alert-resize-latency",
  CacheHitRatioCollapsed: "alert-cache-hit-ratio",
  CertificateExpiringSoon: "alert-certificate-expiring",
  AcmeRenewerFailing: "acme-renewal-failures",
  SlaveDown: "alert-slave-down",
  ResizerDown: "alert-resizer-down",
  OpsAgentDown: "alert-ops-agent-down",
} as const;

export type AlertName = keyof typeof ALERT_ANCHORS;

/** When each alert fires, in words (README's alert table), from the same thresholds. */
export function alertConditions(scrapeIntervalSeconds: number): Record<AlertName, string> {
  const t = THRESHOLDS;
  const down = `${t.downScrapes} scrapes (${t.downScrapes * scrapeIntervalSeconds} s at the scrape interval)`;
  return {
    HostHealthCheckFailing: `\`/healthz\` on a published port has not answered 200 for ${down}`,
    HostErrorRatioHigh: `over ${t.errorRatio * 100}% of a master's answers are 5xx for ${minutes(HOLD.errorRatio)} (above ${t.minRequestRate} req/s)`,
    ResizerLoadShedding: `the resizers refuse (503) over ${t.shedRatio * 100}% of their requests for ${minutes(HOLD.shedRatio)}`,
    ResizeLatencyHigh: `resize p99 over ${t.resizeP99Seconds} s for ${minutes(HOLD.resizeLatency)}`,
    CacheHitRatioCollapsed: `under ${t.cacheHitRatio * 100}% of cached routes' requests (resizes, storyboards) come from the cache for ${minutes(HOLD.cacheHitRatio)} (above ${t.minRequestRate} req/s)`,
    CertificateExpiringSoon: `under ${t.certificateDays} days left on a certificate a host serves, for ${minutes(HOLD.certificate)}`,
    AcmeRenewerFailing: `the renewer's last check failed, or is over ${t.acmeCheckAgeHours} h old, for ${minutes(HOLD.acme)}`,
    SlaveDown: `a slave's stub_status has not answered for ${down}`,
    ResizerDown: `a replica's metrics have not answered for ${down}`,
    OpsAgentDown: `the host's ops listener has not answered for ${down}`,
  };
}

export function alertRules(plan: ClusterPlan): AlertRule[] {
  const interval = plan.monitoring.scrapeIntervalSeconds;
  const down = `${THRESHOLDS.downScrapes * interval}s`;
  const runbook = (name: AlertName) => `${plan.monitoring.runbookUrl}#${ALERT_ANCHORS[name]}`;
  const traffic = (series: string) => `\nand on (host)\n${series} > ${THRESHOLDS.minRequestRate}`;
  const rule = (alert: AlertName, r: Omit<AlertRule, "alert" | "annotations"> & { summary: string; description: string }): AlertRule => ({
    alert,
    expr: r.expr,
    for: r.for,
    labels: r.labels,
    annotations: { summary: r.summary, description: r.description, runbook_url: runbook(alert) },
  });
  return [
    rule("HostHealthCheckFailing", {
      expr: `probe_success{job="${JOBS.health}"} == 0`,
      for: down,
      labels: { severity: "critical" },
      summary: "{{ $labels.host }} fails its health check on port {{ $labels.port }}",
      description: "GET /healthz on {{ $labels.instance }} has not answered 200 for " + down + ": the L4 takes the host out (drained, no slave serving, master down, or TLS broken).",
    }),
    rule("HostErrorRatioHigh", {
      expr: `${RECORDED.errorRatio} > ${THRESHOLDS.errorRatio}${traffic(RECORDED.requestRate)}`,
      for: HOLD.errorRatio,
      labels: { severity: "critical" },
      summary: "{{ $labels.host }} answers {{ $value | humanizePercentage }} of its requests with 5xx",
      description: `More than ${THRESHOLDS.errorRatio * 100}% of the master's responses on {{ $labels.host }} were 5xx over 5 minutes.`,
    }),
    rule("ResizerLoadShedding", {
      expr: `${RECORDED.shedRatio} > ${THRESHOLDS.shedRatio}`,
      for: HOLD.shedRatio,
      labels: { severity: "warning" },
      summary: "the resizers of {{ $labels.host }} refuse {{ $value | humanizePercentage }} of their requests (503)",
      description: "Every replica's concurrency slots and queue are full (or transforms outlive their timeout): clients get 503 + Retry-After for uncached sizes.",
    }),
    rule("ResizeLatencyHigh", {
      expr: `${RECORDED.resizeP99} > ${THRESHOLDS.resizeP99Seconds}`,
      for: HOLD.resizeLatency,
      labels: { severity: "warning" },
      summary: "resize p99 on {{ $labels.host }} is {{ $value | humanizeDuration }}",
      description: `The slowest 1% of resizes took more than ${THRESHOLDS.resizeP99Seconds} s for 10 minutes (large sources, too few CPUs, or a queue building up).`,
    }),
    rule("CacheHitRatioCollapsed", {
      expr: `${RECORDED.cacheHitRatio} < ${THRESHOLDS.cacheHitRatio}${traffic(RECORDED.cachedRate)}`,
      for: HOLD.cacheHitRatio,
      labels: { severity: "warning" },
      summary: "only {{ $value | humanizePercentage }} of cached requests on {{ $labels.host }} come from the cache",
      description: "The cache serves less than half of the requests of its routes (resizes, storyboards): the resizers carry the load (a lost cache volume, a cache-busting client, or a key change).",
    }),
    rule("CertificateExpiringSoon", {
      expr: `(probe_ssl_earliest_cert_expiry{job="${JOBS.tls}"} - time()) < ${THRESHOLDS.certificateDays} * 86400`,
      for: HOLD.certificate,
      labels: { severity: "warning" },
      summary: 'certificate "{{ $labels.certificate }}" on {{ $labels.host }} expires in {{ $value | humanizeDuration }}',
      description: `Less than ${THRESHOLDS.certificateDays} days left on the certificate this host serves: renewal (ACME) or replacement (supplied) did not happen.`,
    }),
    rule("AcmeRenewerFailing", {
      expr: `image_origin_acme_renewal_success == 0\nor\n(time() - image_origin_acme_renewal_last_check_timestamp_seconds) > ${THRESHOLDS.acmeCheckAgeHours} * 3600`,
      for: HOLD.acme,
      labels: { severity: "warning" },
      summary: 'the ACME renewer of "{{ $labels.certificate }}" on {{ $labels.host }} is failing',
      description: "Its last checks failed (it retries every hour), or it has not checked for over 13 hours. The masters keep serving the current certificate until it expires.",
    }),
    rule("SlaveDown", {
      expr: `nginx_up{job="${JOBS.ops}",role=~"slave[0-9]+"} == 0`,
      for: down,
      labels: { severity: "warning" },
      summary: "{{ $labels.role }} on {{ $labels.host }} is down",
      description: "The slave has not answered its stub_status for " + down + "; the master sends its requests to the other slaves.",
    }),
    rule("ResizerDown", {
      expr: `up{job="${JOBS.resizer}"} == 0`,
      for: down,
      labels: { severity: "warning" },
      summary: "{{ $labels.replica }} on {{ $labels.host }} is down",
      description: "The replica has not answered for " + down + "; the master resizes on the others.",
    }),
    rule("OpsAgentDown", {
      expr: `up{job="${JOBS.ops}"} == 0`,
      for: down,
      labels: { severity: "warning" },
      summary: "the ops agent of {{ $labels.host }} does not answer",
      description: "No metrics from this host's master, slaves and resizers: its other alerts cannot fire while this lasts.",
    }),
  ];
}

export function rulesDocument(plan: ClusterPlan): { groups: { name: string; rules: (AlertRule | RecordingRule)[] }[] } {
  return {
    groups: [
      { name: "image-origin-recorded", rules: recordingRules() },
      { name: "image-origin-alerts", rules: alertRules(plan) },
    ],
  };
}
