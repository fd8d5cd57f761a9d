// The local stack under Pulumi mocks: one host on this machine's engine, a self-signed
// certificate generated as resources (stable across `up`s), ports 8080/8443 on loopback.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
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
    const delivery = named(run, "local-images").inputs.create as string;
    assert.doesNotMatch(delivery, /docker save/);
    assert.match(delivery, /docker -H unix:\/\/\/var\/run\/docker.sock image inspect/);
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
