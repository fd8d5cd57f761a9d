// Every metric the ops agent exposes, in one catalogue: the agent creates them from it, the
// README's metric table and the end-to-end test read it. Names follow Prometheus'
// conventions: base units in the name (`_seconds`, `_bytes`), counters end in `_total`.
// The stub_status names are those of nginx's own exporter (nginx-prometheus-exporter), so
// existing dashboards read them. Label values are bounded: roles and upstreams come from
// the plan, routes from the rendered config, statuses are folded into classes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricSpec {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  /** Where the values come from (README). */
  source: "stub_status" | "access log" | "TLS handshake" | "ACME renewer" | "agent";
  /** Only where this exists (the e2e cluster has no ACME renewer). */
  only?: string;
}

/** Seconds: from a cache hit (~1 ms) to the resizer's default budget (10 s) and beyond. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const OPS_METRICS = {
  nginxUp: { name: "nginx_up", type: "gauge", labels: ["role"], source: "stub_status", help: "1 when the nginx instance answered its stub_status at this scrape, 0 when it did not." },
  connectionsActive: { name: "nginx_connections_active", type: "gauge", labels: ["role"], source: "stub_status", help: "Open client connections, including waiting ones." },
  connectionsReading: { name: "nginx_connections_reading", type: "gauge", labels: ["role"], source: "stub_status", help: "Connections where nginx is reading the request header." },
  connectionsWriting: { name: "nginx_connections_writing", type: "gauge", labels: ["role"], source: "stub_status", help: "Connections where nginx is writing the response (including waiting for an upstream)." },
  connectionsWaiting: { name: "nginx_connections_waiting", type: "gauge", labels: ["role"], source: "stub_status", help: "Idle keep-alive connections." },
  connectionsAccepted: { name: "nginx_connections_accepted_total", type: "counter", labels: ["role"], source: "stub_status", help: "Client connections accepted." },
  connectionsHandled: { name: "nginx_connections_handled_total", type: "counter", labels: ["role"], source: "stub_status", help: "Client connections handled (below accepted when a limit was reached)." },
  requests: { name: "nginx_http_requests_total", type: "counter", labels: ["role"], source: "stub_status", help: "Client requests, logged or not (/healthz is not logged)." },
  responses: {
    name: "nginx_http_responses_total",
    type: "counter",
    labels: ["role", "route", "status_class", "cache_status"],
    source: "access log",
    help: "Responses by route (the location that answered), status class (2xx..5xx) and cache status (HIT, MISS, EXPIRED, STALE, UPDATING, REVALIDATED, BYPASS; none where no cache is involved).",
  },
  responseBytes: { name: "nginx_http_response_body_bytes_total", type: "counter", labels: ["role", "route"], source: "access log", help: "Response body bytes sent, by route." },
  requestDuration: {
    name: "nginx_http_request_duration_seconds",
    type: "histogram",
    labels: ["role", "route"],
    source: "access log",
    help: "Time from the first byte read from the client to the last byte sent (nginx's $request_time), by route.",
  },
  upstreamDuration: {
    name: "nginx_upstream_response_duration_seconds",
    type: "histogram",
    labels: ["role", "upstream"],
    source: "access log",
    help: "Time of each try at an upstream member, until the last byte of its response (nginx's $upstream_response_time), by upstream.",
  },
  upstreamTries: {
    name: "nginx_upstream_tries_total",
    type: "counter",
    labels: ["role", "upstream", "member", "status_class"],
    source: "access log",
    help: "Tries at upstream members (a retried request counts once per member tried), by the status class each answered (5xx for no answer).",
  },
  logMessages: {
    name: "image_origin_ops_log_messages_total",
    type: "counter",
    labels: ["result"],
    source: "agent",
    help: "Access log messages received over syslog: counted, malformed, or refused (unknown sender or instance).",
  },
  tlsExpiry: {
    name: "image_origin_tls_certificate_expiry_timestamp_seconds",
    type: "gauge",
    labels: ["certificate", "server_name"],
    source: "TLS handshake",
    help: "notAfter of the certificate the master serves for this name, as Unix time.",
  },
  tlsUp: { name: "image_origin_tls_probe_success", type: "gauge", labels: ["certificate", "server_name"], source: "TLS handshake", help: "1 when the master completed a TLS handshake for this name at this scrape." },
  acmeSuccess: {
    name: "image_origin_acme_renewal_success",
    type: "gauge",
    labels: ["certificate"],
    source: "ACME renewer",
    only: "the ACME issuer host, once its renewer has a result",
    help: "1 when the renewer's last check succeeded (issued, renewed or not yet due), 0 when it failed.",
  },
  acmeLastCheck: {
    name: "image_origin_acme_renewal_last_check_timestamp_seconds",
    type: "gauge",
    labels: ["certificate"],
    source: "ACME renewer",
    only: "the ACME issuer host, once its renewer has a result",
    help: "When the renewer's last check ended, as Unix time (it checks every 12 h, 1 h after a failure).",
  },
} as const satisfies Record<string, MetricSpec>;

type Specs = typeof OPS_METRICS;
type LabelsOf<K extends keyof Specs> = Specs[K]["labels"][number];
type MetricOf<K extends keyof Specs> = Specs[K]["type"] extends "counter"
  ? Counter<LabelsOf<K>>
  : Specs[K]["type"] extends "gauge"
    ? Gauge<LabelsOf<K>>
    : Histogram<LabelsOf<K>>;

export type OpsMetrics = { registry: Registry } & { [K in keyof Specs]: MetricOf<K> };

/** A registry with every metric of the catalogue (and the agent's own process metrics). */
export function createOpsMetrics(): OpsMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "image_origin_ops_" });
  const registers = [registry];
  const made: Record<string, unknown> = { registry };
  for (const [key, spec] of Object.entries(OPS_METRICS) as [keyof Specs, MetricSpec][]) {
    const common = { name: spec.name, help: spec.help, labelNames: spec.labels, registers };
    made[key] =
      spec.type === "counter" ? new Counter(common) : spec.type === "gauge" ? new Gauge(common) : new Histogram({ ...common, buckets: DURATION_BUCKETS });
  }
  return made as OpsMetrics;
}
