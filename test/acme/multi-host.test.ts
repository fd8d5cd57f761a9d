// Two hosts side by side on loopback (img01 = the issuer on 127.0.0.1, img02 on 127.0.0.2),
// as behind the L4: the ACME server's validation reaches the host that did NOT ask for the
// certificate, whose master forwards it to the issuer's; then the follower's sync agent
// fetches the bundle from the issuer's publisher over mutual TLS and reloads its master.
// Everything is the rendered config or the exact script text the containers run.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:tls";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { renewerPaths, renewerScript, syncClientFiles, syncScript } from "../../infra/acme.js";
import { childrenOf } from "../../infra/local/process.js";
import { parseClusterSpec, type ClusterSpecInput } from "../../infra/config.js";
import { publisherFiles, renderPublisher } from "../../infra/nginx/publisher.js";
import type { ClusterPlan, HostPlan } from "../../infra/topology.js";
import { runAs } from "../helpers/acme.js";
import { makePem, type Pem } from "../helpers/certs.js";
import { reloadCompleted, startNginx, unprivilegedUser, type RunningNginx } from "../helpers/nginx.js";
import { requireTools, startPebble, type Pebble } from "../helpers/pebble.js";
import { freePortMap, handOver, stageCluster, startStagedHost, tempRoot } from "../helpers/stage.js";
import { accessLogEntries } from "../helpers/e2e.js";

const NAME = "image-origin.example.test";
const ADDRESS: Record<string, string> = { img01: "127.0.0.1", img02: "127.0.0.2" };
const input = (server: string): ClusterSpecInput => ({
  hosts: [
    { name: "img01", address: "10.9.0.1", docker: "unix:///var/run/docker.sock" },
    { name: "img02", address: "10.9.0.2", docker: "unix:///var/run/docker.sock" },
  ],
  domains: [{ id: "image-origin", serverNames: [NAME], certificate: "le" }],
  certificates: { le: { mode: "acme", email: "ops@example.test", server } },
  master: { httpPort: 8080, httpsPort: 8443 },
});

const root = tempRoot("acme-multi");
const user = unprivilegedUser();
let pebble: Pebble;
let plan: ClusterPlan;
let issuer: HostPlan;
let follower: HostPlan;
let pebbleRoot: string;
let ca: Pem;
let client: Pem;
const running: RunningNginx[] = [];
let env: Record<string, string>;
const script = (h: HostPlan, name: string) => join(h.acme!.sync.runDir, name);

before(async () => {
  requireTools("certbot", "nginx", "openssl", "setpriv", "curl");
  const port = await freePortMap(parseClusterSpec(input("https://127.0.0.1/dir")));
  // Every name resolves to the follower: the issuer only sees the validation if img02 forwards it.
  pebble = await startPebble(join(root, "pebble"), { httpPort: port(8080), resolveTo: ADDRESS.img02! });
  pebbleRoot = await pebble.root();
  const staged = await stageCluster(parseClusterSpec(input(pebble.directory)), join(root, "cluster"), { port, bindAddress: (h) => ADDRESS[h]! });
  plan = staged.plan;
  [issuer, follower] = plan.hosts as [HostPlan, HostPlan];

  // The internal CA and the certificates Pulumi would make (tls-sync PKI), by openssl here.
  ca = makePem({ names: [], subject: "/CN=image-origin tls-sync CA", isCa: true });
  const server = makePem({ names: [], ips: [ADDRESS.img01!], subject: "/CN=img01", ca });
  client = makePem({ names: [], subject: "/CN=img02", ca });
  const pub = issuer.acme!.publisher!;
  const files = publisherFiles(pub.runDir);
  mkdirSync(files.temp, { recursive: true });
  writeFileSync(files.config, renderPublisher(issuer.acme!, ["le"]));
  writeFileSync(files.server, server.privateKeyPem + server.certificatePem);
  writeFileSync(files.ca, ca.certificatePem);
  const clientFiles = syncClientFiles(follower.acme!.sync.runDir);
  mkdirSync(follower.acme!.sync.runDir, { recursive: true });
  writeFileSync(clientFiles.ca, ca.certificatePem);
  writeFileSync(clientFiles.cert, client.certificatePem);
  writeFileSync(clientFiles.key, client.privateKeyPem);

  const cert = plan.acme!.certificates[0]!;
  const acme = issuer.acme!;
  const runDir = acme.renewers[0]!.runDir;
  mkdirSync(runDir, { recursive: true });
  mkdirSync(acme.sync.runDir, { recursive: true });
  writeFileSync(join(runDir, "renewer.sh"), renewerScript(cert, acme.renewers[0]!.name, renewerPaths(acme, cert.id)));
  for (const h of plan.hosts) writeFileSync(script(h, "tls-sync.sh"), syncScript(h.acme!, plan.acme!.certificates));
  env = { HOME: runDir, REQUESTS_CA_BUNDLE: pebble.apiCaFile, PATH: `${process.env.PATH}:/usr/sbin:/sbin` };
  handOver(root);

  for (const h of plan.hosts) {
    const started = await startStagedHost(staged, h);
    running.push(...started.slaves, started.master);
  }
  running.push(await startNginx(files.config, `${pub.runDir}/`, { host: pub.listen.address, port: pub.listen.port }));
});

