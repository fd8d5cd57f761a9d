// A host's observability: its ops agent (the resizer image running resizer/src/ops, one
// container per host), what each nginx instance gives it (a private stub_status listener,
// its access log as syslog), and the agent's whole configuration. Addresses and ports are
// asked of the host's `Placement`, like every other instance's. Pure.
import { OPS_PATHS, opsConfigSchema, type OpsConfigInput } from "../../resizer/src/ops/config.js";
import { ROUTES } from "../../resizer/src/routes.js";
import { hostPort } from "../address.js";
import type { ClusterSpec, Host } from "../config.js";
import { instanceName, instanceRole } from "./names.js";
import { ADDRESS_OFFSET, type Placement } from "./placement.js";
import type { HostAcmePlan, MasterPlan, NginxOps, OpsPlan, ResizerPlan, SlavePlan } from "./types.js";

/** The path nginx serves stub_status on (its private status listener). */
export const STUB_STATUS_PATH = "/stub_status";

/** The resizer route that serves its metrics (routes.ts). */
const RESIZER_METRICS_PATH = (() => {
  const route = ROUTES.find((r) => r.handler === "metrics");
  if (route === undefined || route.pattern.kind !== "exact") throw new Error("routes.ts has no exact metrics route");
  return route.pattern.path;
})();

/**
 * Every port the ops side takes on a host, as the stack numbers them: the agent's listener
 * (TCP, and UDP for the access logs), then one stub_status listener per nginx instance
 * (master, then each slave). The relation checks keep them apart from every other port.
 */
export function opsPorts(spec: Pick<ClusterSpec, "ops" | "slaves">): { what: string; port: number }[] {
  const p = spec.ops.port;
  return [
    { what: "the ops listener", port: p },
    { what: "the master's stub_status listener (ops.port + 1)", port: p + 1 },
    ...spec.slaves.map((_, i) => ({ what: `slave${String(i + 1).padStart(2, "0")}'s stub_status listener (ops.port + ${i + 2})`, port: p + 2 + i })),
  ];
}

/** What nginx instance `role` (at `offset` on the host's network) gives the ops agent. */
export function nginxOps(spec: ClusterSpec, place: Placement, role: string, statusStackPort: number): NginxOps {
  return {
    status: { address: place.bind, port: place.port(statusStackPort) },
    agent: place.peer(ADDRESS_OFFSET.ops),
    syslog: { address: place.peer(ADDRESS_OFFSET.ops), port: place.port(spec.ops.port) },
    tag: role,
  };
}

/** Stack ports of the master's and slave `index`'s stub_status listeners. */
export const statusPort = {
  master: (spec: Pick<ClusterSpec, "ops">) => spec.ops.port + 1,
  slave: (spec: Pick<ClusterSpec, "ops">, index: number) => spec.ops.port + 1 + index,
};

/** A name the master answers for a certificate, usable as SNI (a wildcard gets a label). */
function probeName(names: readonly string[]): string | undefined {
  const exact = names.find((n) => !n.startsWith("*."));
  return exact ?? names[0]?.replace(/^\*\./, "ops-probe.");
}

export interface OpsParts {
  master: MasterPlan;
  slaves: SlavePlan[];
  resizers: ResizerPlan[];
  acme?: HostAcmePlan;
}

export function planOps(spec: ClusterSpec, host: Host, place: Placement, parts: OpsParts): OpsPlan {
  const { master, slaves, resizers } = parts;
  const url = (offset: number, port: number, path: string) => `http://${hostPort(place.peer(offset), port)}${path}`;
  const nginx = [
    { role: instanceRole.master, status: url(ADDRESS_OFFSET.master, master.ops.status.port, STUB_STATUS_PATH) },
    ...slaves.map((s) => ({ role: instanceRole.slave(s.index), status: url(ADDRESS_OFFSET.slave + s.index, s.ops.status.port, STUB_STATUS_PATH) })),
  ];
  const members = [
    ...master.slaves.members.map((m, i) => ({ address: hostPort(m.host, m.port), upstream: master.slaves.name, member: instanceRole.slave(slaves[i]!.index) })),
    ...master.resizers.members.map((m, i) => ({ address: hostPort(m.host, m.port), upstream: master.resizers.name, member: instanceRole.resizer(resizers[i]!.index) })),
  ];
  const certs = new Map<string, string[]>();
  for (const s of master.servers) if (s.tls) certs.set(s.tls.certificate, [...(certs.get(s.tls.certificate) ?? []), ...s.serverNames]);
  const tls = master.https
    ? [...certs].flatMap(([certificate, names]) => {
        const serverName = probeName(names);
        return serverName === undefined ? [] : [{ certificate, serverName, host: place.peer(ADDRESS_OFFSET.master), port: master.https!.port }];
      })
    : [];
  const acme = parts.acme?.role === "issuer" && parts.acme.renewers.length > 0 ? { statusDir: parts.acme.statusDir, certificates: parts.acme.renewers.map((r) => r.id) } : undefined;

  const listen = { address: place.bind, port: place.port(spec.ops.port) };
  const config: OpsConfigInput = {
    listen: { host: listen.address, port: listen.port },
    allow: spec.ops.allow,
    syslog: { host: listen.address, port: listen.port, sources: [...new Set([master, ...slaves].map((n) => place.peer(offsetOf(n))))] },
    nginx,
    upstreams: members,
    resizers: resizers.map((r) => ({ role: instanceRole.resizer(r.index), metrics: url(ADDRESS_OFFSET.resizer + r.index, r.listen.port, RESIZER_METRICS_PATH) })),
    tls,
    ...(acme && { acme }),
  };
  const ip = place.ip(ADDRESS_OFFSET.ops);
  const publish = place.publish(spec.ops.port);
  const workDir = place.workDir("ops");
  return {
    role: "ops",
    name: instanceName.ops(host.name),
    ...(ip && { ip }),
    listen,
    ...(publish && { publish }),
    allow: spec.ops.allow,
    memoryMb: spec.ops.memoryMb,
    config: opsConfigSchema.parse(config),
    paths: {
      metrics: OPS_PATHS.metrics,
      resizers: resizers.map((r) => ({ role: instanceRole.resizer(r.index), name: r.name, path: OPS_PATHS.resizerMetrics(instanceRole.resizer(r.index)) })),
    },
    ...(acme && { acmeDir: parts.acme!.dir }),
    ...(workDir !== undefined && { workDir }),
  };
}

function offsetOf(n: MasterPlan | SlavePlan): number {
  return n.role === "master" ? ADDRESS_OFFSET.master : ADDRESS_OFFSET.slave + n.index;
}
