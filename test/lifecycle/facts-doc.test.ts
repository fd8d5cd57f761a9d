// PROVIDER-FACTS.md shows exactly the facts the model uses, each with a source.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { DOC, HAZARD_DOC, SCENARIO_DOC, documentWith, renderFacts, renderHazards, renderScenarios } from "./facts-doc.js";
import { ENGINE_FACTS, PROVIDER_FACTS, RESOURCE_FACTS } from "../../infra/lifecycle/facts.js";

test("every provider fact, resource fact and engine rule cites at least one source line", () => {
  for (const f of [...PROVIDER_FACTS, ...RESOURCE_FACTS, ...ENGINE_FACTS]) {
    assert.ok(f.sources.length > 0, JSON.stringify(f).slice(0, 120));
    for (const c of f.sources) assert.match(`${c.repo} ${c.ref} ${c.file} ${c.lines}`, /^\S+\/\S+ \S+.* \S+ \S+/);
  }
});

test("PROVIDER-FACTS.md lists the facts table as it is (node --import tsx test/lifecycle/facts-doc.ts rewrites it)", () => {
  assert.equal(readFileSync(DOC, "utf8"), documentWith(DOC, "facts.ts", renderFacts()));
});

test("the README's \"What a change does\" is the scenario table as it is", () => {
  assert.equal(readFileSync(SCENARIO_DOC, "utf8"), documentWith(SCENARIO_DOC, "test/lifecycle/scenarios.ts", renderScenarios()));
});

test("the tier's README lists the hazards and their fixes as scenarios.ts does", () => {
  assert.equal(readFileSync(HAZARD_DOC, "utf8"), documentWith(HAZARD_DOC, "scenarios.ts", renderHazards()));
});

test("one row per type and input", () => {
  const keys = PROVIDER_FACTS.map((f) => `${f.type} ${f.input}`);
  assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), []);
});
