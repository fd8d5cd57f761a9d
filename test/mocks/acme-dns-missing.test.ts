// A dns-01 certificate without its plugin's credentials stops the run before anything
// exists, and says how to set them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runProgram, stackConfig } from "../helpers/pulumi.js";

test("dns-01 without acmeDnsCredentials registers zero resources and names the command", async () => {
  const config = stackConfig("local");
  config["image-origin:certificates"] = { local: { mode: "acme", email: "ops@example.com", challenge: "dns-01", dnsPlugin: "route53" } };
  const run = await runProgram(config);
  assert.equal(run.resources.length, 0, run.resources.map((r) => r.name).join());
  assert.match(run.error?.message ?? "", /acmeDnsCredentials\.local: certificate "local" uses dns-01 with the route53 plugin but its credentials are not set \(pulumi config set --secret --path 'acmeDnsCredentials\.local' -- "\$\(cat route53\.ini\)"\)/);
});
