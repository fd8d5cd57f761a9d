// A supplied certificate that nginx would refuse, or clients would reject, stops the run
// before a single resource is registered, with every problem listed by its config path.
import assert from "node:assert/strict";
import { test } from "node:test";
import { makePem } from "../helpers/certs.js";
import { prodWithSuppliedCertificate, runProgram } from "../helpers/pulumi.js";

test("an expired chain missing a server name, with someone else's key, registers zero resources", async () => {
  const { config, secretKeys } = prodWithSuppliedCertificate();
  const expired = makePem({ names: ["image-origin.tving.com"], days: -1 });
  const stranger = makePem({ names: ["*.tving.com"] });
  const certificates = structuredClone(config["image-origin:certificates"]) as Record<string, Record<string, unknown>>;
  certificates["star-tving"]!.certificate = expired.certificatePem;
  config["image-origin:certificates"] = certificates;
  config["image-origin:tlsPrivateKeys"] = { "star-tving": stranger.privateKeyPem, "old-cert": stranger.privateKeyPem };

  const run = await runProgram(config, secretKeys);
  assert.equal(run.resources.length, 0, run.resources.map((r) => r.name).join());
  const message = run.error?.message ?? "";
  assert.match(message, /\n {2}certificates\.star-tving\.certificate: the certificate expired on /);
  assert.match(message, /\n {2}certificates\.star-tving\.certificate: does not cover stillshot-origin\.tving\.com/);
  assert.match(message, /\n {2}tlsPrivateKeys\.star-tving: does not match the certificate in certificates\.star-tving\.certificate/);
  assert.match(message, /\n {2}tlsPrivateKeys\.old-cert: there is no supplied certificate "old-cert"/);
  assert.doesNotMatch(message, /PRIVATE KEY|BEGIN/);
  assert.ok(!message.includes(stranger.privateKeyPem.split("\n")[1]!.slice(0, 24)), "no key material in the error");
});
