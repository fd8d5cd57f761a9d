// Scenario table rows (scenarios.ts) on the prod stack: resizer-code nginx-image resizer-replicas.
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
  for (const scenario of SCENARIOS.filter((s) => ["resizer-code", "nginx-image", "resizer-replicas"].includes(s.id))) {
    test(`${scenario.change}: ${scenario.does}`, async (t) => {
      await checkScenario(t, base, scenario);
    });
  }
});
