// `npm run render` writes every host's master.conf, slaveNN.conf and the master's 50x page
// next to plan.json; renderCluster says where each instance reads its files.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { renderMaster } from "../../infra/nginx/master.js";
import { renderSlave } from "../../infra/nginx/slave.js";
import { instanceFiles, renderCluster } from "../../infra/render.js";
import { CONTAINER, planCluster } from "../../infra/topology.js";
import { PROJECT_ROOT, stackSpec, tempRoot } from "../helpers/stage.js";

const prod = planCluster(stackSpec("Pulumi.prod.yaml"));
const files = renderCluster(prod);
const byPath = new Map(files.map((f) => [f.path, f]));

describe("renderCluster", () => {
  it("returns plan.json, per host master.conf, slave01.conf, slave02.conf and html/50x.html, and the cluster's monitoring/", () => {
    const monitoring = ["prometheus.yml", "rules.yml", "blackbox.yml", "dashboard.json"].map((f) => `monitoring/${f}`);
    const expected = ["plan.json", ...prod.hosts.flatMap((h) => [`${h.name}/master.conf`, `${h.name}/html/50x.html`, `${h.name}/slave01.conf`, `${h.name}/slave02.conf`]), ...monitoring];
    assert.deepEqual([...byPath.keys()].sort(), expected.sort());
    assert.equal(prod.hosts.length, 5);
  });

  it("each instance gets its files at the paths the plan gives it (what the containers upload)", () => {
    for (const h of prod.hosts) {
      const files = instanceFiles(h);
      assert.deepEqual(Object.keys(files).sort(), [h.master.name, ...h.slaves.map((s) => s.name)].sort());
      assert.deepEqual(files[h.master.name], [
        { name: h.master.file, path: CONTAINER.nginxConfig, content: renderMaster(h.master) },
        { name: "html/50x.html", path: `${CONTAINER.htmlDir}/50x.html`, content: byPath.get(`${h.name}/html/50x.html`)!.content },
      ]);
      for (const s of h.slaves) assert.deepEqual(files[s.name], [{ name: s.file, path: s.paths.config, content: renderSlave(s) }]);
      for (const list of Object.values(files)) for (const f of list) assert.equal(byPath.get(`${h.name}/${f.name}`)!.content, f.content);
    }
  });

  it("hosts differ only where their plans do (names)", () => {
    const [a, b] = prod.hosts;
    const strip = (text: string, host: string) => text.replaceAll(host, "HOST");
    assert.equal(strip(renderMaster(a!.master), a!.name), strip(renderMaster(b!.master), b!.name));
  });

  it("is deterministic", () => {
    const again = renderCluster(planCluster(stackSpec("Pulumi.prod.yaml")));
    assert.deepEqual(again, files);
  });

  it("the 50x page is a complete HTML document", () => {
    assert.match(byPath.get("img01/html/50x.html")!.content, /^<!DOCTYPE html>[\s\S]*<\/html>\n$/);
  });
});

describe("npm run render", () => {
  const out = join(tempRoot("render-cli"), "out");
  after(() => rmSync(join(out, ".."), { recursive: true, force: true }));

  it("writes every rendered file for the stack next to plan.json", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "infra/cli/render.ts", "--stack", "prod", "--out", out], { cwd: PROJECT_ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const written = readdirSync(out, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(out.length + 1))
      .sort();
    assert.deepEqual(written, [...byPath.keys()].sort());
    for (const f of files) assert.equal(readFileSync(join(out, f.path), "utf8"), f.content, f.path);
  });
});

describe("renderCluster with acme certificates", () => {
  const spec = stackSpec("Pulumi.prod.yaml");
  const acmePlan = planCluster({ ...spec, certificates: { "star-tving": { mode: "acme", email: "ops@tving.com", challenge: "http-01", staging: false, renewBeforeDays: 30 } } });

  it("also writes what each host's ACME containers run, for review: the issuer's renewer and publisher, every host's agents", () => {
    const acme = renderCluster(acmePlan).filter((f) => f.path.includes("/acme/")).map((f) => f.path);
    assert.deepEqual(acme, [
      "img01/acme/init.sh", "img01/acme/tls-sync.sh", "img01/acme/renewer-star-tving.sh", "img01/acme/tls-publish.conf",
      ...acmePlan.hosts.slice(1).flatMap((h) => [`${h.name}/acme/init.sh`, `${h.name}/acme/tls-sync.sh`]),
    ]);
  });
});
