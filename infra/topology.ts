// ClusterSpec + deployment target -> one plan per host: every container name, port,
// upstream member and path is derived once, in topology/; renderers and resources only
// read the plan. This entry assembles the cluster (certificates, hosts, ACME, VIP) and is
// where consumers import the plan's vocabulary from. Pure: no Pulumi, no I/O.
//
//   topology/types.ts       the plan's shape (plan.json)
//   topology/names.ts       container and nginx names, the health check
//   topology/hostConfig.ts  one host's settings: cluster defaults with its overrides
//   topology/placement.ts   targets; every container-vs-local decision
//   topology/host.ts        one host's instances, upstreams, servers
//   topology/acme.ts        the issuer, renewers, sync agents, publisher
//   topology/vip.ts         the VIP: what the L4 must do, and with mode haproxy the software L4
import type { ClusterSpec } from "./config.js";
import { planAcme } from "./topology/acme.js";
import { planHost } from "./topology/host.js";
import { planVip } from "./topology/vip.js";
import { certificateFiles } from "./topology/names.js";
import { placement, type Target } from "./topology/placement.js";
import type { CertificatePlan, ClusterPlan } from "./topology/types.js";

export type * from "./topology/types.js";
export { LETS_ENCRYPT, TLS_SYNC_INTERVAL_SECONDS, certbotPluginImage } from "./topology/acme.js";
export { hostImagesDir, hostResizer, hostTuning } from "./topology/hostConfig.js";
export { HEALTH, NGINX_NAMES, RESIZE_KEY, VIP_NAMES, VIP_OPS, certificateFiles, instanceName } from "./topology/names.js";
export { VRRP_CHECK } from "./topology/vip.js";
export { CONTAINER, placement, vipPlacement, type ContainerTarget, type LocalTarget, type Placement, type Target } from "./topology/placement.js";

function planCertificates(spec: ClusterSpec): Map<string, CertificatePlan> {
  const plans = new Map<string, CertificatePlan>();
  for (const [id, cert] of Object.entries(spec.certificates)) {
    const names = spec.domains.filter((d) => d.certificate === id).flatMap((d) => d.serverNames);
    plans.set(id, { id, mode: cert.mode, names, ...certificateFiles(id) });
  }
  return plans;
}

/**
 * Where masters read certificate `id`: the paths every server using it names. The same on
 * every host of a container plan (hosts differ in paths only under the local target).
 */
export function certificatePaths(plan: ClusterPlan, id: string): { certificate: string; key: string } {
  for (const host of plan.hosts) {
    const tls = host.master.servers.find((s) => s.tls?.certificate === id)?.tls;
    if (tls) return { certificate: tls.certPath, key: tls.keyPath };
  }
  throw new Error(`no server uses certificate "${id}"`);
}

/** The whole plan for a validated spec. */
export function planCluster(spec: ClusterSpec, target: Target = { kind: "container" }): ClusterPlan {
  const certificates = planCertificates(spec);
  const acme = planAcme(spec, certificates);
  const hosts = spec.hosts.map((h) => planHost(spec, h, placement(target, spec, h), certificates, acme));
  const vip = planVip(spec, hosts, target);
  return {
    target: target.kind,
    rollout: spec.rollout,
    monitoring: spec.monitoring,
    images: spec.images,
    hosts,
    certificates: [...certificates.values()],
    ...(acme && { acme }),
    ...(vip && { vip }),
  };
}
