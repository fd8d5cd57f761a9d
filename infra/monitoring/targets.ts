// What Prometheus scrapes, derived from the plan: each host's ops listener (the host's
// nginx metrics, and one path per resizer replica), and the blackbox exporter's probes of
// each host's health check on every published port and of each certificate it serves.
// With `vip.mode: haproxy`, each L4 host's HAProxy metrics on its stats port. A new part of
// the cluster with metrics of its own adds one entry to SCRAPE_SOURCES; prometheus.yml, the
// stack output and the tests all read the list. Pure.
import { hostPort, hostUrl } from "../address.js";
import { HEALTH, VIP_OPS, type ClusterPlan, type HostPlan, type VipHostPlan } from "../topology.js";

/** A Prometheus `scrape_configs` entry (the subset the generator writes). */
export interface ScrapeJob {
  job_name: string;
  metrics_path?: string;
  scheme?: "http";
  static_configs: { targets: string[]; labels: Record<string, string> }[];
  relabel_configs?: Record<string, unknown>[];
}

/** Job names: alert rules and dashboards select by them. */
export const JOBS = {
  ops: "image-origin-ops",
  resizer: "image-origin-resizer",
  health: "image-origin-healthz",
  tls: "image-origin-tls",
  l4: "image-origin-l4",
} as const;

/** A source of scrape jobs: the plan (and the blackbox exporter's address) in, jobs out. */
export type ScrapeSource = (plan: ClusterPlan) => ScrapeJob[];

/** Where Prometheus reaches a host's ops listener: the published port on the host's address. */
export function opsTarget(host: HostPlan): string {
  const at = host.ops.publish ?? host.ops.listen;
  return hostPort(at.address, at.port);
}

/** Where Prometheus reaches an L4 host's HAProxy stats port: published on the L4 host's address, else its listener. */
export function l4StatsTarget(l4: VipHostPlan): string {
  const at = l4.haproxy.publish?.find((p) => p.service === "stats") ?? l4.haproxy.stats;
  return hostPort(at.address, at.port);
}

/** The master's ports as the L4 reaches them: published on the host (containers), else its listeners. */
export function healthPorts(host: HostPlan): { scheme: "http" | "https"; address: string; port: number }[] {
  const m = host.master;
  const address = m.publish ? host.address : m.http.address;
  return [
    { scheme: "http", address, port: m.publish?.http ?? m.http.port },
    ...(m.https ? [{ scheme: "https" as const, address, port: m.publish?.https ?? m.https.port }] : []),
  ];
}

/** Blackbox exporter modules, by name (monitoring/blackbox.yml defines them). */
export const MODULES = {
  healthHttp: "healthz_http",
  healthHttps: "healthz_https",
  tls: (certificate: string) => `tls_${certificate}`,
} as const;

/** Sends a job's targets through the blackbox exporter: `target` becomes its parameter. */
function viaBlackbox(plan: ClusterPlan): Record<string, unknown>[] {
  return [
    { source_labels: ["__address__"], target_label: "__param_target" },
    { source_labels: ["__param_target"], target_label: "instance" },
    { target_label: "__address__", replacement: plan.monitoring.blackboxExporter },
  ];
}

const opsJobs: ScrapeSource = (plan) => [
  {
    job_name: JOBS.ops,
    static_configs: plan.hosts.map((h) => ({ targets: [opsTarget(h)], labels: { host: h.name } })),
  },
  {
    // One target per replica: the same listener, each replica's own path.
    job_name: JOBS.resizer,
    static_configs: plan.hosts.flatMap((h) =>
      h.ops.paths.resizers.map((r) => ({ targets: [opsTarget(h)], labels: { host: h.name, replica: r.role, __metrics_path__: r.path } })),
    ),
  },
];

const healthProbes: ScrapeSource = (plan) => [
  {
    job_name: JOBS.health,
    metrics_path: "/probe",
    static_configs: plan.hosts.flatMap((h) =>
      healthPorts(h).map((p) => ({
        targets: [hostUrl(p.scheme, p.address, p.port, HEALTH.path)],
        labels: { host: h.name, port: String(p.port), __param_module: p.scheme === "http" ? MODULES.healthHttp : MODULES.healthHttps },
      })),
    ),
    relabel_configs: viaBlackbox(plan),
  },
];

const tlsProbes: ScrapeSource = (plan) => {
  const targets = plan.hosts.flatMap((h) => {
    const https = healthPorts(h).find((p) => p.scheme === "https");
    if (https === undefined) return [];
    const ids = [...new Set(h.master.servers.flatMap((s) => (s.tls ? [s.tls.certificate] : [])))];
    return ids.map((id) => ({ targets: [hostPort(https.address, https.port)], labels: { host: h.name, certificate: id, __param_module: MODULES.tls(id) } }));
  });
  return targets.length === 0 ? [] : [{ job_name: JOBS.tls, metrics_path: "/probe", static_configs: targets, relabel_configs: viaBlackbox(plan) }];
};

/** The software L4's HAProxy (its own Prometheus exporter), answering `vip.haproxy.statsAllow`. */
const l4Jobs: ScrapeSource = (plan) => {
  const hosts = plan.vip?.haproxy?.hosts ?? [];
  return hosts.length === 0 ? [] : [{ job_name: JOBS.l4, metrics_path: VIP_OPS.metrics, static_configs: hosts.map((h) => ({ targets: [l4StatsTarget(h)], labels: { host: h.name } })) }];
};

/** Every source of scrape jobs, in the order prometheus.yml lists them. */
export const SCRAPE_SOURCES: readonly ScrapeSource[] = [opsJobs, healthProbes, tlsProbes, l4Jobs];

export function scrapeJobs(plan: ClusterPlan): ScrapeJob[] {
  return SCRAPE_SOURCES.flatMap((source) => source(plan));
}

/** The stack output `monitoring`: where each host's metrics are, for a Prometheus elsewhere. */
export function scrapeTargets(plan: ClusterPlan): Record<string, { target: string; paths: string[] }> {
  return Object.fromEntries(plan.hosts.map((h) => [h.name, { target: opsTarget(h), paths: [h.ops.paths.metrics, ...h.ops.paths.resizers.map((r) => r.path)] }]));
}
