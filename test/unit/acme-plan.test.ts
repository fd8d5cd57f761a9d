// The ACME part of the plan: one issuer (the first host), what every host runs, where each
// takes its certificates from, and where the masters read them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseClusterSpec, ConfigError, TLS_SYNC_PORT } from "../../infra/config.js";
import { CONTAINER, LETS_ENCRYPT, certbotPluginImage, certificatePaths, planCluster } from "../../infra/topology.js";

const hosts = [
  { name: "img01", address: "172.18.141.51", docker: "ssh://deploy@172.18.141.51" },
  { name: "img02", address: "172.18.141.52", docker: "ssh://deploy@172.18.141.52" },
  { name: "img03", address: "172.18.141.53", docker: "ssh://deploy@172.18.141.53" },
];
const spec = (certificates: Record<string, unknown>, more: Record<string, unknown> = {}) =>
  parseClusterSpec({
    hosts,
    domains: [
      { id: "image-origin", serverNames: ["image-origin.tving.com"], certificate: "web" },
      { id: "stillshot-origin", serverNames: ["stillshot-origin.tving.com"], certificate: "web" },
    ],
    certificates,
    ...more,
  });
const acme = { web: { mode: "acme", email: "ops@tving.com" } };

describe("acme plan (containers)", () => {
  const plan = planCluster(spec(acme));
  const [issuer, ...followers] = plan.hosts;

  test("the first host issues for the cluster, against Let's Encrypt production by default", () => {
    assert.equal(plan.acme?.issuer, "img01");
    assert.deepEqual(plan.acme?.certificates, [
      {
        id: "web",
        names: ["image-origin.tving.com", "stillshot-origin.tving.com"],
        email: "ops@tving.com",
        server: LETS_ENCRYPT.production,
        challenge: "http-01",
        renewBeforeDays: 30,
        image: "certbot/certbot:v4.0.0",
      },
    ]);
    assert.equal(issuer!.acme?.role, "issuer");
    assert.deepEqual(issuer!.acme?.renewers.map((r) => r.name), ["img01-certbot-web"]);
    for (const f of followers) assert.deepEqual([f.acme?.role, f.acme?.renewers], ["follower", []]);
  });

  test("every master reads one bundle from its host's acme volume", () => {
    assert.deepEqual(certificatePaths(plan, "web"), { certificate: `${CONTAINER.acmeDir}/live/web.pem`, key: `${CONTAINER.acmeDir}/live/web.pem` });
    for (const h of plan.hosts) {
      assert.equal(h.volumes.acme, `${h.name}-acme`);
      assert.equal(h.master.paths.acmeWebroot, `${CONTAINER.acmeDir}/webroot`);
    }
  });

  test("followers forward challenges to the issuer's published HTTP port; the issuer answers itself", () => {
    assert.equal(issuer!.master.acmeFallback, undefined);
    for (const f of followers) assert.deepEqual(f.master.acmeFallback, { address: "172.18.141.51", port: 80 });
  });

  test("the issuer installs from its own outbox, the others from its publisher over mutual TLS, allowed by address", () => {
    assert.deepEqual(issuer!.acme?.sync.sources, [{ id: "web", from: { kind: "file", path: `${CONTAINER.acmeDir}/outbox/web.pem` } }]);
    for (const f of followers) {
      assert.deepEqual(f.acme?.sync.sources, [{ id: "web", from: { kind: "url", url: `https://172.18.141.51:${TLS_SYNC_PORT}/web.pem` } }]);
      assert.equal(f.acme?.publisher, undefined);
      assert.equal(f.acme?.sync.masterPidFile, undefined, "in a container the master is PID 1 of the shared namespace");
    }
    assert.deepEqual(issuer!.acme?.publisher, {
      name: "img01-tls-publish",
      listen: { address: "0.0.0.0", port: TLS_SYNC_PORT },
      publish: { address: "172.18.141.51", port: TLS_SYNC_PORT },
      allow: ["172.18.141.52", "172.18.141.53"],
      runDir: CONTAINER.acmeRunDir,
      accessLog: "/dev/stdout",
    });
  });

  test("staging, a custom server and dns-01 plugins pick the directory and the image", () => {
    const p = planCluster(
      spec(
        { web: { mode: "acme", email: "ops@tving.com", staging: true }, star: { mode: "acme", email: "ops@tving.com", challenge: "dns-01", dnsPlugin: "route53", server: "https://acme.internal/dir" } },
        {
          domains: [
            { id: "image-origin", serverNames: ["image-origin.tving.com"], certificate: "web" },
            { id: "all", serverNames: ["*.img.tving.com"], certificate: "star" },
          ],
        },
      ),
    );
    assert.deepEqual(p.acme?.certificates.map((c) => [c.id, c.server, c.image]), [
      ["web", LETS_ENCRYPT.staging, "certbot/certbot:v4.0.0"],
      ["star", "https://acme.internal/dir", "certbot/dns-route53:v4.0.0"],
    ]);
    assert.deepEqual(p.acme?.images, ["certbot/certbot:v4.0.0", "certbot/dns-route53:v4.0.0"]);
    assert.equal(certbotPluginImage("registry.local:5000/mirror/certbot:v4.0.0@sha256:" + "a".repeat(64), "ovh"), "registry.local:5000/mirror/dns-ovh:v4.0.0@sha256:" + "a".repeat(64));
  });

  test("without acme certificates nothing of this exists", () => {
    const p = planCluster(spec({ web: { mode: "selfSigned" } }));
    assert.equal(p.acme, undefined);
    for (const h of p.hosts) assert.deepEqual([h.acme, h.volumes.acme, h.master.acmeFallback], [undefined, undefined, undefined]);
  });
});

