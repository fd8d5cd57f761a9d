// The README's monitoring reference, generated: every metric of the ops agent's catalogue
// (resizer/src/ops/metrics.ts) and every field of the JSON access log
// (infra/nginx/observability.ts), each documented once where it is defined.
// `npm run docs:monitoring` writes it between the markers; a test fails when they differ. Pure.
import { OPS_METRICS } from "../../resizer/src/ops/metrics.js";
import { monitoringSchema } from "../config.js";
import { ACCESS_LOG_FIELDS } from "../nginx/observability.js";
import { ALERT_ANCHORS, alertConditions, type AlertName } from "./rules.js";

export const MONITORING_MARKERS = { start: "<!-- monitoring-reference:start (npm run docs:monitoring) -->", end: "<!-- monitoring-reference:end -->" } as const;

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The alert table states durations at the schema's default scrape interval. */
export function monitoringReference(scrapeIntervalSeconds = monitoringSchema.parse({}).scrapeIntervalSeconds): string {
  const conditions = alertConditions(scrapeIntervalSeconds);
  const alerts = (Object.keys(ALERT_ANCHORS) as AlertName[]).map((a) => `| \`${a}\` | ${cell(conditions[a])} | [RUNBOOK](RUNBOOK.md#${ALERT_ANCHORS[a]}) |`);
  const metrics = Object.values(OPS_METRICS).map(
    (m) => `| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(", ") || "-"} | ${m.source} | ${cell(m.help)}${"only" in m ? ` (only on ${m.only})` : ""} |`,
  );
  const fields = ACCESS_LOG_FIELDS.map((f) => `| \`${f.name}\` | ${f.json} | ${cell(f.doc)} |`);
  return [
    MONITORING_MARKERS.start,
    `Alerts of \`monitoring/rules.yml\` (scrape interval ${scrapeIntervalSeconds} s, \`monitoring.scrapeIntervalSeconds\`):`,
    "",
    "| alert | fires when | what to do |",
    "|---|---|---|",
    ...alerts,
    "",
    "Metrics of `/metrics` on each host's ops listener (the Prometheus job `image-origin-ops`; Prometheus adds `host`):",
    "",
    "| metric | type | labels | from | meaning |",
    "|---|---|---|---|---|",
    ...metrics,
    "",
    "The access log, one JSON object per line, written by master and slaves (`docker logs`, or the",
    "instance's `logs/access.log` locally) and sent to the ops agent:",
    "",
    "| field | JSON | meaning |",
    "|---|---|---|",
    ...fields,
    MONITORING_MARKERS.end,
  ].join("\n");
}

/** `readme` with its monitoring reference replaced (markers kept); throws when a marker is missing. */
export function withMonitoringReference(readme: string): string {
  const start = readme.indexOf(MONITORING_MARKERS.start);
  const end = readme.indexOf(MONITORING_MARKERS.end);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${MONITORING_MARKERS.start} ... ${MONITORING_MARKERS.end}`);
  return `${readme.slice(0, start)}${monitoringReference()}${readme.slice(end + MONITORING_MARKERS.end.length)}`;
}
