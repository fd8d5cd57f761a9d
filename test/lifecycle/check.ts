// How a scenario row is judged: exactly against its expectation, or, while it waits for a
// fix (`pendingFix`), by the hazards it must still show and the parts that already hold.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { copySources } from "../../infra/components/resizerImage.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../helpers/cli.js";
import { gateBehaviour } from "./shell.js";
import { stepsByResource, type Outcome } from "./derive.js";
import { CONTAINER, NETWORK } from "./provider-facts.js";
import { expand, HAZARDS, stepsMatch, type Expected, type HazardId, type Scenario } from "./scenarios.js";
import { l4Of, runChange, resizerRef, type Base, type ScenarioRun } from "./run.js";

/** Is the hazard visible in this run? Each test is what the hazard looks like in the model. */
export function shows(h: HazardId, run: ScenarioRun, base: Base, edits: string[] = []): boolean {
  const steps = run.up.steps;
  switch (h) {
    case "H1":
      return steps.some((s) => s.kind === "replace" && s.type === CONTAINER && s.keys.includes("cpus"));
    case "H1-swap":
      return steps.some((s) => s.type === CONTAINER && s.keys.includes("memorySwap"));
    case "H1-durations":
      return steps.some((s) => s.type === CONTAINER && s.kind === "update" && s.keys.includes("healthcheck"));
    case "H2":
      return run.outcome.maxHostsOut > 1 && steps.some((s) => s.type === NETWORK && s.kind === "replace" && (s.cascade ?? []).some((u) => u.includes("docker:index/container:Container")));
    case "H3":
      return run.outcome.freshMachineDeliveryFailures.length > 0;
    case "H4": {
      const up = stepsByResource(steps);
      const preview = stepsByResource(run.preview.steps);
      return [...preview.values()].some((p) => p.type === CONTAINER && p.kind === "replace" && ["same", "update"].includes(up.get(p.urn)?.kind ?? "same"));
    }
    case "H5": {
      const l4 = l4Of(base.config);
      const readmission = l4.rise * l4.intervalSeconds + l4.timeoutSeconds;
      const gates = run.up.goals.filter((g) => g.name.endsWith("-healthy") && typeof g.inputs.create === "string");
      return run.outcome.undrainedMasters.length > 0 || gates.some((g) => gateBehaviour(g.inputs.create as string).watchedSeconds < readmission);
    }
    case "H6": {
      const sources = ["resizer/Dockerfile", ...copySources(readFileSync(join(projectRoot, "resizer/Dockerfile"), "utf8"))];
      const codeEdit = edits.some((e) => sources.some((s) => e === s || e.startsWith(`${s}/`)));
      return !codeEdit && steps.some((s) => s.name === "resizer-image" && s.kind === "update");
    }
  }
}

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

export async function checkScenario(t: TestContext, base: Base, scenario: Scenario): Promise<ScenarioRun> {
  const hash = resizerRef().split(":")[1]!;
  const change = typeof scenario.apply === "function" ? scenario.apply({ resizerHash: hash }) : scenario.apply;
  const run = await runChange(base, change);
  const expected = expand(scenario, run.outcome);
  const fields = Object.keys(expected) as (keyof Expected)[];
  const problems = fields.flatMap((f) => matches(f, expected, run.outcome));
  t.diagnostic(`${scenario.id}: ${run.outcome.preview}; restarts ${run.outcome.restarts.length}, reloads ${run.outcome.reloads.length}, at most ${run.outcome.maxHostsOut} host(s) out of the VIP`);

  if (scenario.pendingFix === undefined) {
    assert.deepEqual(problems, [], `${scenario.id} does not do what it should`);
    return run;
  }
  // Waiting for a fix: the hazards are still there, what already holds holds, and the row
  // is not yet met (if it is, the fix landed: drop `pendingFix` so the row is enforced).
  for (const h of scenario.pendingFix.hazards) {
    t.diagnostic(`known hazard ${h}: ${HAZARDS[h]}`);
    assert.ok(shows(h, run, base, change.edits), `${scenario.id}: hazard ${h} no longer shows; if it was fixed, remove it from pendingFix (${HAZARDS[h]})`);
  }
  for (const f of scenario.pendingFix.holdsToday) assert.deepEqual(matches(f, expected, run.outcome), [], `${scenario.id}: ${f} should already hold`);
  assert.notDeepEqual(problems, [], `${scenario.id} now does what it should: remove its pendingFix so the table enforces it`);
  return run;
}
