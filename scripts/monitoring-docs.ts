// npm run docs:monitoring
// Rewrites README.md's monitoring reference (infra/monitoring/docs.ts): the ops agent's
// metrics and the access log's fields, each from its definition.
// test/docs/monitoring-docs.test.ts fails while the README differs.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withMonitoringReference } from "../infra/monitoring/docs.js";

const readme = join(__dirname, "..", "README.md");
const before = readFileSync(readme, "utf8");
const after = withMonitoringReference(before);
if (after !== before) writeFileSync(readme, after);
process.stdout.write(`${readme}: monitoring reference ${after === before ? "already up to date" : "rewritten"}\n`);