after(async () => {
  for (const r of running.reverse()) await r.stop();
  await pebble?.stop();
  rmSync(root, { recursive: true, force: true });
});

function served(h: HostPlan): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: h.master.https!.address, port: h.master.https!.port, servername: NAME, ca: pebbleRoot }, () => {
      resolve(s.getPeerX509Certificate()!);
      s.end();
    });
    s.on("error", reject);
  });
}

/** GET a bundle from the publisher the way a follower would, or not quite. */
function fetchBundle(options: { cert?: Pem; from: string }): Promise<number> {
  const pub = issuer.acme!.publisher!;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: pub.listen.address,
        port: pub.listen.port,
        path: "/le.pem",
        ca: ca.certificatePem,
        localAddress: options.from,
        ...(options.cert && { cert: options.cert.certificatePem, key: options.cert.privateKeyPem }),
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("acme across hosts behind a round-robin L4", () => {
  test("the validation lands on the follower, whose master forwards it to the issuer: issued once for both", async () => {
    const issue = await runAs(user, join(issuer.acme!.renewers[0]!.runDir, "renewer.sh"), ["once"], env);
    assert.equal(issue.status, 0, `${issue.stderr}\n${pebble.output().slice(-1500)}`);
    // The master's access log is buffered: its line arrives within the flush interval.
    const isForwarded = (e: Record<string, unknown>) => e.method === "GET" && String(e.path).startsWith("/.well-known/acme-challenge/") && e.status === 200 && e.route === "acme";
    let forwarded = accessLogEntries(follower.master.paths.accessLog).filter(isForwarded);
    for (let i = 0; i < 40 && forwarded.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      forwarded = accessLogEntries(follower.master.paths.accessLog).filter(isForwarded);
    }
    assert.ok(
      forwarded.some((e) => /^127\.0\.0\.1:\d+$/.test(String(e.upstream)) && e.upstream_status === "200"),
      `img02 answered the ACME server with img01's file: ${JSON.stringify(forwarded)}`,
    );
    console.log(`ACME across two hosts: issued in ${issue.seconds.toFixed(1)} s, validated through img02 -> img01`);
  });

  test("the publisher serves the bundle to a follower with its client certificate only, and only from a host's address", async () => {
    assert.equal(await fetchBundle({ cert: client, from: ADDRESS.img02! }), 200);
    assert.equal(await fetchBundle({ from: ADDRESS.img02! }), 400, "no client certificate");
    const stranger = makePem({ names: [], subject: "/CN=img02" });
    assert.equal(await fetchBundle({ cert: stranger, from: ADDRESS.img02! }), 400, "a client certificate of another CA");
    assert.equal(await fetchBundle({ cert: client, from: "127.0.0.3" }), 403, "not one of the hosts");
  });

  test("each host's sync agent installs the same certificate and reloads its own master", async () => {
    for (const h of plan.hosts) {
      const before = readFileSync(h.master.paths.pid, "utf8");
      const workers = childrenOf(Number(before));
      const r = await runAs(user, script(h, "tls-sync.sh"), ["once"], env);
      assert.equal(r.status, 0, `${h.name}: ${r.stderr}`);
      assert.match(r.stderr, /le: installed .* reloaded nginx/s);
      await reloadCompleted(Number(before), workers);
      assert.equal(readFileSync(h.master.paths.pid, "utf8"), before, `${h.name}: reloaded, not restarted`);
    }
    const [a, b] = await Promise.all(plan.hosts.map(served));
    assert.match(a!.issuer, /Pebble/);
    assert.equal(a!.fingerprint256, b!.fingerprint256, "one issuance, the same certificate on every host");
  });
});
