// Plan -> every generated file. Pure; the render command writes them, the Pulumi
// program uploads them into containers, the tests inspect them: one source for all three.
import type { ClusterPlan, HostPlan } from "./topology.js";

export interface RenderedFile {
  /** `plan.json`, `<host>/master.conf`, `<host>/slave01.conf`, ... */
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
}

/** Files per instance name of one host (nginx configs and their static pages). */
export function instanceFiles(_host: HostPlan): Record<string, InstanceFile[]> {
  return {};
}

export function renderCluster(plan: ClusterPlan): RenderedFile[] {
  const perHost = plan.hosts.flatMap((host) =>
    Object.values(instanceFiles(host))
      .flat()
      .map((f) => ({ path: `${host.name}/${f.name}`, content: f.content })),
  );
  return [{ path: "plan.json", content: `${JSON.stringify(plan, null, 2)}\n` }, ...perHost];
}
