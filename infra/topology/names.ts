// Names the plan gives things: containers and processes (from host and role), the nginx
// names configs refer to, and the health check every master answers. Defined once so a
// reference cannot drift from what it names. Pure.

/**
 * What a host answers to the L4's health check: every master renders it, the rollout gate
 * and the VIP registration block ask it. 200 while the host can serve (see infra/nginx).
 */
export const HEALTH = { path: "/healthz", status: 200 } as const;

/** Names nginx configs refer to; defined once so a reference cannot drift from its block. */
export const NGINX_NAMES = {
  slavesUpstream: "image_slaves",
  resizersUpstream: "image_resizers",
  cacheZone: "resize_cache",
  /** Per-client zones of the resize routes' limit_conn and limit_req. */
  resizeConnections: "resize_connections",
  resizeRequests: "resize_requests",
  /** Shared TLS session cache of the master (shared-memory names must not collide). */
  tlsSessionCache: "tls_sessions",
  logFormat: "json",
} as const;

/**
 * The resize cache's key: the format variant (`$resize_variant`, which the master maps from
 * the query and Accept) and the request URI exactly as the resizer receives it, which each
 * resize location sets in `$resize_key` (infra/nginx/master.ts). The resizers upstream
 * hashes the same variable when `resizer.balance` is `variant`, so every request for one
 * cached object reaches the same replica.
 */
export const RESIZE_KEY = {
  variantVariable: "resize_variant",
  keyVariable: "resize_key",
  expression: "$resize_key",
} as const;

export const pad2 = (n: number) => String(n).padStart(2, "0");

/** An instance's role and index, without its host: `master`, `slave01`, `resizer02`. */
export const instanceRole = {
  master: "master",
  slave: (index: number) => `slave${pad2(index)}`,
  resizer: (index: number) => `resizer${pad2(index)}`,
} as const;

/** Container (and local process) names: the host, then the role. */
export const instanceName = {
  master: (host: string) => `${host}-${instanceRole.master}`,
  slave: (host: string, index: number) => `${host}-${instanceRole.slave(index)}`,
  resizer: (host: string, index: number) => `${host}-${instanceRole.resizer(index)}`,
  ops: (host: string) => `${host}-ops`,
  acmeInit: (host: string) => `${host}-acme-init`,
  tlsSync: (host: string) => `${host}-tls-sync`,
  tlsPublish: (host: string) => `${host}-tls-publish`,
  renewer: (host: string, certificate: string) => `${host}-certbot-${certificate}`,
  /** The one-shot that installs an nginx instance's files into its volume (and the volume). */
  installer: (instance: string) => `${instance}-files`,
  /** The one-shot that hands a host's cache (and acme) volumes to nginx's uid. */
  cacheOwner: (host: string) => `${host}-cache-owner`,
  /** An L4 host's HAProxy and the keepalived that holds the VIP for it (`vip.mode: haproxy`). */
  haproxy: (host: string) => `${host}-haproxy`,
  keepalived: (host: string) => `${host}-keepalived`,
} as const;

/** Names inside the HAProxy and keepalived configs, defined once. */
export const VIP_NAMES = {
  /** Frontend and backend of a VIP port (`vip_http` -> `hosts_http`). */
  frontend: (service: string) => `vip_${service}`,
  backend: (service: string) => `hosts_${service}`,
  /** The private ops listener: stats, metrics, liveness. */
  opsFrontend: "ops",
  /** keepalived's check of its HAProxy. */
  vrrpScript: "haproxy_alive",
  vrrpInstance: "vip",
} as const;

/** What an L4 host's ops listener answers (HAProxy's own stats, Prometheus exporter, liveness). */
export const VIP_OPS = { stats: "/stats", metrics: "/metrics", health: "/healthz" } as const;

/** Names -> the TLS files of the certificate that covers them. */
export function certificateFiles(id: string): { certFile: string; keyFile: string } {
  return { certFile: `${id}.crt`, keyFile: `${id}.key` };
}
