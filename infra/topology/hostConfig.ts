// One host's settings: the cluster's, with the host's overrides merged key by key. The
// planner, the relation checks and the local launcher all resolve a host through here, so
// an override and its fallback are written once. Pure.
import type { ClusterSpec, Host, NginxTuning } from "../config.js";

/** Per-host nginx tuning: the cluster's, with the host's overrides merged key by key. */
export function hostTuning(spec: ClusterSpec, host: Host): NginxTuning {
  const o = host.nginx;
  return {
    ...spec.nginx,
    ...(o?.keepaliveTimeout !== undefined && { keepaliveTimeout: o.keepaliveTimeout }),
    ...(o?.keepaliveHeaderTimeout !== undefined && { keepaliveHeaderTimeout: o.keepaliveHeaderTimeout }),
    ...(o?.keepaliveRequests !== undefined && { keepaliveRequests: o.keepaliveRequests }),
    master: { ...spec.nginx.master, ...o?.master },
    slave: { ...spec.nginx.slave, ...o?.slave },
  };
}

/** The deployment of a host's resizers (replicas, ports, limits): the cluster's, with the host's overrides. */
export type HostResizer = Pick<ClusterSpec["resizer"], "replicas" | "basePort" | "memoryMb" | "cpus">;

/** Per-host resizer deployment: each field the host's override, else the cluster's. */
export function hostResizer(spec: Pick<ClusterSpec, "resizer">, host: Pick<Host, "resizer">): HostResizer {
  const o = host.resizer;
  return {
    replicas: o?.replicas ?? spec.resizer.replicas,
    basePort: o?.basePort ?? spec.resizer.basePort,
    memoryMb: o?.memoryMb ?? spec.resizer.memoryMb,
    cpus: o?.cpus ?? spec.resizer.cpus,
  };
}

/** The images tree on a host: its own `imagesDir`, else the cluster's. */
export function hostImagesDir(spec: Pick<ClusterSpec, "imagesDir">, host: Pick<Host, "imagesDir">): string {
  return host.imagesDir ?? spec.imagesDir;
}
