// The self-signed mode for real: the certificates and keys the Pulumi program would upload
// into the master (taken from the mocked program run, generated from exactly the inputs
// it declares), served by the rendered master config with real nginx on loopback, and
// checked the way an operator would, with `openssl s_client`.
import assert from "node:assert/strict";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { certificateFacts } from "../../infra/certs.js";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { certificatePaths, planCluster, type HostPlan } from "../../infra/topology.js";
import type { RunningNginx } from "../helpers/nginx.js";
import { installedFiles, named, runProgram, stackConfig, type ProgramRun } from "../helpers/pulumi.js";
import { handOver, stageCluster, startStagedHost, tempRoot } from "../helpers/stage.js";
import { handshake } from "../helpers/tls.js";

// The local stack with a second self-signed certificate for the stillshot domain, so SNI
// has two certificates to choose from.
const config = stackConfig("local");
config["image-origin:certificates"] = { local: { mode: "selfSigned", validityDays: 825 }, stills: { mode: "selfSigned", validityDays: 90 } };
const domains = structuredClone(config["image-origin:domains"]) as { certificate?: string }[];
domains[1]!.certificate = "stills";
config["image-origin:domains"] = domains;
const spec = parseClusterSpec(fromStackConfig(config));

const root = tempRoot("tls-self-signed");
let run: ProgramRun;
let host: HostPlan;
const running: RunningNginx[] = [];
/** The chains the program uploads, per certificate id. */
const uploaded: Record<string, string> = {};

before(async () => {
  run = await runProgram(config);
  if (run.error) throw run.error;
  const staged = await stageCluster(spec, root);
  host = staged.plan.hosts[0]!;
  // Replace the staging helper's stand-in certificates with the program's uploads.
  const installed = installedFiles(run, "local-master");
  const containerPlan = planCluster(spec);
  for (const id of ["local", "stills"]) {
    const inContainer = certificatePaths(containerPlan, id);
    const local = certificatePaths(staged.plan, id);
    uploaded[id] = installed.get(inContainer.certificate)!;
    writeFileSync(local.certificate, uploaded[id]);
    writeFileSync(local.key, installed.get(inContainer.key)!);
  }
  handOver(root);
  for (const id of ["local", "stills"]) chmodSync(certificatePaths(staged.plan, id).key, 0o400);
  const started = await startStagedHost(staged, host, host.master.https!);
  running.push(...started.slaves, started.master);
});

after(async () => {
  for (const r of running.reverse()) await r.stop();
  rmSync(root, { recursive: true, force: true });
});

const https = () => host.master.https!;

describe("self-signed certificates served by the rendered master", () => {
  test("TLS 1.3 and TLS 1.2 are accepted", () => {
    for (const version of ["tls1_3", "tls1_2"] as const) {
      const h = handshake(https().address, https().port, "image-origin.localhost", version);
      assert.equal(h.protocol, version === "tls1_3" ? "TLSv1.3" : "TLSv1.2", h.output);
    }
  });

  test("TLS 1.0 and 1.1 are refused by the server with a protocol_version alert", () => {
    for (const version of ["tls1", "tls1_1"] as const) {
      const h = handshake(https().address, https().port, "image-origin.localhost", version);
      assert.equal(h.protocol, undefined, h.output);
      assert.ok(h.refusedVersion, `expected the server's alert 70 for ${version}:\n${h.output}`);
    }
  });

  test("control: the same client does complete TLS 1.1 with a server that allows it", async () => {
    // Proves the refusal above comes from nginx, not from the client's own settings.
    const cert = certificatePaths(planCluster(spec, { kind: "local", root, imagesDir: `${root}/images` }), "local");
    const server = spawn("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", cert.certificate, "-key", cert.key, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], { stdio: ["pipe", "pipe", "pipe"] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        server.stdout.on("data", (b: Buffer) => {
          out += b.toString();
          const m = /ACCEPT\s+127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        server.once("exit", (code) => reject(new Error(`openssl s_server exited ${code}: ${out}`)));
      });
      const h = handshake("127.0.0.1", port, "image-origin.localhost", "tls1_1");
      assert.equal(h.protocol, "TLSv1.1", h.output);
    } finally {
      server.kill();
    }
  });

  test("each server_name gets its own certificate (SNI); unknown names get the default domain's", () => {
    const expect = (name: string, id: string) => {
      const h = handshake(https().address, https().port, name, "tls1_3");
      assert.equal(h.certificate?.fingerprint256, certificateFacts(uploaded[id]!).fingerprint, `${name} should get "${id}"`);
      return h.certificate!;
    };
    const main = expect("image-origin.localhost", "local");
    expect("localhost", "local");
    const stills = expect("stillshot-origin.localhost", "stills");
    expect("unknown.example", "local");
    assert.ok(main.checkHost("image-origin.localhost") && main.checkHost("localhost"));
    assert.ok(stills.checkHost("stillshot-origin.localhost"));
    assert.equal(stills.checkHost("image-origin.localhost"), undefined);
  });

  test("the master serves exactly what the provider returned for what the program declared; the outputs report it", () => {
    for (const [id, names, days] of [["local", ["image-origin.localhost", "localhost"], 825], ["stills", ["stillshot-origin.localhost"], 90]] as const) {
      const cert = named(run, `cert-${id}-cert`);
      // Declared: the names of the domains using it and the configured validity.
      assert.deepEqual(cert.inputs.dnsNames, names);
      assert.equal(cert.inputs.validityPeriodHours, days * 24);
      // Delivered: the provider's certificate, unchanged, is what nginx serves (SNI test above).
      assert.equal(uploaded[id], cert.state.certPem, `${id}: the uploaded chain is the provider's`);
      const out = (run.outputs.certificates as Record<string, { fingerprint: string; notAfter: string }>)[id]!;
      assert.deepEqual([out.fingerprint, out.notAfter], [certificateFacts(cert.state.certPem).fingerprint, certificateFacts(cert.state.certPem).notAfter]);
    }
  });
});
