// Plan -> every generated file, keyed by its path relative to the output directory.
// Pure; the render command and the tests write or inspect the result.
import { ERROR_PAGE_50X_HTML } from "./nginx/pages.js";
import { ERROR_PAGE_50X, renderMaster } from "./nginx/master.js";
import { renderSlave } from "./nginx/slave.js";
import type { ClusterPlan } from "./topology.js";

export interface RenderedFile {
  /** `plan.json`, `<host>/master.conf`, `<host>/slave01.conf`, `<host>/html/50x.html`, ... */
  path: string;
  content: string;
  /**
   * Where the instance reads the file under the plan's target (container: inside the
   * container; local: under the target's root). Absent for plan.json.
   */
  deployPath?: string;
}

export function renderCluster(plan: ClusterPlan): RenderedFile[] {
  const files: RenderedFile[] = [{ path: "plan.json", content: `${JSON.stringify(plan, null, 2)}\n` }];
  for (const host of plan.hosts) {
    const m = host.master;
    files.push({ path: `${host.name}/${m.file}`, content: renderMaster(m), deployPath: m.paths.config });
    files.push({ path: `${host.name}/html${ERROR_PAGE_50X}`, content: ERROR_PAGE_50X_HTML, deployPath: `${m.paths.htmlDir}${ERROR_PAGE_50X}` });
    for (const s of host.slaves) {
      files.push({ path: `${host.name}/${s.file}`, content: renderSlave(s), deployPath: s.paths.config });
    }
  }
  return files;
}
