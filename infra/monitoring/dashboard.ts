// The Grafana dashboard (monitoring/dashboard.json), generated: one row per concern, each
// panel a few PromQL queries over the jobs of targets.ts and the recorded series of
// rules.ts. `$datasource` and `$host` are its variables; the e2e test runs every query
// against a real Prometheus. Pure.
import { ROUTES } from "../../resizer/src/routes.js";
import { MASTER_ROUTES } from "../nginx/master.js";
import { RECORDED, RESIZE_ROUTES } from "./rules.js";
import { JOBS } from "./targets.js";

export interface PanelQuery {
  expr: string;
  legend: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: PanelQuery[];
  /** `timeseries` unless a current value says it all. */
  type?: "timeseries" | "stat";
}

/** Every `route` label the master logs: its own locations and the resizer's public routes. */
const ROUTE_NAMES = [MASTER_ROUTES.thumbnail, MASTER_ROUTES.static, ...ROUTES.filter((r) => r.public).map((r) => r.label), MASTER_ROUTES.acme, MASTER_ROUTES.other];

const H = 'host=~"$host"';
const M = `role="master",${H}`;
const RATE = "$__rate_interval";
const rate = (metric: string, sel: string) => `rate(${metric}{${sel}}[${RATE}])`;

/** Rows of panels, in dashboard order. */
export const DASHBOARD_ROWS: { title: string; panels: PanelSpec[] }[] = [
  {
    title: "Clients (the master)",
    panels: [
      { title: "Requests per second", description: "Responses of each host's master.", unit: "reqps", queries: [{ expr: `sum by (host) (${rate("nginx_http_responses_total", M)})`, legend: "{{host}}" }] },
      { title: "Responses by status class", description: "All hosts.", unit: "reqps", queries: [{ expr: `sum by (status_class) (${rate("nginx_http_responses_total", M)})`, legend: "{{status_class}}" }] },
      { title: "5xx ratio", description: "Share of 5xx answers per host (alert: HostErrorRatioHigh).", unit: "percentunit", queries: [{ expr: `${RECORDED.errorRatio}{${H}}`, legend: "{{host}}" }] },
      { title: "Requests by route", description: `The location that answered: ${ROUTE_NAMES.join(", ")}.`, unit: "reqps", queries: [{ expr: `sum by (route) (${rate("nginx_http_responses_total", M)})`, legend: "{{route}}" }] },
      {
        title: "Request time p99 by route",
        description: "nginx's $request_time, client's first byte to the last byte sent.",
        unit: "s",
        queries: [{ expr: `histogram_quantile(0.99, sum by (route, le) (${rate("nginx_http_request_duration_seconds_bucket", M)}))`, legend: "{{route}}" }],
      },
      { title: "Health checks", description: "GET /healthz per published port, as the L4 asks it (blackbox exporter).", unit: "bool", queries: [{ expr: `probe_success{job="${JOBS.health}",${H}}`, legend: "{{host}} :{{port}}" }] },
    ],
  },
  {
    title: "Resize cache",
    panels: [
      { title: "Cache status", description: "Responses of the cached routes by cache status.", unit: "reqps", queries: [{ expr: `sum by (cache_status) (${rate("nginx_http_responses_total", `${M},cache_status!="none"`)})`, legend: "{{cache_status}}" }] },
      { title: "Cache hit ratio", description: "HIT, STALE, UPDATING, REVALIDATED over all lookups of the cached routes (resizes, storyboards), 15 min (alert: CacheHitRatioCollapsed).", unit: "percentunit", queries: [{ expr: `${RECORDED.cacheHitRatio}{${H}}`, legend: "{{host}}" }] },
    ],
  },
  {
    title: "Upstreams",
    panels: [
      {
        title: "Upstream response time p99",
        description: "Each try at a slave or resizer, until its last byte.",
        unit: "s",
        queries: [{ expr: `histogram_quantile(0.99, sum by (upstream, le) (${rate("nginx_upstream_response_duration_seconds_bucket", M)}))`, legend: "{{upstream}}" }],
      },
      { title: "Upstream tries by member", description: "A retried request counts once per member tried; 5xx is a failed try.", unit: "reqps", queries: [{ expr: `sum by (member, status_class) (${rate("nginx_upstream_tries_total", M)})`, legend: "{{member}} {{status_class}}" }] },
      { title: "nginx instances up", description: "1 while the instance answers its stub_status (alert: SlaveDown).", unit: "bool", queries: [{ expr: `nginx_up{job="${JOBS.ops}",${H}}`, legend: "{{host}} {{role}}" }] },
      {
        title: "Connections",
        description: "The master's client connections (stub_status).",
        unit: "short",
        queries: (["active", "reading", "writing", "waiting"] as const).map((s) => ({ expr: `sum by (host) (nginx_connections_${s}{${M}})`, legend: `{{host}} ${s}` })),
      },
    ],
  },
  {
    title: "Resizers",
    panels: [
      {
        title: "In flight and queued",
        description: "Requests being handled and waiting for a transform slot, per host.",
        unit: "short",
        queries: [
          { expr: `sum by (host) (resizer_http_in_flight_requests{job="${JOBS.resizer}",${H}})`, legend: "{{host}} in flight" },
          { expr: `sum by (host) (resizer_queue_depth{job="${JOBS.resizer}",${H}})`, legend: "{{host}} queued" },
        ],
      },
      { title: "Refused (503) per second", description: "Load shedding: slots and queue full, or past the timeout (alert: ResizerLoadShedding).", unit: "reqps", queries: [{ expr: `sum by (host) (${rate("resizer_http_requests_total", `job="${JOBS.resizer}",status="503",${H}`)})`, legend: "{{host}}" }] },
      { title: "Resize p99", description: `Resizer time for ${RESIZE_ROUTES.replace("|", " and ")} requests (alert: ResizeLatencyHigh).`, unit: "s", queries: [{ expr: `${RECORDED.resizeP99}{${H}}`, legend: "{{host}}" }] },
      { title: "Replicas up", description: "Each replica's metrics answered through the ops listener (alert: ResizerDown).", unit: "bool", queries: [{ expr: `up{job="${JOBS.resizer}",${H}}`, legend: "{{host}} {{replica}}" }] },
    ],
  },
  {
    title: "Certificates",
    panels: [
      {
        title: "Days left",
        description: "What each host serves on its HTTPS port (alert: CertificateExpiringSoon at 14).",
        unit: "d",
        type: "stat",
        queries: [{ expr: `(probe_ssl_earliest_cert_expiry{job="${JOBS.tls}",${H}} - time()) / 86400`, legend: "{{host}} {{certificate}}" }],
      },
    ],
  },
];

