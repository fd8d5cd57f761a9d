// The model tells a fixed program from a broken one, hazard by hazard: each test registers
// the program as a fix would (a patch of its registrations) and as it is, and expects the
// scenario to pass only with the fix. So once phase 2 lands a fix, the strict rows of the
// scenario table fail if the hazard comes back (cpus in the program's form again, a network
// that no longer waits for the previous host, a gate that passes at the first 200).
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Goal } from "./engine.js";
import { nanoCpusReadBack } from "./normalise.js";
import { CONTAINER, NETWORK } from "./provider-facts.js";
import { deployed, l4Of, runChange, type Base } from "./run.js";
import { PROD_HOSTS } from "./scenarios.js";

/** cpus in the provider's own form and memory-swap sent (= memory): hazard 1's fix, as registered. */
function providerForm(goal: Goal): Goal {
  if (goal.type !== CONTAINER || goal.inputs.memory === undefined) return goal;
  return { ...goal, inputs: { ...goal.inputs, memorySwap: goal.inputs.memory, ...(goal.inputs.cpus !== undefined && { cpus: nanoCpusReadBack(String(goal.inputs.cpus)) }) } };
}

/** A gate that keeps watching a healthy host for as long as the L4 needs to take it back. */
const watchingGate = (seconds: number) => (goal: Goal): Goal =>
  goal.name.endsWith("-healthy") && typeof goal.inputs.create === "string" ? { ...goal, inputs: { ...goal.inputs, create: `${goal.inputs.create}\nsleep ${seconds}` } } : goal;

const nginxBump = { config: (c: Record<string, unknown>) => ({ ...c, "image-origin:images": { nginx: "nginx:1.28.1-bookworm" } }) };
const subnetMove = { config: (c: Record<string, unknown>) => ({ ...c, "image-origin:network": { subnet: "10.213.1.0/24" } }) };

describe("hazard 1: read-back differences", () => {
  let fixed: Base;
  before(async () => {
    fixed = await deployed("prod", providerForm);
  });

  test("with cpus and memory-swap in the provider's form, a second up of prod is a no-op and previews clean", async () => {
    const run = await runChange(fixed, {});
    assert.deepEqual(run.outcome.steps, {});
    assert.match(run.outcome.preview, /^\d+ unchanged$/);
  });

  test("sending cpus as the program does today replaces every resizer again", async () => {
    const asToday = (g: Goal) => (g.type === CONTAINER && g.inputs.cpus !== undefined ? { ...g, inputs: { ...g.inputs, cpus: String(Number(g.inputs.cpus)) } } : g);
    const run = await runChange(fixed, { patch: asToday }, { preview: false });
    assert.deepEqual(
      Object.entries(run.outcome.steps).filter(([n]) => /-resizer0\d$/.test(n)).map(([n, k]) => `${n} ${k}`),
      PROD_HOSTS.flatMap((h) => [1, 2, 3, 4].map((i) => `${h}-resizer0${i} replace`)),
    );
  });
});

describe("hazards 2 and 5: hosts out of the VIP", () => {
  let base: Base;
  let readmission: number;
  before(async () => {
    const l4 = l4Of((await import("./run.js")).stackInputs("prod").config);
    readmission = l4.rise * l4.intervalSeconds + l4.timeoutSeconds;
    const gate = watchingGate(readmission);
    base = await deployed("prod", (g) => gate(providerForm(g)));
  });

  test("a network that waits for the previous host's gate keeps a subnet change to one host at a time", async () => {
    const gateOf = (host: string) => base.state.find((s) => s.name === `${host}-healthy`)!.urn;
    const waits = (g: Goal): Goal => {
      const i = PROD_HOSTS.findIndex((h) => g.name === `${h}-net`);
      return g.type === NETWORK && i > 0 ? { ...g, dependencies: [...g.dependencies, gateOf(PROD_HOSTS[i - 1]!)] } : g;
    };
    const run = await runChange(base, { ...subnetMove, patch: waits }, { preview: false });
    assert.equal(run.outcome.maxHostsOut, 1);
  });

  test("a network that does not wait empties the VIP on a subnet change, even with gates that wait", async () => {
    const run = await runChange(base, subnetMove, { preview: false });
    assert.deepEqual(run.outcome.hostsOutTogether, PROD_HOSTS);
  });

  test("an nginx bump takes one host out at a time when each gate waits for the L4 to take its host back", async () => {
    const run = await runChange(base, nginxBump, { preview: false });
    assert.equal(run.outcome.maxHostsOut, 1);
  });

  test("with a gate that passes at the first 200, the next host's master goes while the L4 has not taken the last one back", async () => {
    const firstTwoHundred = (g: Goal): Goal => (g.name.endsWith("-healthy") && typeof g.inputs.create === "string" ? { ...g, inputs: { ...g.inputs, create: g.inputs.create.replace(new RegExp(`\\nsleep ${readmission}$`), "") } } : g);
    const run = await runChange(base, { ...nginxBump, patch: firstTwoHundred }, { preview: false });
    assert.equal(run.outcome.maxHostsOut, 2);
    assert.deepEqual(run.outcome.undrainedMasters, PROD_HOSTS.map((h) => `${h}-master`));
  });
});
