// Small stack configs for rendering tests, validated by the real schema.
import { parseClusterSpec, type ClusterSpec, type ClusterSpecInput } from "../../infra/config.js";
import { planCluster, type ClusterPlan, type Target } from "../../infra/topology.js";
import { parseConf, type Stmt } from "./nginx-conf.js";
import { renderMaster } from "../../infra/nginx/master.js";
import { renderSlave } from "../../infra/nginx/slave.js";

export const BASE: ClusterSpecInput = {
  hosts: [{ name: "h1", address: "10.0.0.1", docker: "unix:///var/run/docker.sock" }],
  domains: [{ id: "main", serverNames: ["img.example.com"] }],
};

/** BASE with top-level keys replaced, validated. */
export function spec(overrides: Partial<ClusterSpecInput> = {}): ClusterSpec {
  return parseClusterSpec({ ...BASE, ...overrides });
}

export function plan(overrides: Partial<ClusterSpecInput> = {}, target?: Target): ClusterPlan {
  return planCluster(spec(overrides), target);
}

/** The parsed master config of the first host. */
export function masterOf(p: ClusterPlan, host = 0): Stmt[] {
  return parseConf(renderMaster(p.hosts[host]!.master));
}

/** The parsed config of a slave of the first host. */
export function slaveOf(p: ClusterPlan, slave = 0, host = 0): Stmt[] {
  return parseConf(renderSlave(p.hosts[host]!.slaves[slave]!));
}
