// A second `pulumi up` of every stack is a no-op (prod's row is in scenarios-a.test.ts), and
// the model knows every input each stack's program sends.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { PROVIDER_FACTS, RESOURCE_FACTS } from "../../infra/lifecycle/facts.js";
import { deployed, runChange, type Base, type Stack } from "./run.js";

const bases = new Map<Stack, Base>();
before(async () => {
  for (const stack of ["local", "acme"] as const) bases.set(stack, await deployed(stack));
});

describe("a second up is a no-op", () => {
  for (const stack of ["local", "acme"] as const) {
    test(`${stack}: nothing to do, nothing in the preview`, async (t) => {
      const run = await runChange(bases.get(stack)!, {});
      t.diagnostic(`${stack}: ${run.outcome.preview}`);
      assert.deepEqual(run.outcome.steps, {});
      assert.match(run.outcome.preview, /^\d+ unchanged$/);
    });
  }
});

test("every input of every resource the stacks register has a provider fact", () => {
  const known = new Set(PROVIDER_FACTS.map((f) => `${f.type} ${f.input}`));
  const types = new Set(RESOURCE_FACTS.map((f) => f.type));
  const missing = new Set<string>();
  for (const base of bases.values()) {
    for (const g of base.state.filter((g) => g.custom)) {
      if (!types.has(g.type)) missing.add(`${g.type} (type)`);
      for (const key of Object.keys(g.inputs)) if (types.has(g.type) && !known.has(`${g.type} ${key}`)) missing.add(`${g.type} ${key}`);
    }
  }
  assert.equal(bases.size, 2);
  assert.deepEqual([...missing], []);
});
