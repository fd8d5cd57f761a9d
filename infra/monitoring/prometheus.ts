// monitoring/prometheus.yml: the global intervals, the rules file, and every scrape job
// of targets.ts. Pure.
import type { ClusterPlan } from "../topology.js";
import { scrapeJobs, type ScrapeJob } from "./targets.js";

/** File names of the render's `monitoring/` directory. */
export const MONITORING_FILES = {
  prometheus: "prometheus.yml",
  rules: "rules.yml",
  blackbox: "blackbox.yml",
  dashboard: "dashboard.json",
} as const;

export function prometheusDocument(plan: ClusterPlan, rulesFile: string = MONITORING_FILES.rules): {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: ScrapeJob[];
} {
  const seconds = plan.monitoring.scrapeIntervalSeconds;
  return {
    // A scrape may not outlast its interval (Prometheus' own default timeout is 10 s).
    global: { scrape_interval: `${seconds}s`, scrape_timeout: `${Math.min(10, seconds)}s`, evaluation_interval: `${seconds}s` },
    rule_files: [rulesFile],
    scrape_configs: scrapeJobs(plan),
  };
}
