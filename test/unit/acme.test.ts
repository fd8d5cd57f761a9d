// The ACME scripts as text and as behaviour: each is run here, from the exact text the
// containers get, against real openssl and nginx and a fake certbot (the real certbot and
// a real ACME server are in test/acme/). The renewer and the bootstrap also run under
// busybox's shell and applets, as in the Alpine-based certbot image.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  challengeArgs,
  scriptBoot,
  initScript,
  issuanceGateCommand,
  parseRenewerStatus,
  renewerScript,
  syncScript,
  dnsCredentialsPath,
} from "../../infra/acme.js";
import { certificateFacts } from "../../infra/certs.js";
import { parseClusterSpec } from "../../infra/config.js";
import { planCluster, type AcmeCertificatePlan, type HostAcmePlan } from "../../infra/topology.js";
import { busyboxBin, fakeCertbot, runScript, startScript, type Shell } from "../helpers/acme.js";
import { makePem } from "../helpers/certs.js";

const work = mkdtempSync(join(tmpdir(), "acme-unit-"));
after(() => rmSync(work, { recursive: true, force: true }));
const busybox = busyboxBin();
after(() => rmSync(busybox, { recursive: true, force: true }));
const fakes = fakeCertbot(join(work, "fake-bin"));

const NAMES = ["img.example.test", "stills.example.test"];

/** A fresh two-host plan (issuer img01, follower img02) under its own root. */
function fresh(label: string, cert: Record<string, unknown> = {}) {
  const root = join(work, label);
  mkdirSync(root, { recursive: true });
  const spec = parseClusterSpec({
    hosts: [
      { name: "img01", address: "10.0.0.1", docker: "ssh://deploy@10.0.0.1" },
      { name: "img02", address: "10.0.0.2", docker: "ssh://deploy@10.0.0.2" },
    ],
    domains: [{ id: "web", serverNames: NAMES, certificate: "web" }],
    certificates: { web: { mode: "acme", email: "ops@example.test", server: "https://127.0.0.1:14000/dir", ...cert } },
  });
  const plan = planCluster(spec, { kind: "local", root, port: (p) => p + 20000 });
  const issuer = plan.hosts[0]!.acme!;
  const follower = plan.hosts[1]!.acme!;
  const acmeCert = plan.acme!.certificates[0]!;
  return { root, plan, issuer, follower, cert: acmeCert };
}

const value = (file: string, name: string) => new RegExp(`^# ${name}: (.*)$`, "m").exec(readFileSync(file, "utf8"))?.[1];

function renewerPaths(acme: HostAcmePlan) {
  return { certbotDir: acme.certbotDir, webroot: acme.webroot, outboxDir: acme.outboxDir, statusDir: acme.statusDir, runDir: acme.renewers[0]!.runDir };
}

function runRenewer(f: ReturnType<typeof fresh>, args: string[], shell: Shell = "dash", env: Record<string, string> = {}) {
  const runDir = f.issuer.renewers[0]!.runDir;
  mkdirSync(runDir, { recursive: true });
  const log = join(f.root, "certbot.jsonl");
  const r = runScript(join(runDir, "renewer.sh"), renewerScript(f.cert, f.issuer.renewers[0]!.name, renewerPaths(f.issuer)), args, {
    pathDirs: shell === "busybox" ? [busybox, fakes] : [fakes],
    shell,
    env: { FAKE_CERTBOT_LOG: log, ...env },
  });
  const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]) : [];
  return { ...r, calls };
}

