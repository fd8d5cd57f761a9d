// Plan -> every generated file, keyed by its path relative to the output directory.
// Pure; the render command and the tests write or inspect the result.
import type { ClusterPlan } from "./topology.js";

export interface RenderedFile {
  /** `plan.json`, `<host>/master.conf`, `<host>/slave01.conf`, ... */
  path: string;
  content: string;
}

export function renderCluster(plan: ClusterPlan): RenderedFile[] {
  return [{ path: "plan.json", content: `${JSON.stringify(plan, null, 2)}\n` }];
}
