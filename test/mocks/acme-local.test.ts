// One host with a Let's Encrypt certificate (the local stack switched to acme): the host is
// its own issuer, so there is nothing to forward or publish, and no internal CA.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { installedFiles, ofType, runProgram, stackConfig, type ProgramRun } from "../helpers/pulumi.js";

let run: ProgramRun;
before(async () => {
  const config = stackConfig("local");
  config["image-origin:certificates"] = { local: { mode: "acme", email: "ops@example.com", staging: true } };
  run = await runProgram(config);
  if (run.error) throw run.error;
});

test("a single host issues, installs and reloads by itself: renewer, bootstrap and sync agent, no publisher, no CA", () => {
  const names = ofType(run, "Container").map((c) => c.inputs.name as string);
  assert.ok(["local-certbot-local", "local-acme-init", "local-tls-sync"].every((n) => names.includes(n)), names.join());
  assert.ok(!names.includes("local-tls-publish"));
  assert.equal(ofType(run, "LocallySignedCert").length, 0);
  assert.equal(ofType(run, "SelfSignedCert").length, 0, "no self-signed certificate either: the bootstrap is made on the host");
  const sync = ofType(run, "Container").find((c) => c.inputs.name === "local-tls-sync")!;
  assert.equal(sync.inputs.envs, undefined);
  assert.match(sync.inputs.command[0], /install local \/var\/lib\/image-origin\/acme\/outbox\/local\.pem/);
  const conf = installedFiles(run, "local-master").get("/etc/image-origin/nginx.conf")!;
  assert.doesNotMatch(conf, /@acme_issuer/);
  assert.match(conf, /ssl_certificate \/var\/lib\/image-origin\/acme\/live\/local\.pem;/);
  const out = (run.outputs.certificates as Record<string, any>).local;
  assert.equal(out.acme.server, "https://acme-staging-v02.api.letsencrypt.org/directory");
});