function init(f: ReturnType<typeof fresh>, acme: HostAcmePlan, shell: Shell = "dash") {
  mkdirSync(acme.init.runDir, { recursive: true });
  const r = runScript(join(acme.init.runDir, "init.sh"), initScript(acme, f.plan.acme!.certificates), [], { pathDirs: shell === "busybox" ? [busybox] : [], shell });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

for (const shell of ["dash", "busybox"] as const) {
  describe(`bootstrap and renewer (${shell})`, () => {
    test("the init one-shot lays out the volume and installs a self-signed bootstrap for every name, once", () => {
      const f = fresh(`init-${shell}`);
      init(f, f.issuer, shell);
      const bundle = join(f.issuer.liveDir, "web.pem");
      assert.equal(value(bundle, "source"), "bootstrap");
      const facts = certificateFacts(readFileSync(bundle, "utf8"));
      assert.deepEqual(facts.names, NAMES);
      assert.equal(value(bundle, "fingerprint"), facts.fingerprint);
      assert.equal(value(bundle, "not-after"), facts.notAfter.replace(/\.000Z$/, "Z"));
      assert.equal(statSync(bundle).mode & 0o777, 0o400);
      for (const dir of [f.issuer.statusDir, f.issuer.outboxDir, f.issuer.certbotDir, `${f.issuer.webroot}/.well-known/acme-challenge`]) assert.ok(existsSync(dir), dir);
      const before = readFileSync(bundle, "utf8");
      const again = init(f, f.issuer, shell);
      assert.equal(readFileSync(bundle, "utf8"), before, "an installed bundle is never replaced");
      assert.match(again.stderr, /web: keeping the installed certificate/);
    });

    test("a check issues through certbot certonly with the declared names, server and webroot, and publishes one bundle", () => {
      const f = fresh(`issue-${shell}`);
      init(f, f.issuer, shell);
      const r = runRenewer(f, ["once"], shell);
      assert.equal(r.status, 0, r.stderr);
      const [argv] = r.calls;
      assert.equal(argv![0], "--non-interactive");
      const at = (flag: string) => argv![argv!.indexOf(flag) + 1];
      assert.ok(argv!.includes("certonly") && argv!.includes("--keep-until-expiring") && argv!.includes("--agree-tos"));
      assert.equal(at("--server"), "https://127.0.0.1:14000/dir");
      assert.equal(at("--email"), "ops@example.test");
      assert.equal(at("--cert-name"), "web");
      assert.equal(at("--authenticator"), "webroot");
      assert.equal(at("--webroot-path"), f.issuer.webroot);
      assert.equal(at("--config-dir"), `${f.issuer.certbotDir}/web/config`);
      assert.deepEqual(argv!.flatMap((a, i) => (a === "-d" ? [argv![i + 1]] : [])), NAMES);
      assert.match(at("--deploy-hook")!, /^sh '.*renewer\.sh' publish$/);
      // The hook published key + chain as one bundle, matching certbot's lineage.
      const outbox = join(f.issuer.outboxDir, "web.pem");
      const lineage = readFileSync(`${f.issuer.certbotDir}/web/config/live/web/fullchain.pem`, "utf8");
      assert.equal(value(outbox, "source"), "acme");
      assert.equal(value(outbox, "fingerprint"), certificateFacts(lineage).fingerprint);
      assert.match(readFileSync(outbox, "utf8"), /PRIVATE KEY-----\n[\s\S]*BEGIN CERTIFICATE/);
      const status = readFileSync(join(f.issuer.statusDir, "web"), "utf8");
      assert.match(status, /^ok \d{4}-\d\d-\d\dT[\d:]+Z fingerprint=[0-9A-F:]+ not-after=\d{4}-\d\d-\d\dT[\d:]+Z\n$/);
      assert.deepEqual(parseRenewerStatus(status), { fingerprint: value(outbox, "fingerprint"), notAfter: value(outbox, "not-after") });
      // renewBeforeDays reaches certbot through the lineage's renewal file, top level.
      const conf = readFileSync(`${f.issuer.certbotDir}/web/config/renewal/web.conf`, "utf8").split("\n");
      assert.equal(conf[0], "renew_before_expiry = 30 days");
      assert.equal(conf.filter((l) => l.startsWith("renew_before_expiry")).length, 1);
      // The bootstrap the master serves is untouched: the sync agent installs, not certbot.
      assert.equal(value(join(f.issuer.liveDir, "web.pem"), "source"), "bootstrap");
    });

    test("a later check renews nothing before it is due; `once --force-renewal` goes through the same command", () => {
      const f = fresh(`renew-${shell}`, { renewBeforeDays: 20 });
      init(f, f.issuer, shell);
      assert.equal(runRenewer(f, ["once"], shell).status, 0);
      const first = value(join(f.issuer.outboxDir, "web.pem"), "fingerprint");
      const due = runRenewer(f, ["once"], shell);
      assert.equal(due.status, 0);
      assert.match(due.stderr, /not yet due/);
      assert.equal(value(join(f.issuer.outboxDir, "web.pem"), "fingerprint"), first);
      const forced = runRenewer(f, ["once", "--force-renewal"], shell);
      assert.equal(forced.status, 0, forced.stderr);
      assert.ok(forced.calls.at(-1)!.includes("--force-renewal"));
      assert.notEqual(value(join(f.issuer.outboxDir, "web.pem"), "fingerprint"), first);
      assert.equal(readFileSync(`${f.issuer.certbotDir}/web/config/renewal/web.conf`, "utf8").split("\n")[0], "renew_before_expiry = 20 days");
    });

    test("a failed issuance is reported with certbot's reason and leaves everything served as it was", () => {
      const f = fresh(`fail-${shell}`);
      init(f, f.issuer, shell);
      const r = runRenewer(f, ["once"], shell, { FAKE_CERTBOT_FAIL: "1" });
      assert.equal(r.status, 1);
      const status = readFileSync(join(f.issuer.statusDir, "web"), "utf8");
      assert.match(status, /^failed \S+ certbot exited 1: .*Detail: 127\.0\.0\.1: Invalid response .*: 404/);
      assert.match(r.stderr, /FAILED \(certbot exit 1\); the masters keep serving their current certificate/);
      assert.ok(!existsSync(join(f.issuer.outboxDir, "web.pem")), "nothing published");
      assert.equal(value(join(f.issuer.liveDir, "web.pem"), "source"), "bootstrap");
      const status_ = runRenewer(f, ["status"], shell);
      assert.equal(status_.status, 1);
      assert.equal(runRenewer(f, ["health"], shell).status, 1);
    });

    test("a deploy hook that did not run is caught up: the check publishes what certbot issued", () => {
      const f = fresh(`nohook-${shell}`);
      init(f, f.issuer, shell);
      const r = runRenewer(f, ["once"], shell, { FAKE_CERTBOT_NO_HOOK: "1" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(value(join(f.issuer.outboxDir, "web.pem"), "source"), "acme");
      assert.equal(runRenewer(f, ["health"], shell).status, 0);
    });
  });
}

describe("renewer details", () => {
  test("a changed ACME server (staging to production) forces a new issuance", () => {
    const f = fresh("server-change");
    init(f, f.issuer);
    assert.equal(runRenewer(f, ["once"]).status, 0);
    writeFileSync(`${f.issuer.certbotDir}/web/server`, "https://acme-staging-v02.api.letsencrypt.org/directory\n");
    const r = runRenewer(f, ["once"]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.at(-1)!.includes("--force-renewal"));
    assert.match(r.stderr, /the ACME server changed to https:\/\/127\.0\.0\.1:14000\/dir: issuing anew/);
  });

  test("dns-01 selects the plugin and its credentials file; route53 takes AWS's own credentials", () => {
    const cert = (plugin: string): AcmeCertificatePlan => ({ id: "x", names: ["*.example.test"], email: "a@b.c", server: "https://x/dir", challenge: "dns-01", dnsPlugin: plugin, renewBeforeDays: 30, image: "certbot/dns-x:v4.0.0" });
    assert.deepEqual(challengeArgs(cert("cloudflare"), { webroot: "/w", runDir: "/tmp/acme" }), ["--authenticator", "dns-cloudflare", "--dns-cloudflare-credentials", dnsCredentialsPath("/tmp/acme")]);
    assert.deepEqual(challengeArgs(cert("route53"), { webroot: "/w", runDir: "/tmp/acme" }), ["--authenticator", "dns-route53"]);
    assert.match(renewerScript(cert("cloudflare"), "h-certbot-x", { certbotDir: "/c", webroot: "/w", outboxDir: "/o", statusDir: "/s", runDir: "/tmp/acme" }), /-d '\*\.example\.test'/);
  });

  test("`status SECONDS` waits for the first result; the loop checks at once and stops on SIGTERM", async () => {
    const f = fresh("loop");
    init(f, f.issuer);
    const runDir = f.issuer.renewers[0]!.runDir;
    mkdirSync(runDir, { recursive: true });
    const script = renewerScript(f.cert, f.issuer.renewers[0]!.name, renewerPaths(f.issuer));
    const env = { FAKE_CERTBOT_LOG: join(f.root, "certbot.jsonl") };
    const child = startScript(join(runDir, "renewer.sh"), script, ["loop"], { pathDirs: [fakes], env });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const waited = runScript(join(runDir, "status.sh"), script.replace("self=\"$0\"", `self='${join(runDir, "renewer.sh")}'`), ["status", "30"], { pathDirs: [fakes], env });
      assert.equal(waited.status, 0, waited.stdout + waited.stderr);
      assert.match(waited.stdout, /^ok /);
      const t0 = Date.now();
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.ok(Date.now() - t0 < 3000, "stops promptly, not after its 12-hour sleep");
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("sync agent", () => {
  /**
   * A stand-in nginx master that records each SIGHUP, and each SIGUSR1 as a marker; its pid
   * file is the plan's.
   */
  async function fakeMaster(pidFile: string, hups: string) {
    mkdirSync(join(pidFile, ".."), { recursive: true });
    const child = spawn("sh", ["-c", `trap 'echo HUP >> ${hups}' HUP; trap 'echo MARK >> ${hups}' USR1; echo $$ > ${pidFile}; while :; do sleep 0.05; done`], { stdio: "ignore" });
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 20));
    return child;
  }
  const lines = (file: string, word: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l === word).length : 0);
  /**
   * The SIGHUPs the stand-in has handled, counted once it has handled a marker sent now:
   * the shell runs pending traps in signal-number order (HUP before USR1), so every
   * SIGHUP sent before this call is in the count. An event, not a pause.
   */
  async function hupCount(master: ReturnType<typeof spawn>, file: string): Promise<number> {
    const marks = lines(file, "MARK");
    master.kill("SIGUSR1");
    const deadline = Date.now() + 5000;
    while (lines(file, "MARK") === marks) {
      assert.ok(Date.now() < deadline, "the stand-in master did not handle its marker");
      await new Promise((r) => setTimeout(r, 10));
    }
    return lines(file, "HUP");
  }

  /** Publishes a bundle the way the renewer does (write_bundle from the real script). */
  function publish(f: ReturnType<typeof fresh>, pem: { certificatePem: string; privateKeyPem: string }, source = "acme") {
    const dir = join(f.root, `pem-${Math.random().toString(16).slice(2)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "key.pem"), pem.privateKeyPem);
    writeFileSync(join(dir, "chain.pem"), pem.certificatePem);
    mkdirSync(f.issuer.outboxDir, { recursive: true });
    const fn = initScript(f.issuer, []).split("\n");
    const start = fn.indexOf("write_bundle() {");
    const body = fn.slice(start, fn.indexOf("}", start) + 1).join("\n");
    const r = runScript(join(dir, "publish.sh"), `log() { echo "$*" >&2; }\n${body}\nwrite_bundle web ${source} ${dir}/key.pem ${dir}/chain.pem ${join(f.issuer.outboxDir, "web.pem")}\n`, []);
    assert.equal(r.status, 0, r.stderr);
  }

  function sync(f: ReturnType<typeof fresh>, acme: HostAcmePlan, mode: string, pathDirs: string[] = []) {
    mkdirSync(acme.sync.runDir, { recursive: true });
    return runScript(join(acme.sync.runDir, "tls-sync.sh"), syncScript(acme, f.plan.acme!.certificates), [mode], { pathDirs: [...pathDirs, "/usr/sbin"] });
  }

  test("a new bundle is checked by nginx, swapped in by rename and the master reloaded once; an unchanged one is left alone", async () => {
    const f = fresh("sync-new");
    init(f, f.issuer);
    const hups = join(f.root, "hups");
    const master = await fakeMaster(f.issuer.sync.masterPidFile!, hups);
    try {
      assert.equal(sync(f, f.issuer, "check").status, 1, "the bootstrap is not healthy");
      const pem = makePem({ names: NAMES, days: 90 });
      publish(f, pem);
      const r = sync(f, f.issuer, "once");
      assert.equal(r.status, 0, r.stderr);
      const live = join(f.issuer.liveDir, "web.pem");
      assert.equal(readFileSync(live, "utf8"), readFileSync(join(f.issuer.outboxDir, "web.pem"), "utf8"));
      assert.equal(statSync(live).mode & 0o777, 0o400);
      assert.match(r.stderr, /web: installed [0-9A-F:]+ \(not after/);
      assert.match(r.stderr, /reloaded nginx \(pid \d+\)/);
      assert.equal(await hupCount(master, hups), 1);
      assert.equal(sync(f, f.issuer, "once").status, 0);
      assert.equal(await hupCount(master, hups), 1, "no reload without a change");
      const check = sync(f, f.issuer, "check");
      assert.equal(check.status, 0, check.stdout);
      assert.match(check.stdout, /web: ok until \d{4}-/);
    } finally {
      master.kill("SIGKILL");
    }
  });

  test("a bundle nginx would refuse, an expired one or an older one is not installed and nothing reloads", async () => {
    const f = fresh("sync-refuse");
    init(f, f.issuer);
    const hups = join(f.root, "hups");
    const master = await fakeMaster(f.issuer.sync.masterPidFile!, hups);
    const live = join(f.issuer.liveDir, "web.pem");
    try {
      publish(f, makePem({ names: NAMES, days: 60 }));
      assert.equal(sync(f, f.issuer, "once").status, 0);
      const installed = readFileSync(live, "utf8");

      // A torn pair: someone else's key in front of the chain.
      const good = makePem({ names: NAMES, days: 90 });
      const stranger = makePem({ names: NAMES, days: 90 });
      writeFileSync(join(f.issuer.outboxDir, "web.pem"), `# source: acme\n# not-after: 2099-01-01T00:00:00Z\n${stranger.privateKeyPem}${good.certificatePem}`);
      const torn = sync(f, f.issuer, "once");
      assert.equal(torn.status, 1);
      assert.match(torn.stderr, /web: nginx refuses it: .*key values mismatch/);

      publish(f, makePem({ names: NAMES, days: -1 }));
      const expired = sync(f, f.issuer, "once");
      assert.equal(expired.status, 1);
      assert.match(expired.stderr, /web: expired or undated/);

      publish(f, makePem({ names: NAMES, days: 10 }));
      const older = sync(f, f.issuer, "once");
      assert.equal(older.status, 1);
      assert.match(older.stderr, /refusing a certificate that expires before the installed one/);

      assert.equal(readFileSync(live, "utf8"), installed, "the installed bundle is untouched");
      assert.equal(await hupCount(master, hups), 1, "only the first install reloaded");
    } finally {
      master.kill("SIGKILL");
    }
  });

  test("a follower fetches from the issuer's publisher with its client certificate; a failed fetch keeps what it has", () => {
    const f = fresh("sync-url");
    init(f, f.follower);
    const bin = join(f.root, "curl-bin");
    mkdirSync(bin);
    const log = join(f.root, "curl.jsonl");
    writeFileSync(join(bin, "curl"), `#!/usr/bin/env node\nrequire("fs").appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + "\\n");\nprocess.stderr.write("curl: (7) Failed to connect\\n");\nprocess.exit(7);\n`, { mode: 0o755 });
    const before = readFileSync(join(f.follower.liveDir, "web.pem"), "utf8");
    const r = sync(f, f.follower, "once", [bin]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /web: cannot fetch https:\/\/127\.0\.0\.1:28444\/web\.pem; keeping the installed certificate/);
    const [argv] = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]);
    const at = (flag: string) => argv![argv!.indexOf(flag) + 1];
    assert.equal(at("--cacert"), `${f.follower.sync.runDir}/ca.pem`);
    assert.equal(at("--cert"), `${f.follower.sync.runDir}/client.pem`);
    assert.equal(at("--key"), `${f.follower.sync.runDir}/client.key`);
    assert.ok(argv!.includes("--fail"));
    assert.equal(argv!.at(-1), "https://127.0.0.1:28444/web.pem");
    assert.equal(readFileSync(join(f.follower.liveDir, "web.pem"), "utf8"), before);
  });

  test("the healthcheck turns unhealthy when renewal is overdue", () => {
    const f = fresh("sync-health", { renewBeforeDays: 30 });
    init(f, f.issuer);
    publish(f, makePem({ names: NAMES, days: 20 }));
    mkdirSync(f.issuer.liveDir, { recursive: true });
    writeFileSync(join(f.issuer.liveDir, "web.pem"), readFileSync(join(f.issuer.outboxDir, "web.pem")));
    const r = sync(f, f.issuer, "check");
    assert.equal(r.status, 1);
    assert.match(r.stdout, /web: expires \S+ and no renewal arrived/);
  });
});

describe("containers and the issuance gate", () => {
  test("the boot writes secrets from the environment into files only its user can read, unsets them, and runs the script", () => {
    const dir = join(work, "boot");
    const secret = join(dir, "run", "one.pem");
    const boot = scriptBoot(join(dir, "run"), "agent", [{ env: "SECRET_ONE", path: secret }], ["loop", "x y"]);
    const script = `echo "args=$1,$2 env=\${SECRET_ONE:-unset}"; cat ${secret}`;
    const r = spawnSync("sh", ["-c", boot, "agent", script], { encoding: "utf8", env: { ...process.env, SECRET_ONE: "s3cret" } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "args=loop,x y env=unset\ns3cret\n");
    assert.equal(statSync(secret).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, "run", "agent.sh"), "utf8"), script);
  });

  test("the gate asks the renewer on the issuer over ssh and fails `pulumi up` with the reason", () => {
    const f = fresh("gate");
    const cmd = issuanceGateCommand({ docker: "ssh://deploy@10.0.0.1" }, f.issuer.renewers[0]!, "web", 300);
    assert.match(cmd, /ssh -o BatchMode=yes deploy@10\.0\.0\.1 'docker exec img01-certbot-web sh -c .*exec sh \S*\/renewer\.sh status 300/);
    const bin = join(work, "gate-bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "ssh"), `#!/bin/sh\nfor last; do :; done\nprintf '%s' "$last" > ${join(bin, "remote")}\necho "$GATE_OUT"\nexit "$GATE_RC"\n`, { mode: 0o755 });
    const ok = runScript(join(work, "gate.sh"), cmd, [], { pathDirs: [bin], env: { GATE_OUT: "ok 2026-01-01T00:00:00Z fingerprint=AB not-after=2026-04-01T00:00:00Z", GATE_RC: "0" } });
    assert.equal(ok.status, 0);
    assert.match(ok.stdout, /^ok .* fingerprint=AB/);
    // The remote shell receives one string; it must split into exactly these words.
    const remote = readFileSync(join(bin, "remote"), "utf8");
    const words = JSON.parse(spawnSync("sh", ["-c", `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' ${remote}`], { encoding: "utf8" }).stdout) as string[];
    assert.deepEqual(words.slice(0, 5), ["docker", "exec", "img01-certbot-web", "sh", "-c"]);
    assert.match(words[5]!, /^i=0; while \[ ! -f \S+\/renewer\.sh \] && \[ \$i -lt 30 \]; do sleep 1; i=\$\(\(i \+ 1\)\); done; exec sh \S+\/renewer\.sh status 300$/);
    const failed = runScript(join(work, "gate.sh"), cmd, [], { pathDirs: [bin], env: { GATE_OUT: "failed 2026-01-01T00:00:00Z certbot exited 1: Detail: 404", GATE_RC: "1" } });
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /certificate "web" was not issued: failed .*Detail: 404\nMasters keep serving their current certificate/);
  });
});
