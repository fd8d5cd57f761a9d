// Each fix of issue 13, undone in what the program registers: the scenario table must then
// fail. So a change that brings a hazard back (cpus in another spelling, a network that
// stops waiting for the previous host, a drain that drops out of the engine's cascade, a
// gate that passes at the first 200, a delivery that trusts the operator's engine) fails a
// test, whatever the rest of the table says.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { before, describe, test } from "node:test";
import type { Goal } from "../../infra/lifecycle/engine.js";
import { COMMAND_TYPE, CONTAINER, NETWORK } from "../../infra/lifecycle/facts.js";
import { differences } from "./check.js";
import { deployed, runChange, type Base } from "./run.js";
import { PROD_HOSTS, SCENARIOS, type Scenario } from "./scenarios.js";

const row = (id: string): Scenario => SCENARIOS.find((s) => s.id === id)!;
const applied = (s: Scenario) => (typeof s.apply === "function" ? s.apply({ resizerHash: "unused" }) : s.apply);
const inputs = (g: Goal, change: Record<string, unknown>): Goal => ({ ...g, inputs: { ...g.inputs, ...change } });

let prod: Base;
before(async () => {
  prod = await deployed("prod");
});

describe("hazard 1: values in another spelling than the provider stores", () => {
  test("cpus sent as \"2\" (a plain number): every resizer is replaced on every up", async () => {
    const plain = (g: Goal) => (g.type === CONTAINER && g.inputs.cpus !== undefined ? inputs(g, { cpus: String(Number(g.inputs.cpus)) }) : g);
    const base = await deployed("prod", plain);
    const run = await runChange(base, {}, { preview: false });
    assert.deepEqual(
      Object.entries(run.outcome.steps).filter(([n]) => /-resizer0\d$/.test(n)).map(([n, k]) => `${n} ${k}`),
      PROD_HOSTS.flatMap((h) => [1, 2, 3, 4].map((i) => `${h}-resizer0${i} replace`)),
    );
    assert.notDeepEqual(differences(row("no-change"), run.outcome), []);
  });

  test("memory-swap left to dockerd: every container is updated on the second up", async () => {
    const unset = (g: Goal) => {
      if (g.type !== CONTAINER || g.inputs.memorySwap === undefined) return g;
      const { memorySwap: _, ...rest } = g.inputs;
      return { ...g, inputs: rest };
    };
    const run = await runChange(await deployed("prod", unset), {}, { preview: false });
    assert.ok(Object.values(run.outcome.steps).filter((k) => k === "update").length >= 35);
    assert.notDeepEqual(differences(row("no-change"), run.outcome), []);
  });

  test("a healthcheck duration as an operator writes it (\"1m\"): the container is replaced on the second up", async () => {
    const minute = (g: Goal) => (g.name === "img01-resizer01" ? inputs(g, { healthcheck: { ...(g.inputs.healthcheck as object), startPeriod: "1m" } }) : g);
    const run = await runChange(await deployed("prod", minute), {}, { preview: false });
    assert.equal(run.outcome.steps["img01-resizer01"], "replace");
  });
});

describe("hazard 2: a network change", () => {
  test("a network that does not wait for the previous host's gate empties the VIP", async () => {
    const eager = (g: Goal) => (g.type === NETWORK ? { ...g, dependencies: [] } : g);
    const run = await runChange(prod, { ...applied(row("subnet")), patch: eager }, { preview: false });
    assert.deepEqual(run.outcome.hostsOutTogether, PROD_HOSTS);
    assert.notDeepEqual(differences(row("subnet"), run.outcome), []);
  });

  test("under rollout: parallel the guard refuses the change before any network (and so any container) is deleted", async () => {
    const parallel = (c: Record<string, unknown>) => ({ ...c, "image-origin:rollout": "parallel" });
    const base = { ...prod, config: parallel(prod.config) };
    const state = (await runChange({ ...prod, config: prod.config }, { config: parallel }, { preview: false })).up.state;
    const run = await runChange({ ...base, state }, applied(row("subnet")), { preview: false });
    const guard = run.up.goals.find((g) => g.name === "network-guard")!;
    assert.equal(run.up.steps.find((s) => s.name === "network-guard")?.kind, "update");
    const refused = spawnSync("sh", ["-c", guard.inputs.update as string], { encoding: "utf8" });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /host by host/);
    // Every network replacement (and so its cascade) waits for the guard, which fails first.
    for (const net of run.up.goals.filter((g) => g.type === NETWORK)) assert.ok(net.dependencies.includes(guard.urn), net.name);
  });
});

describe("hazard 3: delivery from a machine that never built or pulled the images", () => {
  test("a delivery that trusts the operator's engine fails there", async () => {
    const trusting = (g: Goal) =>
      g.type === COMMAND_TYPE && typeof g.inputs.create === "string" && /-images-/.test(g.name)
        ? inputs(g, { create: g.inputs.create.replace(/\n  if ! docker image inspect [^\n]*\n    docker [^\n]*\n  fi/, "") })
        : g;
    const run = await runChange(prod, { ...applied(row("nginx-image")), patch: trusting }, { preview: false });
    assert.equal(run.outcome.freshMachineDeliveryFailures.length, 5, run.outcome.freshMachineDeliveryFailures.join("\n"));
    assert.notDeepEqual(differences(row("nginx-image"), run.outcome), []);
  });
});

describe("hazard 5: draining and re-admission", () => {
  test("a drain tied to its master by dependsOn alone (not by the master's id) drops out of the master's cascade: masters go undrained", async () => {
    const dependsOnOnly = (g: Goal) => (g.name.endsWith("-master-drain") ? { ...inputs(g, { triggers: [] }), propertyDependencies: {} } : g);
    const base = await deployed("prod", dependsOnOnly);
    const run = await runChange(base, applied(row("nginx-image")), { preview: false });
    assert.deepEqual(run.outcome.undrainedMasters, PROD_HOSTS.map((h) => `${h}-master`));
  });

  test("a gate that passes at the first 200: the next host's master goes while the L4 has not taken the last one back", async () => {
    const firstTwoHundred = (g: Goal) => (g.name.endsWith("-healthy") && typeof g.inputs.create === "string" ? inputs(g, { create: g.inputs.create.replace(/\n# The L4 takes the host back[\s\S]*$/, "") }) : g);
    const run = await runChange(prod, { ...applied(row("nginx-image")), patch: firstTwoHundred }, { preview: false });
    assert.equal(run.outcome.maxHostsOut, 2);
    assert.notDeepEqual(differences(row("nginx-image"), run.outcome), []);
  });
});
