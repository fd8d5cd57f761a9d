// The prod cluster with a Let's Encrypt certificate (http-01) under Pulumi mocks: what
// `pulumi up` would create for issuance, distribution and renewal on the five hosts of
// seed 001, and that no key material is ever plain in state or outputs.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { ISSUANCE_TIMEOUT_SECONDS, initScript, issuanceGateCommand, renewerPaths, renewerScript, syncScript } from "../../infra/acme.js";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { renderPublisher } from "../../infra/nginx/publisher.js";
import { CONTAINER, planCluster } from "../../infra/topology.js";
import { MOCK_ISSUED, installedFiles, named, ofType, plainInputs, runProgram, stackConfig, type ProgramRun, type Registered, mockImageId } from "../helpers/pulumi.js";

const config = stackConfig("prod");
config["image-origin:certificates"] = { "star-tving": { mode: "acme", email: "ops@tving.com", renewBeforeDays: 30 } };
delete config["image-origin:tlsPrivateKeys"];
const plan = planCluster(parseClusterSpec(fromStackConfig(config)));
const [issuer, ...followers] = plan.hosts;
const acme = plan.acme!;
let run: ProgramRun;

before(async () => {
  run = await runProgram(config);
  if (run.error) throw run.error;
});

const container = (name: string): Registered => {
  const found = ofType(run, "Container").filter((c) => c.inputs.name === name);
  assert.equal(found.length, 1, `one container named ${name}`);
  return found[0]!;
};
const providerRef = (host: string) => {
  const p = named(run, `${host}-docker`);
  return `${p.urn}::${p.name}-id`;
};

