// Signed URLs under Pulumi mocks: the keys are a secret list, reach every resizer's
// environment only as a secret, and signing required without a key stops the run before
// anything exists, saying how to set one.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { ofType, runProgram, stackConfig, type ProgramRun } from "../helpers/pulumi.js";

const KEYS = ["k1-0123456789abcdef0123456789abcdef", "k0-fedcba9876543210fedcba9876543210"];
let run: ProgramRun;

function signedLocal(): Record<string, unknown> {
  const config = stackConfig("local");
  const resizer = config["image-origin:resizer"] as Record<string, unknown>;
  config["image-origin:resizer"] = { ...resizer, signing: { required: true, exemptLegacy: true } };
  return config;
}

before(async () => {
  run = await runProgram({ ...signedLocal(), "image-origin:resizerSigningKeys": KEYS }, ["image-origin:resizerSigningKeys"]);
  if (run.error) throw run.error;
});

test("every resizer gets the signing keys in its environment, as a secret, and the policy in plain sight", () => {
  const resizers = ofType(run, "Container").filter((c) => /-resizer\d+$/.test(String(c.inputs.name)));
  assert.ok(resizers.length >= 2);
  for (const r of resizers) {
    const envs = r.inputs.envs as string[];
    assert.ok(envs.includes(`RESIZER_SIGNING_KEYS=${JSON.stringify(KEYS)}`), envs.join("\n"));
    assert.ok(envs.includes('RESIZER_SIGNING={"required":true,"exemptPresets":true,"exemptLegacy":true}'));
    assert.ok(r.secretPaths.some((p) => p === "envs" || p.startsWith("envs.")), `${String(r.inputs.name)}: envs sent as a secret (${r.secretPaths.join()})`);
  }
});

test("signing required without a key registers nothing and says how to set one", async () => {
  const missing = await runProgram(signedLocal());
  assert.equal(missing.resources.length, 0);
  assert.match(missing.error?.message ?? "", /resizerSigningKeys: resizer\.signing\.required needs at least one key \(pulumi config set --secret --path 'resizerSigningKeys\[0\]'/);
  const short = await runProgram({ ...signedLocal(), "image-origin:resizerSigningKeys": ["short"] }, ["image-origin:resizerSigningKeys"]);
  assert.match(short.error?.message ?? "", /resizerSigningKeys\[0\]: at least 32 characters/);
});
