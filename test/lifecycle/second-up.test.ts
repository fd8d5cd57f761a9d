// A second `pulumi up` of every stack is a no-op (prod's row is in scenarios-a.test.ts), and
// the model knows every input each stack's program sends.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { checkScenario } from "./check.js";
import { PROVIDER_FACTS, RESOURCE_FACTS } from "./provider-facts.js";
import { deployed, type Base, type Stack } from "./run.js";
import { SECOND_UP, type Scenario } from "./scenarios.js";

const bases = new Map<Stack, Base>();
before(async () => {
  for (const stack of ["prod", "local", "acme"] as const) bases.set(stack, await deployed(stack));
});

describe("a second up is a no-op", () => {
  for (const { stack, hazards } of SECOND_UP.filter((s) => s.stack !== "prod")) {
    test(`${stack}: nothing to do, nothing in the preview`, async (t) => {
      const base = bases.get(stack)!;
      const scenario: Scenario = {
        id: `${stack}-second-up`,
        stack,
        change: "nothing",
        does: "nothing",
        apply: {},
        hosts: [],
        expected: { steps: {}, restarts: [], started: [], stopped: [], reloads: [], maxHostsOut: 0, undrainedMasters: [], preview: "", freshMachineDeliveryFailures: [] },
        ...(hazards.length > 0 && { pendingFix: { hazards, holdsToday: ["started", "stopped", "reloads", "maxHostsOut", "undrainedMasters", "freshMachineDeliveryFailures"] } }),
      };
      await checkScenario(t, base, scenario);
    });
  }
});

test("every input of every resource the three stacks register has a provider fact", () => {
  const known = new Set(PROVIDER_FACTS.map((f) => `${f.type} ${f.input}`));
  const types = new Set(RESOURCE_FACTS.map((f) => f.type));
  const missing = new Set<string>();
  for (const base of bases.values()) {
    for (const g of base.state.filter((g) => g.custom)) {
      if (!types.has(g.type)) missing.add(`${g.type} (type)`);
      for (const key of Object.keys(g.inputs)) if (types.has(g.type) && !known.has(`${g.type} ${key}`)) missing.add(`${g.type} ${key}`);
    }
  }
  assert.deepEqual([...missing], []);
});
