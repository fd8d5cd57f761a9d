import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";

const work = mkdtempSync(join(tmpdir(), "render-cli-"));
after(() => rmSync(work, { recursive: true, force: true }));

const render = (...args: string[]) => runCli("infra/cli/render.ts", args);

describe("npm run render", () => {
  test("--stack prod writes plan.json with five hosts, their containers and the VIP block", () => {
    const out = join(work, "prod");
    const r = render("--stack", "prod", "--out", out);
    assert.equal(r.status, 0, r.stderr);
    const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8"));
    assert.equal(plan.hosts.length, 5);
    for (const h of plan.hosts) {
      assert.ok(h.master.name && h.slaves.length === 2 && h.resizers.length >= 1, JSON.stringify(h).slice(0, 200));
    }
    assert.equal(plan.vip.address, "180.182.43.12");
    assert.equal(plan.vip.members.length, 5);
  });

  test("--stack local works too", () => {
    const out = join(work, "local");
    const r = render("--stack", "local", "--out", out);
    assert.equal(r.status, 0, r.stderr);
    const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8"));
    assert.deepEqual(plan.hosts.map((h: { name: string }) => h.name), ["local"]);
  });

  test("an invalid stack exits 1, lists every problem by path and writes nothing", () => {
    const dir = join(work, "bad-config");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "Pulumi.bad.yaml"),
      [
        "config:",
        "  image-origin:hosts:",
        "    - { name: img01, address: 172.18.141.999, docker: ssh://deploy@img01 }",
        "    - { name: img01, address: 172.18.141.52, docker: ssh://deploy@img02 }",
        "  image-origin:domains:",
        "    - { id: image-origin, serverNames: [image-origin.example.com], certificate: nope }",
        "",
      ].join("\n"),
    );
    const out = join(work, "bad-out");
    const r = render("--stack", "bad", "--out", out, "--config-dir", dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /invalid image-origin config \(3 problems\)/);
    assert.match(r.stderr, /hosts\[0\]\.address: /);
    assert.match(r.stderr, /hosts\[1\]\.name: duplicate host name/);
    assert.match(r.stderr, /domains\[0\]\.certificate: unknown certificate "nope"/);
    assert.equal(existsSync(out), false);
  });

  test("a second render replaces the first completely", () => {
    const out = join(work, "again");
    assert.equal(render("--stack", "prod", "--out", out).status, 0);
    writeFileSync(join(out, "stale-host.conf"), "left over");
    assert.equal(render("--stack", "prod", "--out", out).status, 0);
    assert.equal(existsSync(join(out, "stale-host.conf")), false);
    assert.ok(readdirSync(join(work)).every((name) => !name.includes(".render-")), "no staging directory left behind");
  });

  test("it refuses to replace a directory that is not an earlier render", () => {
    const out = join(work, "precious");
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "mine");
    const r = render("--stack", "prod", "--out", out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /refusing to replace/);
    assert.equal(readFileSync(join(out, "notes.txt"), "utf8"), "mine");
  });

  test("an unknown stack and a missing argument are clear errors", () => {
    const missing = render("--stack", "staging", "--out", join(work, "x"));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /Pulumi\.staging\.yaml: no such stack file/);
    const usage = render("--stack", "prod");
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: npm run render/);
  });
});
