// Scenario table rows (scenarios.ts) on the prod stack: no-change master-config certificate-renewal slave-max-fails.
// Each: the state an `up` of the stack left, then the changed program as `up` and as preview.
import { before, describe, test } from "node:test";
import { checkScenario } from "./check.js";
import { deployed, type Base } from "./run.js";
import { SCENARIOS } from "./scenarios.js";

let base: Base;
before(async () => {
  base = await deployed("prod");
});

describe("prod: what a change does", () => {
  for (const scenario of SCENARIOS.filter((s) => ["no-change", "master-config", "certificate-renewal", "slave-max-fails"].includes(s.id))) {
    test(`${scenario.change}: ${scenario.does}`, async (t) => {
      await checkScenario(t, base, scenario);
    });
  }
});
