// A supplied certificate without its secret key stops the run before anything exists,
// and says which command sets it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runProgram, stackConfig } from "../helpers/pulumi.js";

test("prod without tlsPrivateKeys registers zero resources and says how to set the key", async () => {
  const config = stackConfig("prod");
  delete config["image-origin:tlsPrivateKeys"];
  const run = await runProgram(config);
  assert.equal(run.resources.length, 0, run.resources.map((r) => r.name).join());
  assert.match(run.error?.message ?? "", /tlsPrivateKeys\.star-tving: certificate "star-tving" is supplied but its private key is not set/);
  assert.match(run.error?.message ?? "", /pulumi config set --secret --path 'tlsPrivateKeys\.star-tving'/);
});
