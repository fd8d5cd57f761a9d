// Seed 004 for real, declared: a rendered master on loopback gets its certificate from an
// ACME server (Let's Encrypt's pebble, validating http-01 through the master's challenge
// location), serves it, and on a forced renewal switches to the new certificate with a
// graceful reload while a steady stream of HTTPS requests loses none. Every script is the
// exact text the containers run (infra/acme.ts), run as an unprivileged user as there.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:tls";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { renewerPaths, renewerScript, syncScript } from "../../infra/acme.js";
import { childrenOf } from "../../infra/local/process.js";
import { parseClusterSpec, type ClusterSpecInput } from "../../infra/config.js";
import type { HostPlan } from "../../infra/topology.js";
import { runAs } from "../helpers/acme.js";
import { startLoad } from "../helpers/load.js";
import { reloadCompleted, unprivilegedUser, type RunningNginx } from "../helpers/nginx.js";
import { requireTools, startPebble, type Pebble } from "../helpers/pebble.js";
import { freePortMap, handOver, stageCluster, startStagedHost, tempRoot } from "../helpers/stage.js";
import { handshake } from "../helpers/tls.js";

const NAMES = { main: "image-origin.example.test", stills: "stillshot-origin.example.test" };
const input = (server: string): ClusterSpecInput => ({
  hosts: [{ name: "edge", address: "127.0.0.1", docker: "unix:///var/run/docker.sock" }],
  domains: [
    { id: "image-origin", serverNames: [NAMES.main], certificate: "le", default: true },
    { id: "stillshot-origin", serverNames: [NAMES.stills], notFoundStatus: 400, certificate: "le" },
  ],
  certificates: { le: { mode: "acme", email: "ops@example.test", server, renewBeforeDays: 30 } },
  master: { httpPort: 8080, httpsPort: 8443 },
});

/**
 * Pebble issues certificates valid this long: inside the stack's renewBeforeDays (30), so a
 * plain check renews them, and beyond the sync agent's alarm (30 - 7 days), so a fresh one
 * reports healthy.
 */
const LIFETIME_DAYS = 25;

const root = tempRoot("acme-pebble");
const user = unprivilegedUser();
let pebble: Pebble;
let host: HostPlan;
let pebbleRoot: string;
const running: RunningNginx[] = [];
let renewer: string;
let renewerLate: string;
let sync: string;
let env: Record<string, string>;

before(async () => {
  requireTools("certbot", "nginx", "openssl", "setpriv");
  // Ports first: pebble must validate on the master's HTTP port.
  const port = await freePortMap(parseClusterSpec(input("https://127.0.0.1/dir")));
  pebble = await startPebble(join(root, "pebble"), { httpPort: port(8080), certificateValidityDays: LIFETIME_DAYS });
  pebbleRoot = await pebble.root();
  const staged = await stageCluster(parseClusterSpec(input(pebble.directory)), join(root, "cluster"), { port });
  host = staged.plan.hosts[0]!;
  const acme = host.acme!;
  const cert = staged.plan.acme!.certificates[0]!;
  const runDir = acme.renewers[0]!.runDir;
  mkdirSync(runDir, { recursive: true });
  mkdirSync(acme.sync.runDir, { recursive: true });
  renewer = join(runDir, "renewer.sh");
  sync = join(acme.sync.runDir, "tls-sync.sh");
  writeFileSync(renewer, renewerScript(cert, acme.renewers[0]!.name, renewerPaths(acme, cert.id)));
  // The same job for a stack that renews later than the certificates' lifetime.
  renewerLate = join(runDir, `renewer-${LIFETIME_DAYS - 5}-days.sh`);
  writeFileSync(renewerLate, renewerScript({ ...cert, renewBeforeDays: LIFETIME_DAYS - 5 }, acme.renewers[0]!.name, renewerPaths(acme, cert.id)));
  writeFileSync(sync, syncScript(acme, staged.plan.acme!.certificates));
  handOver(root);
  env = { HOME: runDir, REQUESTS_CA_BUNDLE: pebble.apiCaFile, PATH: `${process.env.PATH}:/usr/sbin:/sbin` };
  mkdirSync(join(host.master.paths.imagesRoot, "thumbnail"), { recursive: true });
  writeFileSync(join(host.master.paths.imagesRoot, "thumbnail", "t.jpg"), "thumb-bytes");
  handOver(root);
  const started = await startStagedHost(staged, host);
  running.push(...started.slaves, started.master);
});

after(async () => {
  for (const r of running.reverse()) await r.stop();
  await pebble?.stop();
  rmSync(root, { recursive: true, force: true });
});

const https = () => host.master.https!;

