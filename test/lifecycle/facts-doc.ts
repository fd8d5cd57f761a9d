// Renders the provider facts (infra/lifecycle/facts.ts) as the tables of PROVIDER-FACTS.md,
// the scenario table (scenarios.ts) into the README's "What a change does", and the hazards
// into this tier's README, so the documents and the data the model uses cannot drift
// (facts-doc.test.ts compares them).
// `node --import tsx test/lifecycle/facts-doc.ts` rewrites the generated parts.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENGINE_FACTS, PROVIDER_FACTS, RESOURCE_FACTS, type Citation } from "../../infra/lifecycle/facts.js";
import { HAZARDS, SCENARIOS } from "./scenarios.js";

export const DOC = join(__dirname, "../../infra/lifecycle/PROVIDER-FACTS.md");
export const SCENARIO_DOC = join(__dirname, "../../README.md");
export const HAZARD_DOC = join(__dirname, "README.md");
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

/** The scenario table in words: what each change makes `pulumi up` do on the prod stack. */
export function renderScenarios(): string {
  const lines = ["| change | what `up` does | containers restarted | hosts out of the VIP at once | `pulumi preview` |", "|---|---|---|---|---|"];
  for (const s of SCENARIOS) {
    const e = s.expected;
    const restarts = e.restarts.length === 0 ? (e.started.length > 0 ? `none (${e.started.length} started)` : e.stopped.length > 0 ? `none (${e.stopped.length} stopped)` : "none") : String(e.restarts.length);
    const preview = e.preview === "" ? "no change" : e.preview;
    lines.push(`| ${cell(s.change)} | ${cell(s.does)} | ${restarts} | ${e.maxHostsOut} | ${cell(preview)} |`);
  }
  return lines.join("\n");
}

/** Issue 13's hazards: what the model showed, and the fix. */
export function renderHazards(): string {
  const lines = ["| hazard | what `up` did | the fix |", "|---|---|---|"];
  for (const [id, h] of Object.entries(HAZARDS)) lines.push(`| ${id} | ${cell(h.was)} | ${cell(h.fix)} |`);
  return lines.join("\n");
}

/** `doc` with its generated part replaced by `generated`. */
export function documentWith(doc: string, source: string, generated: string): string {
  const text = readFileSync(doc, "utf8");
  const start = text.indexOf(BEGIN(source));
  const end = text.indexOf(END, start);
  if (start < 0 || end < start) throw new Error(`${doc} lacks the generated-part markers for ${source}`);
  return `${text.slice(0, start + BEGIN(source).length)}\n\n${generated}\n\n${text.slice(end)}`;
}

if (require.main === module) {
  writeFileSync(DOC, documentWith(DOC, "facts.ts", renderFacts()));
  writeFileSync(SCENARIO_DOC, documentWith(SCENARIO_DOC, "test/lifecycle/scenarios.ts", renderScenarios()));
  writeFileSync(HAZARD_DOC, documentWith(HAZARD_DOC, "scenarios.ts", renderHazards()));
}