/** Grafana's JSON model of the dashboard (import it, pick the Prometheus data source). */
export function dashboardDocument(): Record<string, unknown> {
  const datasource = { type: "prometheus", uid: "${datasource}" };
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of DASHBOARD_ROWS) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((p, i) => {
      panels.push({
        id: id++,
        type: p.type ?? "timeseries",
        title: p.title,
        description: p.description,
        datasource,
        gridPos: { h: 8, w: 8, x: (i % 3) * 8, y: y + Math.floor(i / 3) * 8 },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: p.type === "stat" ? { reduceOptions: { calcs: ["lastNotNull"] } } : { legend: { displayMode: "list", placement: "bottom" } },
        targets: p.queries.map((q, j) => ({ datasource, expr: q.expr, legendFormat: q.legend, refId: String.fromCharCode(65 + j) })),
      });
    });
    y += Math.ceil(row.panels.length / 3) * 8;
  }
  return {
    title: "image-origin",
    uid: "image-origin",
    description: "Generated by infra/monitoring/dashboard.ts (npm run render); edit the code, not this file.",
    tags: ["image-origin"],
    editable: false,
    schemaVersion: 39,
    refresh: "30s",
    time: { from: "now-3h", to: "now" },
    templating: {
      list: [
        { name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus" },
        {
          name: "host",
          label: "host",
          type: "query",
          datasource,
          query: { query: `label_values(up{job="${JOBS.ops}"}, host)`, refId: "hosts" },
          definition: `label_values(up{job="${JOBS.ops}"}, host)`,
          refresh: 2,
          multi: true,
          includeAll: true,
          current: { text: "All", value: "$__all" },
        },
      ],
    },
    panels,
  };
}
