// What the rendered configs do for ACME: a follower's master forwards challenge requests
// it cannot answer to the issuer's master (once, never in a loop), the issuer's answers from
// its webroot, and the issuer's publisher serves bundles over mutual TLS to the other hosts
// only. The publisher's config is checked by nginx itself.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { parseClusterSpec } from "../../infra/config.js";
import { ACME_HOP_HEADER, renderMaster } from "../../infra/nginx/master.js";
import { publisherFiles, renderPublisher } from "../../infra/nginx/publisher.js";
import { planCluster } from "../../infra/topology.js";
import { makePem } from "../helpers/certs.js";
import { all, argsOf, matchLocation, one, oneServing, parseConf, type Stmt } from "../helpers/nginx-conf.js";
import { assertNginxAccepts } from "../helpers/nginx.js";
import { handOver, tempRoot } from "../helpers/stage.js";

const spec = parseClusterSpec({
  hosts: [
    { name: "img01", address: "172.18.141.51", docker: "ssh://deploy@172.18.141.51" },
    { name: "img02", address: "172.18.141.52", docker: "ssh://deploy@172.18.141.52" },
  ],
  domains: [{ id: "image-origin", serverNames: ["image-origin.tving.com"], certificate: "web" }],
  certificates: { web: { mode: "acme", email: "ops@tving.com" } },
});
const plan = planCluster(spec);
const serverOf = (text: string): Stmt => oneServing(one(parseConf(text), "http"));

describe("http-01 challenges on every host", () => {
  test("the issuer's master answers from its webroot and forwards nothing", () => {
    const server = serverOf(renderMaster(plan.hosts[0]!.master));
    const loc = matchLocation(server, "/.well-known/acme-challenge/tok")!;
    assert.deepEqual(argsOf(loc, "try_files"), ["$uri", "=404"]);
    assert.equal(all(server, "location", "@acme_issuer").length, 0);
  });

  test("a follower's master serves its own file if any, else asks the issuer's master, marking the hop", () => {
    const server = serverOf(renderMaster(plan.hosts[1]!.master));
    const loc = matchLocation(server, "/.well-known/acme-challenge/tok")!;
    assert.deepEqual(argsOf(loc, "root"), [plan.hosts[1]!.master.paths.acmeWebroot]);
    assert.deepEqual(argsOf(loc, "try_files"), ["$uri", "@acme_issuer"]);
    const issuer = one(server, "location", "@acme_issuer");
    assert.deepEqual(argsOf(issuer, "proxy_pass"), ["http://172.18.141.51:80"]);
    const headers = all(issuer, "proxy_set_header").map((h) => h.args);
    assert.deepEqual(headers, [["Host", "$host"], [ACME_HOP_HEADER, "1"]]);
    const guard = one(issuer, "if");
    assert.deepEqual(guard.args, ["(", "$http_x_image_origin_acme_hop", ")"]);
    assert.deepEqual(argsOf(guard, "return"), ["404"]);
  });
});

describe("the issuer's bundle publisher", () => {
  const root = tempRoot("publisher");
  after(() => rmSync(root, { recursive: true, force: true }));
  const local = planCluster(spec, { kind: "local", root, port: (p) => p + 30000, bindAddress: (h) => (h === "img01" ? "127.0.0.1" : "127.0.0.2") });
  const acme = local.hosts[0]!.acme!;
  const text = renderPublisher(acme, ["web"]);
  const server = serverOf(text);

  test("mutual TLS 1.3 with the cluster CA, to the other hosts' addresses only, the bundles and nothing else", () => {
    assert.deepEqual(all(server, "allow").map((a) => a.args), [["127.0.0.2"]]);
    assert.deepEqual(argsOf(server, "deny"), ["all"]);
    assert.deepEqual(argsOf(server, "ssl_verify_client"), ["on"]);
    assert.deepEqual(argsOf(server, "ssl_protocols"), ["TLSv1.3"]);
    assert.deepEqual(argsOf(server, "ssl_client_certificate"), [publisherFiles(acme.publisher!.runDir).ca]);
    assert.deepEqual(argsOf(matchLocation(server, "/web.pem")!, "alias"), [`${acme.outboxDir}/web.pem`]);
    assert.deepEqual(argsOf(matchLocation(server, "/certbot/web/config/live/web/privkey.pem")!, "return"), ["404"]);
    assert.deepEqual(argsOf(server, "listen"), [`127.0.0.1:${30000 + 8444}`, "ssl"]);
  });

  test("nginx accepts it with the files its container writes at start", async () => {
    const files = publisherFiles(acme.publisher!.runDir);
    mkdirSync(files.temp, { recursive: true });
    mkdirSync(acme.outboxDir, { recursive: true });
    const ca = makePem({ names: [], subject: "/CN=image-origin tls-sync CA", isCa: true });
    const leaf = makePem({ names: ["img01"], ca });
    writeFileSync(files.ca, ca.certificatePem);
    writeFileSync(files.server, leaf.privateKeyPem + leaf.certificatePem);
    writeFileSync(files.config, text);
    handOver(root);
    await assertNginxAccepts(files.config, `${acme.publisher!.runDir}/`, "the publisher config");
  });
});
