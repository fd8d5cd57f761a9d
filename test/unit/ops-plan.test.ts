// The ops side of a host's plan: where the agent listens and is published, what each nginx
// instance gives it (private stub_status, syslog to the agent's address), and the agent's
// configuration, in containers and on loopback; and the preview warning for a stack no
// Prometheus may scrape.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { preflight } from "../../infra/program.js";
import { planCluster } from "../../infra/topology.js";
import { stackSpec } from "../helpers/stage.js";

const prod = stackSpec("Pulumi.prod.yaml");

describe("the ops plan", () => {
  test("containers: the agent at .3 on the host's network, its port published on the host's address only", () => {
    const host = planCluster(prod).hosts[2]!;
    assert.deepEqual({ ip: host.ops.ip, listen: host.ops.listen, publish: host.ops.publish }, { ip: "10.213.0.3", listen: { address: "0.0.0.0", port: 9145 }, publish: { address: "172.18.141.53", port: 9145 } });
    assert.deepEqual(host.master.ops, { status: { address: "0.0.0.0", port: 9146 }, agent: "10.213.0.3", syslog: { address: "10.213.0.3", port: 9145 }, tag: "master" });
    assert.deepEqual(host.slaves.map((s) => [s.ops.status.port, s.ops.tag]), [[9147, "slave01"], [9148, "slave02"]]);
    const c = host.ops.config;
    assert.deepEqual(c.syslog.sources, ["10.213.0.2", "10.213.0.11", "10.213.0.12"], "the master's and slaves' addresses only");
    assert.deepEqual(c.nginx.map((n) => n.status), ["http://10.213.0.2:9146/stub_status", "http://10.213.0.11:9147/stub_status", "http://10.213.0.12:9148/stub_status"]);
    assert.deepEqual(c.resizers.map((r) => r.metrics), ["http://10.213.0.41:9000/metrics", "http://10.213.0.42:9001/metrics", "http://10.213.0.43:9002/metrics", "http://10.213.0.44:9003/metrics"]);
    assert.deepEqual(c.upstreams[0], { address: "10.213.0.11:8001", upstream: "image_slaves", member: "slave01" });
    assert.deepEqual(c.tls, [{ certificate: "star-tving", serverName: "image-origin.tving.com", host: "10.213.0.2", port: 8443 }]);
    assert.equal(c.acme, undefined, "a supplied certificate has no renewer");
    assert.deepEqual(host.ops.paths.resizers.map((r) => r.path), ["/metrics/resizer01", "/metrics/resizer02", "/metrics/resizer03", "/metrics/resizer04"]);
  });

  test("acme: the issuer's agent reads its renewers' results from the acme volume; the followers' do not", () => {
    const acme = structuredClone(prod);
    acme.certificates = { "star-tving": { mode: "acme", email: "ops@tving.com", challenge: "http-01", staging: false, renewBeforeDays: 30 } };
    const plan = planCluster(acme);
    const [issuer, follower] = plan.hosts;
    assert.deepEqual(issuer!.ops.config.acme, { statusDir: issuer!.acme!.statusDir, certificates: ["star-tving"] });
    assert.equal(issuer!.ops.acmeDir, issuer!.acme!.dir);
    assert.equal(follower!.ops.config.acme, undefined);
    assert.equal(follower!.ops.acmeDir, undefined);
  });

  test("loopback: everything on the bind address, every port through the target's remap, no publishing", () => {
    const local = stackSpec("Pulumi.local.yaml");
    const host = planCluster(local, { kind: "local", root: "/w", port: (p) => p + 10000 }).hosts[0]!;
    assert.deepEqual([host.ops.ip, host.ops.publish, host.ops.listen], [undefined, undefined, { address: "127.0.0.1", port: 19145 }]);
    assert.deepEqual(host.master.ops.syslog, { address: "127.0.0.1", port: 19145 });
    assert.deepEqual(host.master.ops.status, { address: "127.0.0.1", port: 19146 });
    assert.equal(host.ops.workDir, "/w/local/ops");
    assert.equal(host.ops.config.nginx[1]!.status, "http://127.0.0.1:19147/stub_status");
  });
});

describe("pulumi preview's warning", () => {
  const secrets = { tlsPrivateKeys: {}, acmeDnsCredentials: {} };
  const local = stackSpec("Pulumi.local.yaml");
  const remote = { ...local, certificates: { local: { mode: "selfSigned" as const, validityDays: 825 } }, hosts: [{ ...local.hosts[0]!, docker: "ssh://deploy@127.0.0.1" }] };

  test("hosts over ssh with an empty ops.allow: no Prometheus can scrape them", () => {
    assert.deepEqual(preflight({ spec: remote, secrets }).warnings, [
      "ops.allow is empty: the hosts' ops listeners answer no Prometheus (set your monitoring network's CIDR; npm run status still reads them through ssh)",
    ]);
  });

  test("quiet once a monitoring network is allowed, and for this machine's own engine", () => {
    assert.deepEqual(preflight({ spec: { ...remote, ops: { ...remote.ops, allow: ["172.18.140.0/24"] } }, secrets }).warnings, []);
    assert.deepEqual(preflight({ spec: local, secrets }).warnings, []);
  });
});
