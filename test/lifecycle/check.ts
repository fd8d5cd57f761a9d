// How a scenario row is judged: the model's outcome against the row's expectation, field by
// field, with every difference listed.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Outcome } from "./derive.js";
import { expand, stepsMatch, type Expected, type Scenario } from "./scenarios.js";
import { resizerHash, runChange, type Base, type ScenarioRun } from "./run.js";

function matches(field: keyof Expected, expected: Expected, outcome: Outcome): string[] {
  if (field === "steps") return stepsMatch(expected.steps, outcome.steps);
  if (field === "preview") {
    const changes = outcome.preview.replace(/(, )?\d+ unchanged$/, "");
    return changes === expected.preview ? [] : [`preview "${changes}", expected "${expected.preview}"`];
  }
  const a = JSON.stringify(outcome[field]);
  const e = JSON.stringify(expected[field]);
  return a === e ? [] : [`${field}: ${a}, expected ${e}`];
}

/** Every way the outcome differs from what the row expects (none: the row holds). */
export function differences(scenario: Scenario, outcome: Outcome): string[] {
  const expected = expand(scenario);
  return (Object.keys(expected) as (keyof Expected)[]).flatMap((f) => matches(f, expected, outcome));
}

export async function checkScenario(t: TestContext, base: Base, scenario: Scenario): Promise<ScenarioRun> {
  const change = typeof scenario.apply === "function" ? scenario.apply({ resizerHash: resizerHash() }) : scenario.apply;
  const run = await runChange(base, change);
  t.diagnostic(`${scenario.id}: ${run.outcome.preview}; restarts ${run.outcome.restarts.length}, reloads ${run.outcome.reloads.length}, at most ${run.outcome.maxHostsOut} host(s) out of the VIP`);
  assert.deepEqual(differences(scenario, run.outcome), [], `${scenario.id} does not do what it should`);
  return run;
}
