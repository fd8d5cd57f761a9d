// Renders the provider facts (provider-facts.ts) as the tables of PROVIDER-FACTS.md and the
// scenario table (scenarios.ts) into README.md, so the documents and the data the model uses
// cannot drift (facts-doc.test.ts compares them).
// `node --import tsx test/lifecycle/facts-doc.ts` rewrites the generated parts.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENGINE_FACTS, PROVIDER_FACTS, RESOURCE_FACTS, type Citation } from "./provider-facts.js";
import { HAZARDS, SCENARIOS } from "./scenarios.js";

export const DOC = join(__dirname, "PROVIDER-FACTS.md");
export const SCENARIO_DOC = join(__dirname, "README.md");
const BEGIN = (source: string) => `<!-- generated from ${source}: do not edit below -->`;
const END = "<!-- end of generated part -->";

const cite = (c: Citation) => `${c.repo}@${c.ref.split(" ")[0]} \`${c.file}\` L${c.lines}`;
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderFacts(): string {
  const lines: string[] = [];
  lines.push("## Engine rules", "", "| rule | source |", "|---|---|");
  for (const f of ENGINE_FACTS) lines.push(`| ${cell(f.rule)} | ${f.sources.map(cite).join("<br>")} |`);
  lines.push("", "## Resource types", "", "| type | diff | provider asks delete-before-replace | computed outputs | state after create | note | source |", "|---|---|---|---|---|---|---|");
  for (const f of RESOURCE_FACTS) {
    lines.push(
      `| \`${f.type}\` | ${f.diff} | ${f.deleteBeforeReplace ? "yes" : "no"} | ${f.computed.join(", ")} | ${f.readAfterCreate ? "read back" : "as sent"} | ${cell(f.note)} | ${f.sources.map(cite).join("<br>")} |`,
    );
  }
  lines.push("", "## Inputs", "", "| type | input (attribute) | a change | unset in the program | read back | note | source |", "|---|---|---|---|---|---|---|");
  for (const f of PROVIDER_FACTS) {
    lines.push(
      `| \`${f.type.split(":").pop()}\` | \`${f.input}\` (${f.attribute}) | ${f.change === "replace" ? "**replaces**" : "updates"} | ${f.unset === "computed" ? "kept" : "compared"}${f.set ? ", set" : ""} | ${f.readBack} | ${cell(f.note)} | ${f.sources.map(cite).join("<br>")} |`,
    );
  }
  return lines.join("\n");
}

/** The scenario table in words: what a change does once the hazards are fixed, and what still stands in the way. */
export function renderScenarios(): string {
  const lines = ["| change | what `up` does | containers restarted | hosts out of the VIP at once | preview | waits for |", "|---|---|---|---|---|---|"];
  for (const s of SCENARIOS) {
    const e = s.expected;
    const restarts = e.restarts.length === 0 ? "none" : String(e.restarts.length);
    const preview = e.preview === "" ? "no change" : e.preview.replace("{created}", "all of the host's").replace("{deleted}", "all of the host's");
    const waits = s.pendingFix ? s.pendingFix.hazards.join(", ") : "-";
    lines.push(`| ${cell(s.change)} | ${cell(s.does)} | ${restarts} | ${e.maxHostsOut} | ${cell(preview)} | ${waits} |`);
  }
  lines.push("", "| hazard | what the model shows today |", "|---|---|");
  for (const [id, text] of Object.entries(HAZARDS)) lines.push(`| ${id} | ${cell(text)} |`);
  return lines.join("\n");
}

/** `doc` with its generated part replaced by `generated`. */
export function documentWith(doc: string, source: string, generated: string): string {
  const text = readFileSync(doc, "utf8");
  const start = text.indexOf(BEGIN(source));
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${doc} lacks the generated-part markers for ${source}`);
  return `${text.slice(0, start + BEGIN(source).length)}\n\n${generated}\n\n${text.slice(end)}`;
}

if (require.main === module) {
  writeFileSync(DOC, documentWith(DOC, "provider-facts.ts", renderFacts()));
  writeFileSync(SCENARIO_DOC, documentWith(SCENARIO_DOC, "scenarios.ts", renderScenarios()));
}
