// prod behind the software VIP (`vip.mode: haproxy`) through the lifecycle model (the
// engine's step generation fed by the providers' facts and read-back): a second `up` is a
// no-op, the model knows every input the L4 resources send, a new member reloads each
// HAProxy without replacing any container of the L4 hosts, and a new health-check timing
// reloads them too.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { StateEntry, Step } from "../../infra/lifecycle/engine.js";
import { PROVIDER_FACTS, RESOURCE_FACTS } from "../../infra/lifecycle/facts.js";
import { simulate } from "../../infra/lifecycle/simulate.js";
import { standInOutputs } from "../../infra/lifecycle/standIns.js";
import { prodWithHaproxy } from "../helpers/pulumi.js";
import { PROGRAM } from "./run.js";

const { config, secretKeys } = prodWithHaproxy();
const computed = (goal: { type: string; name: string; inputs: Record<string, unknown> }) => standInOutputs(goal.type, goal.name, goal.inputs);
let state: StateEntry[];

before(async () => {
  const first = await simulate({ program: PROGRAM, config, secretKeys, state: [], computed });
  if (first.error) throw new Error(first.error);
  state = first.state;
});

/** The steps of an `up` of `next` on the deployed state that do something, as `kind name`. */
async function changes(next: Record<string, unknown>): Promise<Step[]> {
  const up = await simulate({ program: PROGRAM, config: next, secretKeys, state, computed });
  if (up.error) throw new Error(up.error);
  return up.steps.filter((s) => s.kind !== "same");
}
const l4 = (steps: Step[]) => steps.filter((s) => /^lb0[12]-/.test(s.name)).map((s) => `${s.kind} ${s.name}`).sort();

describe("prod with vip.mode haproxy, as the engine would run it", () => {
  test("a second `up` does nothing", async () => {
    assert.deepEqual((await changes(config)).map((s) => `${s.kind} ${s.name}`), []);
  });

  test("every input of the L4 hosts' resources has a provider fact", () => {
    const known = new Set(PROVIDER_FACTS.map((f) => `${f.type} ${f.input}`));
    const types = new Set(RESOURCE_FACTS.map((f) => f.type));
    const missing = new Set<string>();
    for (const s of state.filter((s) => s.custom && /(^|[:$])lb0[12]-|::lb0[12]-/.test(s.urn))) {
      if (!types.has(s.type)) missing.add(`${s.type} (type)`);
      else for (const key of Object.keys(s.inputs)) if (!known.has(`${s.type} ${key}`)) missing.add(`${s.type} ${key}`);
    }
    assert.ok(state.some((s) => s.urn.endsWith("::lb01-haproxy")), "the L4 resources are in the state");
    assert.deepEqual([...missing], []);
  });

  test("a new member: each L4 host's HAProxy files are installed again and reloaded; no L4 container is replaced", async () => {
    const next = structuredClone(config);
    (next["image-origin:hosts"] as object[]).push({ name: "img06", address: "172.18.141.56", docker: "ssh://deploy@172.18.141.56" });
    const steps = await changes(next);
    assert.deepEqual(l4(steps), ["replace lb01-haproxy-files", "replace lb01-haproxy-reload", "replace lb01-healthy", "replace lb02-haproxy-files", "replace lb02-haproxy-reload", "replace lb02-healthy"]);
  });

  test("a new health-check timing reloads HAProxy the same way, keepalived untouched", async () => {
    const next = structuredClone(config);
    const vip = next["image-origin:vip"] as { healthCheck?: Record<string, number> };
    vip.healthCheck = { ...vip.healthCheck, intervalSeconds: 10 };
    const steps = await changes(next);
    assert.ok(!l4(steps).some((s) => /keepalived$|haproxy$/.test(s)), l4(steps).join(", "));
    assert.ok(l4(steps).includes("replace lb01-haproxy-reload"));
  });
});
