// Every resource of the local mock graph (self-signed certificate generated as resources)
// passes every rule of the policy pack, mandatory and advisory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { graphViolations, contextOf } from "../helpers/policy.js";
import { ofType, runProgram, stackConfig } from "../helpers/pulumi.js";

test("local: every resource passes every rule", async () => {
  const config = stackConfig("local");
  const run = await runProgram(config);
  if (run.error) throw run.error;
  assert.equal(ofType(run, "Container").length, 10);
  assert.deepEqual(graphViolations(run, contextOf(config)), []);
});
