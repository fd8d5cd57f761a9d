// Every resource of the prod mock graph (the operator's real certificate and key set)
// passes every rule of the policy pack, mandatory and advisory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { graphViolations, contextOf } from "../helpers/policy.js";
import { ofType, prodWithSuppliedCertificate, runProgram } from "../helpers/pulumi.js";

test("prod: every resource passes every rule", async () => {
  const { config, secretKeys } = prodWithSuppliedCertificate();
  const run = await runProgram(config, secretKeys);
  if (run.error) throw run.error;
  assert.equal(ofType(run, "Container").length, 60);
  assert.deepEqual(graphViolations(run, contextOf(config)), []);
});