/** Polls `done` until it holds (an event), failing after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const masterPid = () => readFileSync(host.master.paths.pid, "utf8").trim();

/** The served certificate for `servername`, verified against pebble's root (name included). */
function served(servername: string): Promise<{ cert: X509Certificate; authorized: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: https().address, port: https().port, servername, ca: pebbleRoot, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate()!;
      resolve({ cert, authorized: socket.authorized, ...(socket.authorizationError && { error: String(socket.authorizationError) }) });
      socket.end();
    });
    socket.on("error", reject);
  });
}

const figures: string[] = [];
after(() => {
  if (figures.length) console.log(`ACME on loopback (pebble, real http-01 validation):\n  ${figures.join("\n  ")}`);
});

describe("acme with a real ACME server (pebble) and the rendered master", () => {
  let issuedSerial = "";

  test("before the first issuance the master serves the host-made bootstrap certificate", async () => {
    const s = await served(NAMES.main);
    assert.match(s.cert.subject, /O=image-origin bootstrap/);
    assert.equal(s.authorized, false);
  });

  test("the renewer issues through the master's challenge location; the sync agent installs it and reloads", async () => {
    const pidBefore = masterPid();
    const workers = childrenOf(Number(pidBefore));
    const issue = await runAs(user, renewer, ["once"], env);
    assert.equal(issue.status, 0, `${issue.stdout}\n${issue.stderr}\n${pebble.output().slice(-2000)}`);
    assert.match(issue.stderr, /Successfully received certificate/);
    figures.push(`first issuance: ${issue.seconds.toFixed(1)} s (certbot certonly through ${NAMES.main}'s /.well-known/acme-challenge/)`);
    const install = await runAs(user, sync, ["once"], env);
    assert.equal(install.status, 0, install.stderr);
    assert.match(install.stderr, /le: installed .* reloaded nginx \(pid \d+\)/s);
    await reloadCompleted(Number(pidBefore), workers);
    assert.equal(masterPid(), pidBefore, "a reload, not a restart");

    for (const name of [NAMES.main, NAMES.stills]) {
      const s = await served(name);
      assert.equal(s.authorized, true, `${name}: ${s.error}`);
      assert.match(s.cert.issuer, /Pebble/);
      issuedSerial = s.cert.serialNumber;
    }
    // As an operator checks it: openssl s_client shows the issued certificate with both names.
    const h = handshake(https().address, https().port, NAMES.stills, "tls1_3");
    assert.equal(h.protocol, "TLSv1.3");
    assert.match(h.certificate!.subjectAltName ?? "", new RegExp(`DNS:${NAMES.main}.*DNS:${NAMES.stills}|DNS:${NAMES.stills}.*DNS:${NAMES.main}`));
    assert.match(h.certificate!.issuer, /Pebble Intermediate/);
    assert.equal(h.certificate!.serialNumber, issuedSerial);
    const check = await runAs(user, sync, ["check"], env);
    assert.equal(check.status, 0, check.stdout);
  });

  test("a forced renewal through the same job switches the master to the new certificate with zero failed requests", async () => {
    const pidBefore = masterPid();
    const load = startLoad({
      address: https().address,
      port: https().port,
      servername: NAMES.main,
      path: "/thumbnail/t.jpg",
      ca: pebbleRoot,
      expect: (status, body) => status === 200 && body === "thumb-bytes",
    });
    await until(() => load.stats.requests >= 50);
    const workers = childrenOf(Number(pidBefore));
    const renew = await runAs(user, renewer, ["once", "--force-renewal"], env);
    const install = await runAs(user, sync, ["once"], env);
    // The reload is done once the old workers are gone; then a hundred answers more.
    await reloadCompleted(Number(pidBefore), workers);
    const answered = load.stats.order.length;
    await until(() => load.stats.order.length >= answered + 100);
    const stats = await load.stop();
    assert.equal(renew.status, 0, renew.stderr);
    assert.equal(install.status, 0, install.stderr);
    assert.match(install.stderr, /reloaded nginx/);

    const now = await served(NAMES.main);
    assert.equal(now.authorized, true, now.error);
    assert.notEqual(now.cert.serialNumber, issuedSerial, "a new certificate");
    assert.equal(masterPid(), pidBefore, "the same nginx master: reloaded, not restarted");
    assert.equal(stats.failed, 0, `failed requests during the reload: ${stats.errors.join("; ")}`);
    assert.ok(stats.requests >= 50, `only ${stats.requests} requests were made`);
    assert.ok((stats.serials.get(issuedSerial) ?? 0) > 0 && (stats.serials.get(now.cert.serialNumber) ?? 0) > 0, "requests were served with the old, then the new certificate");
    // nginx overlaps old and new workers for a moment (both accept), then only the new ones.
    const firstNew = stats.order.indexOf(now.cert.serialNumber);
    const lastOld = stats.order.lastIndexOf(issuedSerial);
    assert.ok(stats.order.slice(-100).every((s) => s === now.cert.serialNumber), "after the reload only the new certificate");
    figures.push(`forced renewal: ${renew.seconds.toFixed(1)} s; install + graceful reload: ${install.seconds.toFixed(2)} s`);
    figures.push(
      `during renewal and reload: ${stats.requests} HTTPS requests (new TLS connection each, verified against pebble's root), ` +
        `${stats.serials.get(issuedSerial)} with the old certificate, ${stats.serials.get(now.cert.serialNumber)} with the new one ` +
        `(old and new workers overlapped for ${Math.max(0, lastOld - firstNew + 1)} responses), ${stats.failed} failed`,
    );
    issuedSerial = now.cert.serialNumber;
  });

  test("without --force-renewal, renewBeforeDays decides: not due with 20 days, renewed with the stack's 30", async () => {
    const before = await served(NAMES.main);
    const lifetime = (Date.parse(before.cert.validTo) - Date.parse(before.cert.validFrom)) / 86_400_000;
    assert.ok(Math.abs(lifetime - LIFETIME_DAYS) < 1, `pebble issued for ${lifetime.toFixed(2)} days`);
    const bundle = join(host.acme!.outboxDir, "le.pem");
    const published = readFileSync(bundle, "utf8");
    const pidBefore = masterPid();

    // renewBeforeDays 20 < 25 days left: the same check leaves the certificate alone.
    const early = await runAs(user, renewerLate, ["once"], env);
    assert.equal(early.status, 0, early.stderr);
    assert.match(early.stderr, /not yet due for renewal/i, early.stderr);
    assert.equal(readFileSync(bundle, "utf8"), published, "nothing new published");
    const idle = await runAs(user, sync, ["once"], env);
    assert.equal(idle.status, 0, idle.stderr);
    assert.doesNotMatch(idle.stderr, /reloaded/);
    assert.equal((await served(NAMES.main)).cert.serialNumber, before.cert.serialNumber);

    // renewBeforeDays 30 > 25 days left: the scheduled check renews, the agent installs it.
    const workers = childrenOf(Number(pidBefore));
    const due = await runAs(user, renewer, ["once"], env);
    assert.equal(due.status, 0, due.stderr);
    assert.doesNotMatch(due.stderr, /not yet due/i);
    assert.notEqual(readFileSync(bundle, "utf8"), published, "a renewed bundle was published");
    const install = await runAs(user, sync, ["once"], env);
    assert.equal(install.status, 0, install.stderr);
    assert.match(install.stderr, /reloaded nginx/);
    await reloadCompleted(Number(pidBefore), workers);
    const after = await served(NAMES.main);
    assert.equal(after.authorized, true, after.error);
    assert.notEqual(after.cert.serialNumber, before.cert.serialNumber, "the renewed certificate is served");
    assert.ok(Date.parse(after.cert.validTo) > Date.parse(before.cert.validTo));
    figures.push(`renewal by renewBeforeDays (certificates valid ${LIFETIME_DAYS} days): not due at 20 days, renewed at 30 in ${due.seconds.toFixed(1)} s`);
    issuedSerial = after.cert.serialNumber;
  });

  test("a renewal whose validation fails is reported with the reason and the master keeps its certificate", async () => {
    // The ACME server now resolves the name to an address where nothing listens.
    await pebble.resolve(NAMES.main, "127.0.0.2");
    try {
      const pidBefore = masterPid();
      const renew = await runAs(user, renewer, ["once", "--force-renewal"], env);
      assert.equal(renew.status, 1);
      const status = readFileSync(join(host.acme!.statusDir, "le"), "utf8");
      assert.match(status, /^failed \S+ certbot exited 1: .*(Connection refused|connection refused|Fetching|Timeout|unauthorized)/i);
      assert.match(renew.stderr, /FAILED \(certbot exit 1\); the masters keep serving their current certificate/);
      const status_ = await runAs(user, renewer, ["status"], env);
      assert.equal(status_.status, 1, "the gate and the healthcheck would report it");
      const install = await runAs(user, sync, ["once"], env);
      assert.equal(install.status, 0, install.stderr);
      assert.doesNotMatch(install.stderr, /reloaded/);
      const s = await served(NAMES.main);
      assert.equal(s.cert.serialNumber, issuedSerial);
      assert.equal(s.authorized, true);
      assert.equal(masterPid(), pidBefore);
      figures.push(`failed renewal (validation refused): reported as "${status.trim().slice(0, 140)}..."; master unchanged`);
    } finally {
      await pebble.resolve(NAMES.main, undefined);
    }
  });
});
