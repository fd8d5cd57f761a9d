// The pure and small pieces behind `npm start`: what it prints to try, and the sample tree
// set-up's idempotence (a real tree is never touched).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { tryLines } from "../../infra/local/urls.js";
import { planCluster } from "../../infra/topology.js";
import { ensureSampleTree, SAMPLE_VERSION, STAMP } from "../../scripts/sample-images.js";
import { stackSpec } from "../helpers/stage.js";

describe("what npm start prints to try", () => {
  const local = planCluster(stackSpec("Pulumi.local.yaml"), { kind: "local", root: "/w" }).hosts[0]!;
  const ex = {
    thumbnail: "/thumbnail/2024/01/1.jpg",
    still: "/stillshot/a/1.jpg",
    source: "/images/a.jpg",
    storyboard: "/storyboard/a/E001.vtt?w=160&h=90&cols=10&rows=10&every=10",
    caPath: "/w/local/tls/local.crt",
  };
  const lines = new Map(tryLines(local, ex).map((l) => [l.label, l.text]));

  it("*.localhost names as plain URLs on the stack's ports; the stillshot domain for its 400", () => {
    assert.match(lines.get("thumbnail")!, /^http:\/\/image-origin\.localhost:8080\/thumbnail\/2024\/01\/1\.jpg /);
    assert.match(lines.get("stillshot")!, /^http:\/\/stillshot-origin\.localhost:8080\/thumbnail\/none\.jpg\s+\(400 on stillshot-origin\)/);
    assert.match(lines.get("resize")!, /\/resize\?src=images\/a\.jpg&w=300&h=200&fmt=auto /);
    assert.match(lines.get("timthumb")!, /\/timthumb\.php\?src=\/images\/a\.jpg&w=320&h=180/);
    assert.match(lines.get("storyboard")!, /^http:\/\/image-origin\.localhost:8080\/storyboard\/a\/E001\.vtt\?w=160&h=90&cols=10&rows=10&every=10 /);
  });

  it("HTTPS with the run's certificate as CA; healthz on the master, metrics on the ops listener", () => {
    assert.match(lines.get("https")!, /--cacert \/w\/local\/tls\/local\.crt 'https:\/\/image-origin\.localhost:8443\//);
    assert.match(lines.get("healthz")!, /^http:\/\/127\.0\.0\.1:8080\/healthz/);
    assert.match(lines.get("metrics")!, /^http:\/\/127\.0\.0\.1:9145\/metrics .*\/metrics\/resizer01, \/metrics\/resizer02\)$/);
  });

  it("the expiries it announces are the stack's own", () => {
    const spec = stackSpec("Pulumi.local.yaml");
    spec.nginx.expires = { thumbnail: "7s", image: "2m", script: "1h" };
    const tuned = new Map(tryLines(planCluster(spec, { kind: "local", root: "/w" }).hosts[0]!, ex).map((l) => [l.label, l.text]));
    assert.match(tuned.get("thumbnail")!, /\(master, expires 7s\)$/);
    assert.match(tuned.get("static")!, /\(slaves, expires 2m\)$/);
    assert.match(tuned.get("css")!, /\(slaves, expires 1h, gzip\)$/);
  });

  it("the README's sample of the list is what it prints for the sample tree", () => {
    // The sample tree's files, as the README shows them; its lines abbreviated with "..." are skipped.
    const sample = {
      thumbnail: "/thumbnail/2024/01/100001.jpg",
      still: "/stillshot/docu-ocean/E001/01.jpg",
      source: "/images/poster/banner.jpg",
      storyboard: "/storyboard/docu-ocean/E001.vtt?w=160&h=90&cols=10&rows=10&every=10",
    };
    const printed = new Map(tryLines(local, sample).map((l) => [l.label, l.text]));
    const readme = readFileSync(join(__dirname, "../../README.md"), "utf8");
    const block = readme.slice(readme.indexOf("\nTry:\n") + 6, readme.indexOf("Stop with Ctrl-C"));
    const shown = block
      .split("\n")
      .map((l) => /^ {2}(\S+)\s{2,}(.+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && !m[2]!.includes("..."));
    assert.ok(shown.length >= 8, `the README's Try block (found ${shown.length} lines)`);
    for (const [, label, text] of shown) assert.equal(text, printed.get(label!), `README's "${label}" line`);
  });

  it("other stacks' names are reached with curl --resolve on the remapped port", () => {
    const prod = planCluster(stackSpec("Pulumi.prod.yaml"), { kind: "local", root: "/w", port: (p) => p + 40000 }).hosts[0]!;
    const thumb = tryLines(prod, ex).find((l) => l.label === "thumbnail")!.text;
    assert.match(thumb, /--resolve image-origin\.tving\.com:40080:127\.0\.0\.1 'http:\/\/image-origin\.tving\.com:40080\/thumbnail\//);
  });
});

describe("the sample tree set-up", () => {
  const dir = mkdtempSync(join(tmpdir(), "image-origin-sample-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes once, then leaves a current tree alone; never touches a tree that is not a sample", async () => {
    const tree = join(dir, "images");
    const opts = { thumbnails: 3, stills: 2 };
    assert.equal(await ensureSampleTree(tree, opts), "written");
    assert.equal(readFileSync(join(tree, STAMP), "utf8").trim(), SAMPLE_VERSION);
    assert.ok(readFileSync(join(tree, "theme/micro/common/img/player/profile_thmb_default.gif")).length > 0);
    assert.equal(await ensureSampleTree(tree, opts), "current");

    const real = join(dir, "real");
    mkdirSync(real);
    writeFileSync(join(real, "precious.jpg"), "x");
    assert.equal(await ensureSampleTree(real, opts), "foreign");
    assert.equal(readFileSync(join(real, "precious.jpg"), "utf8"), "x");
  });
});