describe("acme plan (local target, hosts side by side on loopback)", () => {
  const plan = planCluster(spec(acme), { kind: "local", root: "/w", port: (p) => p + 10000, bindAddress: (h) => `127.0.0.${Number(h.slice(-2))}` });

  test("each host binds its own loopback address; followers reach the issuer's there", () => {
    assert.deepEqual(plan.hosts.map((h) => h.master.http.address), ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    assert.deepEqual(plan.hosts[1]!.master.acmeFallback, { address: "127.0.0.1", port: 10080 });
    assert.deepEqual(plan.hosts[2]!.acme?.sync.sources[0]?.from, { kind: "url", url: `https://127.0.0.1:${TLS_SYNC_PORT + 10000}/web.pem` });
    assert.deepEqual(plan.hosts[0]!.acme?.publisher?.allow, ["127.0.0.2", "127.0.0.3"]);
  });

  test("the sync agent reloads the master through its pid file; everything lives under the host's directory", () => {
    const h = plan.hosts[1]!;
    assert.equal(h.acme?.sync.masterPidFile, h.master.paths.pid);
    assert.equal(h.acme?.sync.sourceAddress, "127.0.0.2", "a follower fetches from its own address");
    assert.equal(h.acme?.dir, "/w/img02/acme");
    assert.equal(h.acme?.sync.runDir, "/w/img02/run/img02-tls-sync");
  });
});

describe("acme config", () => {
  const problems = (certificates: Record<string, unknown>, more: Record<string, unknown> = {}) => {
    try {
      spec(certificates, more);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  test("staging and a custom server together are refused", () => {
    assert.deepEqual(problems({ web: { mode: "acme", email: "a@b.co", staging: true, server: "https://x.test/dir" } }), [
      "certificates.web.staging: staging picks Let's Encrypt's staging directory and server names another one: set only one",
    ]);
  });

  test("a DNS plugin without an official image, or a plain-http server, is refused", () => {
    assert.match(problems({ web: { mode: "acme", email: "a@b.co", challenge: "dns-01", dnsPlugin: "godaddy" } })[0]!, /^certificates\.web\.dnsPlugin: one of certbot's DNS plugins with an official image: cloudflare, /);
    assert.match(problems({ web: { mode: "acme", email: "a@b.co", server: "http://x.test/dir" } })[0]!, /^certificates\.web\.server: an https:\/\/ ACME directory URL/);
  });

  test("the master cannot publish on the issuer's certificate port", () => {
    assert.deepEqual(problems(acme, { master: { httpPort: 80, httpsPort: TLS_SYNC_PORT } }), [
      `master.httpsPort: port ${TLS_SYNC_PORT} is where the ACME issuer host publishes certificates to the other hosts`,
    ]);
  });
});
