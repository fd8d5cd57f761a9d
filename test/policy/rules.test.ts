// Each rule of the policy pack refuses what it exists to refuse: a failing fixture per rule,
// made from a real resource of the local graph with one input changed, fails that rule (and
// the untouched resource passes it). The rules are called directly (rules.ts), with the
// arguments the analyzer builds.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { RULE_NAMES, policies, tlsProblems } from "../../policy/rules.js";
import { renderMaster } from "../../infra/nginx/master.js";
import { renderPublisher } from "../../infra/nginx/publisher.js";
import { planCluster } from "../../infra/topology.js";
import { fromStackConfig, parseClusterSpec } from "../../infra/config.js";
import { analyzerArgs, contextOf, violationsOf } from "../helpers/policy.js";
import { ofType, runProgram, stackConfig, type ProgramRun, type Registered } from "../helpers/pulumi.js";

const config = stackConfig("local");
const ctx = contextOf(config);
let run: ProgramRun;
// The local stack pulling its images from a registry: the hosts' own RemoteImages.
let registryRun: ProgramRun;
before(async () => {
  [run, registryRun] = await Promise.all([runProgram(config), runProgram({ ...config, "image-origin:images": { resizer: "registry.example.com/image-origin/resizer:1.0.0" } })]);
  if (run.error) throw run.error;
  if (registryRun.error) throw registryRun.error;
});

const byName = (name: string): Registered => {
  const r = ofType(run, "Container").find((c) => c.inputs.name === name) ?? [...run.resources, ...registryRun.resources].find((c) => c.name === name);
  assert.ok(r, `no resource ${name}`);
  return r;
};
/** The run a resource comes from (a RemoteImage only the registry run has). */
const runOf = (r: Registered): ProgramRun => (run.resources.some((x) => x.urn === r.urn && x.type === r.type) ? run : registryRun);

/** The resource with its inputs changed (and, optionally, its secret paths). */
function variant(name: string, change: (inputs: Record<string, any>) => void, patch: Partial<Registered> = {}): Registered {
  const r = structuredClone(byName(name));
  change(r.inputs);
  return { ...r, ...patch };
}

const SEED_TLS = "ssl on;\n    ssl_protocols SSLv2 SSLv3 TLSv1;\n    ssl_ciphers HIGH:!aNULL:!MD5:RC4;";

