// `npm run render` writes every host's master.conf, slaveNN.conf and the master's 50x page
// next to plan.json; renderCluster says where each instance reads its files.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { renderMaster } from "../../infra/nginx/master.js";
import { renderSlave } from "../../infra/nginx/slave.js";
import { renderCluster } from "../../infra/render.js";
import { CONTAINER, planCluster } from "../../infra/topology.js";
import { PROJECT_ROOT, stackSpec, tempRoot } from "../helpers/stage.js";

const prod = planCluster(stackSpec("Pulumi.prod.yaml"));
const files = renderCluster(prod);
const byPath = new Map(files.map((f) => [f.path, f]));

describe("renderCluster", () => {
  it("returns plan.json and, per host, master.conf, slave01.conf, slave02.conf and html/50x.html", () => {
    const expected = ["plan.json", ...prod.hosts.flatMap((h) => [`${h.name}/master.conf`, `${h.name}/html/50x.html`, `${h.name}/slave01.conf`, `${h.name}/slave02.conf`])];
    assert.deepEqual([...byPath.keys()].sort(), expected.sort());
    assert.equal(prod.hosts.length, 5);
  });

  it("each config is the renderer's output for that instance, to be read at the plan's config path", () => {
    for (const h of prod.hosts) {
      const m = byPath.get(`${h.name}/${h.master.file}`)!;
      assert.equal(m.content, renderMaster(h.master));
      assert.equal(m.deployPath, CONTAINER.nginxConfig);
      for (const s of h.slaves) {
        const f = byPath.get(`${h.name}/${s.file}`)!;
        assert.equal(f.content, renderSlave(s));
        assert.equal(f.deployPath, s.paths.config);
      }
      assert.equal(byPath.get(`${h.name}/html/50x.html`)!.deployPath, `${h.master.paths.htmlDir}/50x.html`);
    }
    assert.equal(byPath.get("plan.json")!.deployPath, undefined);
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