describe("acme: one issuer, a sync agent on every host", () => {
  test("the first host runs the renewer and the publisher; every host a bootstrap one-shot and a sync agent", () => {
    const acmeContainers = ofType(run, "Container")
      .map((c) => c.inputs.name as string)
      .filter((n) => /-(acme-init|tls-sync|tls-publish|certbot-.*)$/.test(n))
      .sort();
    assert.deepEqual(
      acmeContainers,
      ["img01-certbot-star-tving", "img01-tls-publish", ...plan.hosts.flatMap((h) => [`${h.name}-acme-init`, `${h.name}-tls-sync`])].sort(),
    );
  });

  test("the renewer: certbot's image on the issuer's engine, its script on a schedule, hardened, the acme volume", () => {
    const renewer = container("img01-certbot-star-tving");
    const r = renewer.inputs;
    const paths = renewerPaths(issuer!.acme!, "star-tving");
    assert.equal(paths.runDir, CONTAINER.acmeRunDir);
    assert.equal(renewer.provider, providerRef("img01"));
    assert.equal(r.image, mockImageId("certbot/certbot:v4.0.0"));
    assert.deepEqual(r.command, [renewerScript(acme.certificates[0]!, "img01-certbot-star-tving", paths)]);
    assert.deepEqual(r.entrypoints.slice(0, 2), ["/bin/sh", "-c"]);
    assert.match(r.entrypoints[2], /exec sh \/tmp\/acme\/renewer\.sh loop$/);
    // The schedule: twice a day, hourly after a failure; renewBeforeDays reaches certbot.
    assert.match(r.command[0]!, /if once; then pause 43200; else pause 3600; fi/);
    assert.match(r.command[0]!, /renew_before_expiry = 30 days/);
    assert.match(r.command[0]!, /--server "\$server"/);
    assert.match(r.command[0]!, /\nserver=https:\/\/acme-v02\.api\.letsencrypt\.org\/directory\n/);
    assert.equal(r.user, "101:101");
    assert.equal(r.readOnly, true);
    assert.deepEqual(r.capabilities, { drops: ["ALL"] });
    assert.deepEqual(r.securityOpts, ["no-new-privileges:true"]);
    assert.equal(r.restart, "unless-stopped");
    assert.equal(r.networkMode, "img01-net");
    assert.deepEqual(r.mounts, [{ type: "volume", source: "img01-acme", target: CONTAINER.acmeDir }]);
    assert.deepEqual(Object.keys(r.tmpfs).sort(), ["/etc/letsencrypt", "/tmp/acme", "/var/lib/letsencrypt"]);
    assert.deepEqual(r.healthcheck.tests, ["CMD", "sh", "/tmp/acme/renewer.sh", "health"]);
    assert.equal(r.wait, false);
    assert.equal(renewer.deleteBeforeReplace, true);
  });

  test("the renewer starts once every host's master forwards challenges (all health gates) and its volume is laid out", () => {
    const deps = container("img01-certbot-star-tving").dependencies;
    for (const h of plan.hosts) assert.ok(deps.includes(named(run, `${h.name}-healthy`).urn), `waits for ${h.name}-healthy`);
    assert.ok(deps.includes(container("img01-acme-init").urn));
  });

  test("a gate reports the first issuance to `pulumi up`, asked again when the renewer is replaced", () => {
    const gate = named(run, "cert-star-tving-issued");
    assert.equal(gate.inputs.create, issuanceGateCommand(issuer!, issuer!.acme!.renewers[0]!, "star-tving", ISSUANCE_TIMEOUT_SECONDS));
    assert.match(gate.inputs.create, /ssh -o BatchMode=yes deploy@172\.18\.141\.51 'docker exec img01-certbot-star-tving sh -c .*exec sh \/tmp\/acme\/renewer\.sh status 300/);
    assert.deepEqual(gate.inputs.triggers, ["img01-certbot-star-tving-id"]);
    assert.ok(gate.dependencies.includes(container("img01-certbot-star-tving").urn));
  });

  test("masters read the bundle from the acme volume, read-only, never as an upload; the bootstrap runs first", () => {
    for (const h of plan.hosts) {
      const master = container(h.master.name);
      assert.ok(![...installedFiles(run, h.master.name).keys()].some((f) => f.startsWith(CONTAINER.tlsDir) || f.startsWith(CONTAINER.acmeDir)));
      const acmeMount = master.inputs.mounts.find((m: { source: string }) => m.source === `${h.name}-acme`);
      assert.deepEqual(acmeMount, { type: "volume", source: `${h.name}-acme`, target: CONTAINER.acmeDir, readOnly: true });
      // Its installer checks the new config against the same bundle, after the bootstrap made one.
      const installer = container(`${h.master.name}-files`);
      assert.ok(installer.inputs.mounts.some((m: object) => JSON.stringify(m) === JSON.stringify(acmeMount)));
      const init = container(`${h.name}-acme-init`);
      assert.ok(master.dependencies.includes(init.urn), `${h.master.name} starts after its bootstrap`);
      assert.ok(installer.dependencies.includes(init.urn), `${h.master.name}-files runs after the bootstrap`);
      assert.deepEqual(init.inputs.entrypoints, ["/bin/sh", "-c", initScript(h.acme!, acme.certificates)]);
      assert.equal(init.inputs.image, mockImageId("certbot/certbot:v4.0.0"));
      assert.deepEqual([init.inputs.user, init.inputs.networkMode, init.inputs.readOnly, init.inputs.restart], ["101:101", "none", true, "no"]);
      assert.deepEqual(init.inputs.capabilities, { drops: ["ALL"] });
      // The root one-shot that owns the volumes gives the acme volume to nginx's uid too.
      const owner = container(`${h.name}-cache-owner`);
      assert.deepEqual(owner.inputs.command, ["101:101", CONTAINER.cacheDir, CONTAINER.acmeDir]);
      assert.ok(init.dependencies.includes(owner.urn));
      assert.equal(named(run, `${h.name}-acme`).retainOnDelete, true, "the ACME account and certificates survive a `pulumi destroy`");
    }
  });

  test("reload wiring: each sync agent joins its master's PID namespace (nginx is PID 1) and needs no socket or capability", () => {
    for (const h of plan.hosts) {
      const sync = container(`${h.name}-tls-sync`);
      const s = sync.inputs;
      assert.equal(s.pidMode, `container:${h.master.name}-id`);
      assert.ok(sync.dependencies.includes(container(h.master.name).urn));
      assert.deepEqual(s.command, [syncScript(h.acme!, acme.certificates)]);
      assert.match(s.command[0]!, /kill -HUP "\$pid"/);
      assert.match(s.command[0]!, /else pid=1; fi/);
      assert.equal(s.image, mockImageId("nginx:1.28.0-bookworm"), "nginx -t checks a bundle with the nginx that serves it");
      assert.equal(s.user, "101:101", "the master's uid: allowed to signal it");
      assert.deepEqual(s.capabilities, { drops: ["ALL"] });
      assert.equal(s.readOnly, true);
      assert.ok(!JSON.stringify(s.mounts).includes("docker.sock"));
      assert.deepEqual(s.mounts, [{ type: "volume", source: `${h.name}-acme`, target: CONTAINER.acmeDir }]);
      assert.deepEqual(s.healthcheck.tests, ["CMD", "sh", "/tmp/acme/tls-sync.sh", "check"]);
      assert.equal(s.wait, false);
    }
  });

  test("followers fetch from the issuer over mutual TLS with their own client certificate, delivered only as secrets", () => {
    assert.equal(container("img01-tls-sync").inputs.envs, undefined, "the issuer reads its own outbox");
    assert.match(container("img01-tls-sync").inputs.command[0], /install star-tving \/var\/lib\/image-origin\/acme\/outbox\/star-tving\.pem/);
    for (const f of followers) {
      const sync = container(`${f.name}-tls-sync`);
      assert.match(sync.inputs.command[0], /install star-tving https:\/\/172\.18\.141\.51:8444\/star-tving\.pem/);
      assert.ok(sync.secretPaths.some((p) => p === "envs" || p.startsWith("envs")), sync.secretPaths.join());
      const envs = (sync.inputs.envs as string[]).map((e) => e.split("=")[0]);
      assert.deepEqual(envs, ["TLS_SYNC_CA", "TLS_SYNC_CERT", "TLS_SYNC_KEY"]);
      assert.match((sync.inputs.envs as string[])[2]!, /^TLS_SYNC_KEY=-----BEGIN PRIVATE KEY-----/);
      assert.match(sync.inputs.entrypoints[2], /unset TLS_SYNC_KEY/);
    }
  });

  test("the publisher: the issuer's address on 8444, the followers only, its config rendered from the plan", () => {
    const pub = container("img01-tls-publish");
    assert.deepEqual(pub.inputs.ports, [{ internal: 8444, external: 8444, ip: "172.18.141.51" }]);
    assert.deepEqual(pub.inputs.command, [renderPublisher(issuer!.acme!, ["star-tving"])]);
    for (const f of followers) assert.match(pub.inputs.command[0]!, new RegExp(`allow ${f.address.replace(/\./g, "\\.")};`));
    assert.deepEqual(pub.inputs.mounts, [{ type: "volume", source: "img01-acme", target: CONTAINER.acmeDir, readOnly: true }]);
    assert.ok(pub.secretPaths.some((p) => p.startsWith("envs")));
    assert.deepEqual((pub.inputs.envs as string[]).map((e) => e.split("=")[0]), ["TLS_PUBLISH_SERVER", "TLS_PUBLISH_CA"]);
    assert.deepEqual([pub.inputs.user, pub.inputs.readOnly], ["101:101", true]);
  });

  test("the internal CA: the issuer's certificate names its address, one client certificate per follower", () => {
    const ca = named(run, "tls-sync-ca");
    assert.equal(ca.inputs.isCaCertificate, true);
    assert.deepEqual(named(run, "tls-sync-img01-server-csr").inputs.ipAddresses, ["172.18.141.51"]);
    for (const f of followers) {
      const client = named(run, `tls-sync-${f.name}-client`);
      assert.deepEqual(client.inputs.allowedUses, ["digital_signature", "client_auth"]);
      assert.ok(client.secretPaths.includes("caPrivateKeyPem"));
    }
    assert.equal(ofType(run, "LocallySignedCert").length, 1 + followers.length);
  });

  test("certbot's image reaches every host like the others (closed network), pulled by the operator's engine when it lacks it", () => {
    for (const h of plan.hosts) {
      const delivery = named(run, `${h.name}-images-certbot`);
      assert.deepEqual(delivery.inputs.triggers, ["certbot/certbot:v4.0.0"]);
      assert.match(delivery.inputs.create, /docker pull --quiet certbot\/certbot:v4\.0\.0/);
      assert.match(delivery.inputs.create, /docker save certbot\/certbot:v4\.0\.0 \|/);
    }
  });
});

describe("acme: secrets and outputs", () => {
  test("no resource carries a private key outside a secret", () => {
    for (const r of run.resources) {
      assert.doesNotMatch(JSON.stringify(plainInputs(r)), /-----BEGIN [A-Z ]*PRIVATE KEY-----/, `${r.name} (${r.type}) has a plain private key`);
    }
  });

  test("the stack output: the bundle path, the issuer's renewer and what it issued at this `up`, never a key", () => {
    const out = (run.outputs.certificates as Record<string, any>)["star-tving"];
    const bundle = `${CONTAINER.acmeDir}/live/star-tving.pem`;
    assert.deepEqual(out, {
      mode: "acme",
      names: ["image-origin.tving.com", "stillshot-origin.tving.com"],
      paths: { certificate: bundle, key: bundle },
      fingerprint: /fingerprint=(\S+)/.exec(MOCK_ISSUED)![1],
      notAfter: "2027-02-20T05:00:00Z",
      acme: { issuer: "img01", renewer: "img01-certbot-star-tving", server: "https://acme-v02.api.letsencrypt.org/directory", challenge: "http-01", renewBeforeDays: 30 },
    });
    assert.doesNotMatch(JSON.stringify(run.outputs), /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  });

  test("followers' masters forward challenge requests to the issuer's master; the issuer's answers itself", () => {
    const conf = (h: (typeof plan.hosts)[number]) =>
      installedFiles(run, h.master.name).get(CONTAINER.nginxConfig)!;
    assert.doesNotMatch(conf(issuer!), /@acme_issuer/);
    for (const f of followers) assert.match(conf(f), /proxy_pass http:\/\/172\.18\.141\.51:80;/);
  });
});