/** For every rule: a resource that breaks it. */
const fixtures: Record<string, () => Registered> = {
  "no-privileged-containers": () => variant("local-slave01", (i) => (i.privileged = true)),
  "no-host-namespaces": () => variant("local-resizer01", (i) => (i.networkMode = "host")),
  "no-docker-socket": () => variant("local-resizer01", (i) => i.mounts.push({ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" })),
  "serving-containers-memory-limit": () => variant("local-master", (i) => delete i.memory),
  "serving-containers-non-root": () => variant("local-slave02", (i) => (i.user = "0:0")),
  "read-only-root-filesystem": () => variant("local-resizer02", (i) => delete i.readOnly),
  "capabilities-dropped": () => variant("local-master", (i) => (i.capabilities = { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] })),
  "images-by-id-or-digest": () => variant("local-slave01", (i) => (i.image = "nginx:1.28.0-bookworm")),
  "ports-only-masters-on-host-address": () => variant("local-resizer01", (i) => (i.ports = [{ internal: 9000, external: 9000, ip: "127.0.0.1" }])),
  // The key the program sends as a secret, sent in plain text.
  "no-plain-secrets": () => variant("local-master-files", () => {}, { secretPaths: [] }),
  "tls-1.2-plus-aead-ciphers": () =>
    variant("local-master-files", (i) => {
      const conf = i.uploads.find((u: { file: string }) => u.file === "/staging/nginx.conf");
      conf.content = conf.content.replace(/ssl_protocols [^;]*;/, "ssl_protocols TLSv1 TLSv1.2;");
    }),
  "serving-containers-healthcheck": () => variant("local-slave01", (i) => delete i.healthcheck),
  "serving-containers-restart-policy": () => variant("local-slave01", (i) => (i.restart = "no")),
  "container-log-rotation": () => variant("local-master", (i) => (i.logDriver = "json-file") && delete i.logOpts),
  "no-new-privileges": () => variant("local-master", (i) => (i.securityOpts = [])),
  "fixed-names-delete-before-replace": () => variant("local-master", () => {}, { deleteBeforeReplace: false }),
  "remote-images-pinned": () => variant("local-nginx-image", (i) => (i.name = "nginx:latest")),
};

describe("a failing fixture per rule", () => {
  test("every rule has a fixture, and the pack has mandatory and advisory rules", () => {
    assert.deepEqual(Object.keys(fixtures).sort(), RULE_NAMES.map((r) => r.name).sort());
    assert.ok(RULE_NAMES.filter((r) => r.level === "mandatory").length >= 10);
    assert.ok(RULE_NAMES.some((r) => r.level === "advisory"));
  });

  for (const policy of policies(ctx)) {
    test(`${policy.name} (${policy.enforcementLevel}) refuses its fixture and nothing else does`, () => {
      const bad = fixtures[policy.name]!();
      const from = runOf(bad);
      const original = from.resources.find((r) => r.urn === bad.urn)!;
      assert.deepEqual(violationsOf(policy, analyzerArgs(original, from)), [], "the untouched resource passes");
      const found = violationsOf(policy, analyzerArgs(bad, from));
      assert.ok(found.length > 0, `${policy.name} accepted its fixture`);
      // The fixture breaks exactly this rule (so each rule is tested on its own).
      const others = policies(ctx).filter((p) => p.name !== policy.name && violationsOf(p, analyzerArgs(bad, from)).length > 0);
      assert.deepEqual(others.map((p) => p.name), []);
    });
  }
});

describe("the rules' details", () => {
  const rule = (name: string) => policies(ctx).find((p) => p.name === name)!;

  test("one-shots: the installers may keep a writable root and chown; the cache owner chowns; nobody else", () => {
    assert.deepEqual(violationsOf(rule("read-only-root-filesystem"), analyzerArgs(byName("local-master-files"), run)), []);
    // A serving container named like an installer is not one.
    const pretender = variant("local-slave01", (i) => {
      i.name = "local-slave01-files";
      delete i.readOnly;
    });
    assert.equal(violationsOf(rule("read-only-root-filesystem"), analyzerArgs(pretender, run)).length, 1);
    const chown = variant("local-resizer01", (i) => (i.capabilities = { drops: ["ALL"], adds: ["CHOWN"] }));
    assert.match(violationsOf(rule("capabilities-dropped"), analyzerArgs(chown, run))[0]!, /CHOWN: not allowed/);
  });

  test("a master publishing on another address than its host's, or on all of them, is refused", () => {
    const other = variant("local-master", (i) => (i.ports = [{ internal: 8080, external: 8080, ip: "127.0.0.2" }]));
    assert.deepEqual(violationsOf(rule("ports-only-masters-on-host-address"), analyzerArgs(other, run)), ["port 8080 is published on 127.0.0.2, not on local's address 127.0.0.1"]);
    const all = variant("local-master", (i) => (i.ports = [{ internal: 8080, external: 8080 }]));
    assert.match(violationsOf(rule("ports-only-masters-on-host-address"), analyzerArgs(all, run))[0]!, /published on every address/);
  });

  test("the ops agent publishes its private listener on its host's address only: the same port elsewhere is refused", () => {
    const ops = variant("local-ops", () => {});
    assert.equal(ops.inputs.ports.length, 1, "the program publishes it");
    assert.deepEqual(violationsOf(rule("ports-only-masters-on-host-address"), analyzerArgs(ops, run)), []);
    const everywhere = variant("local-ops", (i) => (i.ports = [{ ...i.ports[0], ip: "0.0.0.0" }]));
    assert.match(violationsOf(rule("ports-only-masters-on-host-address"), analyzerArgs(everywhere, run))[0]!, /port 9145 is published on every address/);
    // The name is what allows it: a slave publishing the same port is still refused.
    const slave = variant("local-slave01", (i) => (i.ports = [{ internal: 9145, external: 9145, ip: "127.0.0.1" }]));
    assert.match(violationsOf(rule("ports-only-masters-on-host-address"), analyzerArgs(slave, run))[0]!, /only a host's master \(and its ops agent\) publish ports/);
  });

  test("a dns-01 credential in a plain environment variable is refused; the same as a secret passes", () => {
    const env = (secretPaths: string[]) => variant("local-resizer01", (i) => i.envs.push("ACME_DNS_CREDENTIALS=dns_cloudflare_api_token = 0123456789abcdef"), { secretPaths });
    const plain = violationsOf(rule("no-plain-secrets"), analyzerArgs(env([]), run));
    assert.match(plain.join("\n"), /envs\.\d+: holds a credential \(ACME_DNS_CREDENTIALS\) in plain text/);
    assert.deepEqual(violationsOf(rule("no-plain-secrets"), analyzerArgs(env(["envs"]), run)), []);
    // Shell references to a credential are not one.
    const reference = variant("local-resizer01", (i) => i.envs.push('SCRIPT=creds="${ACME_DNS_CREDENTIALS:-}"; token=$(cat f)'));
    assert.deepEqual(violationsOf(rule("no-plain-secrets"), analyzerArgs(reference, run)), []);
  });
});

describe("TLS of rendered nginx configs", () => {
  test("every master the stacks render passes; so does the TLS 1.3-only ACME publisher", () => {
    for (const stack of ["prod", "local"]) {
      for (const h of planCluster(parseClusterSpec(fromStackConfig(stackConfig(stack)))).hosts) assert.deepEqual(tlsProblems(renderMaster(h.master)), [], `${stack} ${h.name}`);
    }
    const acme = stackConfig("prod");
    acme["image-origin:certificates"] = { "star-tving": { mode: "acme", email: "ops@tving.com" } };
    const plan = planCluster(parseClusterSpec(fromStackConfig(acme)));
    assert.deepEqual(tlsProblems(renderPublisher(plan.hosts[0]!.acme!, ["star-tving"])), []);
  });

  test("the seeds' TLS (ssl on, SSLv2/SSLv3/TLSv1, HIGH and RC4) is refused on every count", () => {
    const problems = tlsProblems(`http {\n  server {\n    listen 443;\n    ${SEED_TLS}\n  }\n}\n`);
    assert.deepEqual(problems, [
      "`ssl on` (the seeds' obsolete form): use `listen ... ssl`",
      "ssl_protocols allows SSLv2, SSLv3, TLSv1: only TLSv1.2 and TLSv1.3",
      "ssl_ciphers allows HIGH, RC4: only AEAD suites (GCM, CHACHA20-POLY1305)",
    ]);
  });

  test("TLS without explicit protocols or ciphers is refused; a CBC suite in the list is named; comments do not count", () => {
    assert.deepEqual(tlsProblems("http { server { listen 443 ssl; } }"), [
      "TLS is served without ssl_protocols (nginx's default depends on its version): set TLSv1.2 TLSv1.3",
      "TLS 1.2 without ssl_ciphers (nginx's default includes CBC suites): list AEAD suites",
    ]);
    assert.deepEqual(tlsProblems('http { ssl_protocols TLSv1.2; ssl_ciphers "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA"; server { listen 443 ssl; } }'), [
      "ssl_ciphers allows ECDHE-RSA-AES128-SHA: only AEAD suites (GCM, CHACHA20-POLY1305)",
    ]);
    assert.deepEqual(tlsProblems("http { # ssl_protocols SSLv3;\n ssl_protocols TLSv1.3; server { listen 443 ssl; } }"), []);
  });
});
