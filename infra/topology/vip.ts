// The VIP plan: what the L4 in front of the hosts must do (members, ports, health check),
// read by the `vip` stack output for a hardware L4, and with `vip.mode: haproxy` the
// software L4 that does it: HAProxy's services and timeouts, and per L4 host its listeners,
// files and the keepalived that holds the VIP. Where things listen is asked of the L4
// host's `VipPlacement`. Pure.
import type { ClusterSpec } from "../config.js";
import { timeMs } from "../units.js";
import { HEALTH, VIP_OPS, instanceName } from "./names.js";
import { networkAddress, ADDRESS_OFFSET, vipPlacement, type Target } from "./placement.js";
import type { HaproxyPlan, HaproxyTimeouts, HostPlan, VipHostPlan, VipPlan, VipServicePlan } from "./types.js";

/**
 * HAProxy's own timings, each with its reason. The server timeout is derived from the
 * masters' (below); the rest are the L4's own.
 */
const HAPROXY = {
  /** On a LAN a connect takes microseconds: a host that does not answer within 1s is down, try another. */
  connectMs: 1_000,
  /** An idle client (TLS tunnel or HTTP) is let go after this, as the masters would. */
  clientMs: 30_000,
  /** A client must send its request headers within this (slow-header clients). */
  httpRequestMs: 10_000,
  /** After a reload or a stop, old processes finish their connections for at most this long (the containers' stop grace). */
  hardStopMs: 30_000,
  /** Further attempts after a failed connect (or, for GET/HEAD over HTTP, an empty answer), each on another host. */
  retries: 2,
} as const;

/** How keepalived asks its HAProxy: keepalived's script timer counts whole seconds. */
export const VRRP_CHECK = { intervalSeconds: 1, timeoutSeconds: 1, fall: 2, rise: 2 } as const;

/** Where HAProxy reaches a host's master for a VIP port: its published port, or locally its listener. */
function masterEndpoint(host: HostPlan, service: VipServicePlan["name"]): { address: string; port: number } {
  const m = host.master;
  if (m.publish !== undefined) return { address: host.address, port: service === "http" ? m.publish.http : m.publish.https! };
  const listen = service === "http" ? m.http : m.https!;
  return { address: listen.address, port: listen.port };
}

/**
 * The server timeout: longer than a master can take to answer. A master tries up to
 * `nextUpstreamTries` resizers, each within connect + read timeout; HAProxy must not give
 * up (and answer 504) while the master is still working, so it waits that long and 5s more.
 */
function serverTimeoutMs(spec: ClusterSpec): number {
  const p = spec.nginx.proxy;
  const longestRead = Math.max(timeMs(p.resizerReadTimeout), timeMs(p.slaveReadTimeout));
  return Math.max(HAPROXY.clientMs, p.nextUpstreamTries * (timeMs(p.connectTimeout) + longestRead) + 5_000);
}

function timeouts(spec: ClusterSpec, vip: NonNullable<ClusterSpec["vip"]>): HaproxyTimeouts {
  return {
    connectMs: HAPROXY.connectMs,
    clientMs: HAPROXY.clientMs,
    serverMs: serverTimeoutMs(spec),
    httpRequestMs: HAPROXY.httpRequestMs,
    // Clients keep a connection to the VIP as long as they would to a master.
    httpKeepAliveMs: timeMs(spec.nginx.keepaliveTimeout),
    checkMs: vip.healthCheck.timeoutSeconds * 1000,
    hardStopMs: HAPROXY.hardStopMs,
  };
}

function planHaproxy(spec: ClusterSpec, vip: NonNullable<ClusterSpec["vip"]>, hosts: HostPlan[], target: Target): HaproxyPlan | undefined {
  const config = vip.haproxy;
  if (vip.mode !== "haproxy" || config === undefined) return undefined;
  const https = hosts.some((h) => h.master.https !== undefined);
  const service = (name: VipServicePlan["name"], port: number): VipServicePlan => ({
    name,
    port,
    mode: name === "http" ? "http" : "tcp",
    checkTls: name === "https",
    members: hosts.map((h) => ({ host: h.name, ...masterEndpoint(h, name) })),
  });
  const services = [service("http", spec.master.httpPort), ...(https ? [service("https", spec.master.httpsPort)] : [])];
  const l4 = config.hosts.map((host, i): VipHostPlan => {
    const place = vipPlacement(target, spec, host, config.statsPort);
    const publish = place.publish(services, config.statsPort);
    const peers = config.vrrp.unicast ? config.hosts.filter((other) => other !== host).map((other) => other.address) : [];
    return {
      name: host.name,
      address: host.address,
      docker: host.docker,
      ...(host.sshOpts !== undefined && { sshOpts: host.sshOpts }),
      interface: host.interface,
      // The first host wins the first election; `nopreempt` keeps the VIP where it is after that.
      priority: 200 - 10 * i,
      peers,
      ...(place.containerNetwork && {
        network: { name: `${host.name}-net`, subnet: spec.network.subnet, gateway: networkAddress(spec.network.subnet, ADDRESS_OFFSET.gateway) },
      }),
      haproxy: {
        name: instanceName.haproxy(host.name),
        file: "haproxy.cfg",
        listen: services.map((s) => ({ service: s.name, listen: place.frontend(s) })),
        stats: place.stats,
        ...(publish && { publish }),
        ...(place.namespace !== undefined && { namespace: place.namespace }),
        memoryMb: config.memoryMb,
        // HAProxy carries what the masters behind it carry, a client and a master connection each.
        nofile: spec.nginx.master.workerRlimitNofile,
        paths: place.haproxyPaths,
      },
      keepalived: {
        name: instanceName.keepalived(host.name),
        file: "keepalived.conf",
        ...(place.namespace !== undefined && { namespace: place.namespace }),
        paths: place.keepalivedPaths,
        check: { ...place.check, path: VIP_OPS.health },
      },
    };
  });
  return { services, timeouts: timeouts(spec, vip), retries: HAPROXY.retries, statsAllow: config.statsAllow, vrrp: config.vrrp, hosts: l4 };
}

export function planVip(spec: ClusterSpec, hosts: HostPlan[], target: Target): VipPlan | undefined {
  const vip = spec.vip;
  if (vip === undefined) return undefined;
  const { haproxy: _settings, mode, ...hardware } = vip;
  const ports = (h: HostPlan) => [spec.master.httpPort, ...(h.master.https ? [spec.master.httpsPort] : [])];
  const haproxy = planHaproxy(spec, vip, hosts, target);
  return {
    mode,
    address: hardware.address,
    algorithm: hardware.algorithm,
    healthCheck: { path: HEALTH.path, expectStatus: HEALTH.status, ...hardware.healthCheck, ports: hosts[0] ? ports(hosts[0]) : [] },
    members: hosts.map((h) => ({ host: h.name, address: h.address, ports: ports(h) })),
    ...(haproxy && { haproxy }),
  };
}
