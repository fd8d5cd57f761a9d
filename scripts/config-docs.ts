// npm run docs:config
// Rewrites README.md's config reference from the schema (infra/configDocs.ts): keys, types
// and defaults as config.ts defines them, each key's description from its `.describe()`.
// test/unit/config-docs.test.ts fails while the README differs.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withConfigReference } from "../infra/configDocs.js";

const readme = join(__dirname, "..", "README.md");
const before = readFileSync(readme, "utf8");
const after = withConfigReference(before);
if (after !== before) writeFileSync(readme, after);
process.stdout.write(`${readme}: config reference ${after === before ? "already up to date" : "rewritten"}\n`);
