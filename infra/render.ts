// Plan -> every generated file. Pure; the render command writes them, the Pulumi
// program uploads them into containers, the tests inspect them: one source for all three.
import { initScript, renewerPaths, renewerScript, syncScript } from "./acme.js";
import { ERROR_PAGE_50X, renderMaster } from "./nginx/master.js";
import { ERROR_PAGE_50X_HTML } from "./nginx/pages.js";
import { renderPublisher } from "./nginx/publisher.js";
import { renderSlave } from "./nginx/slave.js";
import { monitoringFiles } from "./monitoring/index.js";
import type { ClusterPlan, HostPlan, VipHostPlan, VipPlan } from "./topology.js";
import { renderHaproxy } from "./vip/haproxy.js";
import { CHECK_SCRIPT, checkScriptPath, renderCheckScript, renderKeepalived } from "./vip/keepalived.js";

export interface RenderedFile {
  /** `plan.json`, `<host>/master.conf`, `<host>/slave01.conf`, `<host>/html/50x.html`, ... */
  path: string;
  content: string;
}

/** A file one instance needs, at its path inside that instance (container or work dir). */
export interface InstanceFile {
  /** Name in the render output, relative to the host's directory. */
  name: string;
  /** Absolute path where the instance reads it. */
  path: string;
  content: string;
  /** Octal mode when not 0644 (keepalived's check script: 0755). */
  mode?: string;
}

/** Files per instance name of one host (nginx configs and their static pages). */
export function instanceFiles(host: HostPlan): Record<string, InstanceFile[]> {
  const m = host.master;
  return {
    [m.name]: [
      { name: m.file, path: m.paths.config, content: renderMaster(m) },
      { name: `html${ERROR_PAGE_50X}`, path: `${m.paths.htmlDir}${ERROR_PAGE_50X}`, content: ERROR_PAGE_50X_HTML },
    ],
    ...Object.fromEntries(host.slaves.map((s) => [s.name, [{ name: s.file, path: s.paths.config, content: renderSlave(s) }]])),
  };
}

/** Files per instance name of one L4 host (`vip.mode: haproxy`): HAProxy's and keepalived's. */
export function vipFiles(vip: VipPlan, host: VipHostPlan): Record<string, InstanceFile[]> {
  return {
    [host.haproxy.name]: [{ name: host.haproxy.file, path: host.haproxy.paths.config, content: renderHaproxy(vip, host) }],
    [host.keepalived.name]: [
      { name: host.keepalived.file, path: host.keepalived.paths.config, content: renderKeepalived(vip, host) },
      { name: CHECK_SCRIPT, path: checkScriptPath(host), content: renderCheckScript(host), mode: "0755" },
    ],
  };
}

/**
 * What a host's ACME containers run (acme certificates only): not uploaded anywhere (they
 * arrive as container arguments), rendered for review next to the nginx configs.
 */
export function acmeFiles(plan: ClusterPlan, host: HostPlan): { name: string; content: string }[] {
  const acme = host.acme;
  if (acme === undefined || plan.acme === undefined) return [];
  const certs = plan.acme.certificates;
  return [
    { name: "acme/init.sh", content: initScript(acme, certs) },
    { name: "acme/tls-sync.sh", content: syncScript(acme, certs) },
    ...acme.renewers.map((r) => {
      const cert = certs.find((c) => c.id === r.id)!;
      return { name: `acme/renewer-${r.id}.sh`, content: renewerScript(cert, r.name, renewerPaths(acme, r.id)) };
    }),
    ...(acme.publisher ? [{ name: "acme/tls-publish.conf", content: renderPublisher(acme, certs.map((c) => c.id)) }] : []),
  ];
}

export function renderCluster(plan: ClusterPlan): RenderedFile[] {
  const perHost = plan.hosts.flatMap((host) =>
    [...Object.values(instanceFiles(host)).flat(), ...acmeFiles(plan, host)].map((f) => ({ path: `${host.name}/${f.name}`, content: f.content })),
  );
  const vip = plan.vip;
  const perL4Host = (vip?.haproxy?.hosts ?? []).flatMap((host) =>
    Object.values(vipFiles(vip!, host))
      .flat()
      .map((f) => ({ path: `${host.name}/${f.name}`, content: f.content })),
  );
  const monitoring = monitoringFiles(plan).map((f) => ({ path: `monitoring/${f.name}`, content: f.content }));
  return [{ path: "plan.json", content: `${JSON.stringify(plan, null, 2)}\n` }, ...perHost, ...perL4Host, ...monitoring];
}
