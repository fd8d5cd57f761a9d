// The local stack under Pulumi mocks: one host on this machine's engine, a self-signed
// certificate generated as resources (stable across `up`s), ports 8080/8443 on loopback.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { certificateFacts } from "../../infra/certs.js";
import { installedFiles, named, ofType, runProgram, stackConfig, type ProgramRun } from "../helpers/pulumi.js";

let run: ProgramRun;
before(async () => {
  run = await runProgram(stackConfig("local"));
  if (run.error) throw run.error;
});

const container = (name: string) => ofType(run, "Container").find((c) => c.inputs.name === name)!;

describe("local stack", () => {
  test("the host's provider is the local engine and images are not streamed to it", () => {
    assert.equal(named(run, "local-docker").inputs.host, "unix:///var/run/docker.sock");
    for (const image of ["resizer", "nginx"]) {
      const delivery = named(run, `local-images-${image}`).inputs.create as string;
      assert.doesNotMatch(delivery, /docker save/);
      assert.match(delivery, /docker -H unix:\/\/\/var\/run\/docker.sock image inspect/);
    }
    assert.match(named(run, "local-images-resizer").inputs.create, /docker -H unix:\/\/\/var\/run\/docker.sock build --quiet -f \.\.\/resizer\/Dockerfile -t image-origin\/resizer:[0-9a-f]{16} \.\./);
  });

  test("without a vip there is no L4 to drain from or wait for: no drain, a gate that passes at the first 200", () => {
    assert.equal(run.resources.find((r) => r.name === "local-master-drain"), undefined);
    assert.doesNotMatch(named(run, "local-healthy").inputs.create, /passed|sleep [0-9]+\n?$/);
  });

  test("the master publishes 8080/8443 on loopback only", () => {
    assert.deepEqual(container("local-master").inputs.ports, [
      { internal: 8080, external: 8080, ip: "127.0.0.1" },
      { internal: 8443, external: 8443, ip: "127.0.0.1" },
    ]);
  });

  test("the self-signed certificate covers every local server name and its key is only ever a secret", () => {
    const cert = named(run, "cert-local-cert");
    assert.deepEqual(cert.inputs.dnsNames, ["image-origin.localhost", "localhost", "stillshot-origin.localhost"]);
    assert.equal(cert.inputs.validityPeriodHours, 825 * 24);
    assert.ok(cert.secretPaths.includes("privateKeyPem"), "the key reaches the certificate as a secret");
    assert.match(installedFiles(run, "local-master").get("/etc/image-origin/tls/local.key")!, /PRIVATE KEY/);
    const installer = container("local-master-files");
    const keyIndex = (installer.inputs.uploads as { file: string }[]).findIndex((u) => u.file === "/staging/tls/local.key");
    assert.ok(installer.secretPaths.some((p) => p === "uploads" || p === `uploads.${keyIndex}.content`), installer.secretPaths.join());
  });

  test("the certificate is declared from the config alone, so later `up`s keep it (no new key, no master restart)", () => {
    // Nothing time-dependent or random is an input: the provider's state is reused until the
    // names or the validity change, or renewal is due (30 days before expiry).
    const key = named(run, "cert-local-key");
    assert.deepEqual(key.inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = named(run, "cert-local-cert");
    const { privateKeyPem: _key, ...rest } = cert.inputs;
    assert.deepEqual(rest, {
      subject: { commonName: "image-origin.localhost", organization: "image-origin (self-signed)" },
      dnsNames: ["image-origin.localhost", "localhost", "stillshot-origin.localhost"],
      validityPeriodHours: 825 * 24,
      earlyRenewalHours: 30 * 24,
      allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    });
    assert.ok(key.dependencies.length === 0 && cert.dependencies.includes(key.urn));
  });

  test("stack outputs: where the master reads it, the fingerprint and expiry of the certificate the provider returned, delivered unchanged", () => {
    // What the program does with the provider's result (the mock's SelfSignedCert state):
    // installs exactly that chain for the master and reports its facts, never re-derived.
    const provided = named(run, "cert-local-cert").state.certPem as string;
    assert.match(provided, /^-----BEGIN CERTIFICATE-----/);
    assert.equal(installedFiles(run, "local-master").get("/etc/image-origin/tls/local.crt"), provided);
    const facts = certificateFacts(provided);
    const out = (run.outputs.certificates as Record<string, any>).local;
    assert.deepEqual(out, {
      mode: "selfSigned",
      names: ["image-origin.localhost", "localhost", "stillshot-origin.localhost"],
      paths: { certificate: "/etc/image-origin/tls/local.crt", key: "/etc/image-origin/tls/local.key" },
      fingerprint: facts.fingerprint,
      notAfter: facts.notAfter,
    });
    // And the key that goes with it is the one the program generated (tls.PrivateKey).
    assert.equal(installedFiles(run, "local-master").get("/etc/image-origin/tls/local.key"), named(run, "cert-local-key").state.privateKeyPem);
  });

  test("the images tree of the local stack is bind-mounted read-only", () => {
    assert.deepEqual(container("local-slave01").inputs.mounts[0], { type: "bind", source: "/var/lib/image-origin/images", target: "/images", readOnly: true });
    assert.deepEqual(container("local-resizer01").inputs.mounts, [{ type: "bind", source: "/var/lib/image-origin/images", target: "/images", readOnly: true }]);
  });

  test("no output carries key material", () => {
    assert.doesNotMatch(JSON.stringify(run.outputs), /PRIVATE KEY/);
    assert.equal(run.outputs.vip, null);
    assert.equal(run.outputs.rollout, "parallel");
  });
});
