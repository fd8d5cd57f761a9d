// Every resource of the acme mock graphs (prod with Let's Encrypt: http-01, and dns-01 with
// its credentials as a secret) passes every rule: renewer, publisher, sync agents, the
// internal CA's keys.
import assert from "node:assert/strict";
import { test } from "node:test";
import { graphViolations, contextOf } from "../helpers/policy.js";
import { ofType, runProgram, stackConfig } from "../helpers/pulumi.js";

function acmeConfig(certificate: Record<string, unknown>): Record<string, unknown> {
  const config = stackConfig("prod");
  config["image-origin:certificates"] = { "star-tving": { mode: "acme", email: "ops@tving.com", ...certificate } };
  delete config["image-origin:tlsPrivateKeys"];
  return config;
}

test("acme http-01: every resource passes every rule", async () => {
  const config = acmeConfig({});
  const run = await runProgram(config);
  if (run.error) throw run.error;
  assert.ok(ofType(run, "Container").some((c) => c.inputs.name === "img01-tls-publish"));
  assert.deepEqual(graphViolations(run, contextOf(config)), []);
});

test("acme dns-01: every resource passes every rule, the credentials included", async () => {
  const config = acmeConfig({ challenge: "dns-01", dnsPlugin: "cloudflare" });
  config["image-origin:acmeDnsCredentials"] = { "star-tving": "dns_cloudflare_api_token = 0123456789abcdef" };
  const run = await runProgram(config, ["image-origin:acmeDnsCredentials"]);
  if (run.error) throw run.error;
  const renewer = ofType(run, "Container").find((c) => c.inputs.name === "img01-certbot-star-tving")!;
  assert.ok(JSON.stringify(renewer.inputs.envs).includes("0123456789abcdef"), "the credentials reach the renewer");
  assert.deepEqual(graphViolations(run, contextOf(config)), []);
});
