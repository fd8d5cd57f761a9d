// A wildcard certificate over dns-01 (certbot's cloudflare plugin) under Pulumi mocks: the
// plugin's image, its credentials only ever as a secret, and no challenge forwarding
// (dns-01 needs no webroot).
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { CONTAINER } from "../../infra/topology.js";
import { SCENARIOS } from "../helpers/graph.js";
import { installedFiles, ofType, plainInputs, runProgram, type ProgramRun, mockImageId } from "../helpers/pulumi.js";

// The same scenario as its pinned resource graph (test/fixtures/graph/acme-dns.json).
const scenario = SCENARIOS["acme-dns"]!();
const CREDENTIALS = (scenario.config["image-origin:acmeDnsCredentials"] as { star: string }).star;
let run: ProgramRun;

before(async () => {
  run = await runProgram(scenario.config, scenario.secretKeys);
  if (run.error) throw run.error;
});

const container = (name: string) => ofType(run, "Container").find((c) => c.inputs.name === name)!;

test("the renewer runs certbot's cloudflare image against Let's Encrypt staging with the plugin's credentials file", () => {
  const r = container("img01-certbot-star");
  assert.equal(r.inputs.image, mockImageId("certbot/dns-cloudflare:v4.0.0"));
  assert.match(r.inputs.command[0], /--authenticator dns-cloudflare --dns-cloudflare-credentials \/tmp\/acme\/dns-credentials\.ini/);
  assert.match(r.inputs.command[0], /-d image-origin\.tving\.com -d '\*\.img\.tving\.com' -d stillshot-origin\.tving\.com/);
  assert.match(r.inputs.command[0], /\nserver=https:\/\/acme-staging-v02\.api\.letsencrypt\.org\/directory\n/);
  assert.match(r.inputs.entrypoints[2], /printf '%s\\n' "\$ACME_DNS_CREDENTIALS" > \/tmp\/acme\/dns-credentials\.ini\nunset ACME_DNS_CREDENTIALS/);
});

test("the credentials reach the renewer only as a secret, and appear nowhere else", () => {
  const r = container("img01-certbot-star");
  assert.ok(r.inputs.envs.includes(`ACME_DNS_CREDENTIALS=${CREDENTIALS}`));
  assert.ok(r.secretPaths.some((p) => p.startsWith("envs")), r.secretPaths.join());
  for (const res of run.resources) assert.ok(!JSON.stringify(plainInputs(res)).includes("0123456789abcdef"), `${res.name} shows the credentials`);
  assert.ok(!JSON.stringify(run.outputs).includes("0123456789abcdef"));
});

test("dns-01 needs no webroot: no master forwards challenges", () => {
  for (const c of ofType(run, "Container").filter((c) => /-master$/.test(c.inputs.name))) {
    const conf = installedFiles(run, c.inputs.name).get(CONTAINER.nginxConfig)!;
    assert.doesNotMatch(conf, /@acme_issuer/, c.inputs.name);
  }
});

test("both certbot images reach the hosts", () => {
  for (const [name, ref] of [["certbot", "certbot/certbot:v4.0.0"], ["dns-cloudflare", "certbot/dns-cloudflare:v4.0.0"]] as const) {
    const delivery = run.resources.find((r) => r.name === `img03-images-${name}`)!;
    assert.match(delivery.inputs.create, new RegExp(`docker save ${ref.replace(/[/.]/g, "\\$&")} \\|`));
  }
});
