// scripts/drift-files.ts against a local stand-in of two hosts: real containers on this
// machine's engine (named as the plan names them, holding the rendered files at their
// installed paths), one host reached through `unix://`, the other through `ssh://` where a
// stand-in `ssh` on PATH runs the remote command here and records how it was called.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { instanceFiles } from "../../infra/render.js";
import { specFromStackYaml } from "../../infra/stack.js";
import { planCluster } from "../../infra/topology.js";
import { projectRoot } from "../helpers/cli.js";
import { docker, dockerRaw, requireDocker, requireImage } from "../helpers/docker.js";

const IMAGE = "nginx:1.28.0-bookworm";
const id = `d${process.pid.toString(36)}`;
const [A, B] = [`${id}a`, `${id}b`];
const work = mkdtempSync(join(tmpdir(), "drift-"));
const stack = [
  "config:",
  "  image-origin:hosts:",
  `    - { name: ${A}, address: 127.0.0.1, docker: "unix:///var/run/docker.sock" }`,
  `    - { name: ${B}, address: 127.0.0.2, docker: "ssh://deploy@127.0.0.2:2222", sshOpts: ["-i", "/keys/deploy"] }`,
  "  image-origin:domains:",
  "    - { id: main, serverNames: [img.example.com] }",
  "",
].join("\n");
writeFileSync(join(work, "Pulumi.drift.yaml"), stack);
const plan = planCluster(specFromStackYaml(stack, "Pulumi.drift.yaml"));
const containers = plan.hosts.flatMap((h) => Object.keys(instanceFiles(h)));

// The stand-in ssh: drops its options and destination, logs them, runs the command here.
const bin = join(work, "bin");
const sshLog = join(work, "ssh.log");
spawnSync("mkdir", ["-p", bin]);
writeFileSync(
  join(bin, "ssh"),
  [
    "#!/bin/sh",
    `printf '%s\\n' "$*" >> ${sshLog}`,
    'while [ $# -gt 1 ]; do case "$1" in -o|-p|-i) shift 2 ;; *) shift ;; esac; done',
    'exec sh -c "$1"',
    "",
  ].join("\n"),
);
chmodSync(join(bin, "ssh"), 0o755);

function drift(...args: string[]) {
  const r = spawnSync(join(projectRoot, "node_modules/.bin/tsx"), [join(projectRoot, "scripts/drift-files.ts"), "--stack", "drift", "--config-dir", work, ...args], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes a file inside a stand-in container, as the installer put it there. */
async function put(container: string, path: string, content: string) {
  const file = join(work, "put");
  writeFileSync(file, content);
  await docker(["exec", container, "mkdir", "-p", path.slice(0, path.lastIndexOf("/"))]);
  await docker(["cp", file, `${container}:${path}`]);
}

before(async () => {
  await requireDocker();
  await requireImage(IMAGE);
  for (const host of plan.hosts) {
    for (const [instance, files] of Object.entries(instanceFiles(host))) {
      await docker(["run", "-d", "--name", instance, "--network", "none", "--entrypoint", "sleep", IMAGE, "infinity"]);
      for (const f of files) await put(instance, f.path, f.content);
    }
  }
});
after(async () => {
  await dockerRaw(["rm", "-f", ...containers]);
  rmSync(work, { recursive: true, force: true });
});

describe("scripts/drift-files.ts", () => {
  test("every installed file as rendered: exit 0, and the ssh host asked through ssh with its options", () => {
    const r = drift();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `stack drift: all 8 rendered nginx files match on ${A}, ${B}\n`);
    const calls = readFileSync(sshLog, "utf8").trim().split("\n");
    assert.equal(calls.length, 3, "one ssh per nginx instance of the ssh host");
    for (const c of calls) assert.match(c, new RegExp(`^-o BatchMode=yes -p 2222 -i /keys/deploy deploy@127\\.0\\.0\\.2 docker exec ${B}-(master|slave0[12]) sha256sum /etc/image-origin/`));
  });

  test("a hand-edited master config and a deleted slave config fail with what differs", async () => {
    const conf = plan.hosts[1]!.master.paths.config;
    const rendered = instanceFiles(plan.hosts[1]!)[`${B}-master`]!.find((f) => f.path === conf)!.content;
    await put(`${B}-master`, conf, rendered.replace("keepalive_requests 1000;", "keepalive_requests 5;"));
    await docker(["exec", `${A}-slave02`, "rm", plan.hosts[0]!.slaves[1]!.paths.config]);
    try {
      const r = drift();
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^stack drift: 2 of 8 nginx files drifted or could not be read$/m);
      assert.match(r.stdout, new RegExp(`^${A}-slave02 \\(${A}\\) /etc/image-origin/nginx.conf: missing$`, "m"));
      assert.match(r.stdout, new RegExp(`^${B}-master \\(${B}\\) /etc/image-origin/nginx.conf: differs \\(installed [0-9a-f]{12}, rendered [0-9a-f]{12}\\)$`, "m"));
      assert.match(r.stdout, /^ {4}-\s+keepalive_requests 5;\n {4}\+\s+keepalive_requests 1000;$/m);
      assert.match(r.stdout, /RUNBOOK\.md#files-drifted/);
      // --host narrows the check to one host.
      const onlyA = drift("--host", A);
      assert.equal(onlyA.status, 1);
      assert.doesNotMatch(onlyA.stdout, new RegExp(`${B}-master`));
    } finally {
      await put(`${B}-master`, conf, rendered);
      const slave = instanceFiles(plan.hosts[0]!)[`${A}-slave02`]![0]!;
      await put(`${A}-slave02`, slave.path, slave.content);
    }
    assert.equal(drift().status, 0);
  });

  test("a container that is gone is reported, not taken for a match", async () => {
    await docker(["rm", "-f", `${A}-slave01`]);
    const r = drift();
    assert.equal(r.status, 1);
    assert.match(r.stdout, new RegExp(`^${A}-slave01 \\(${A}\\): could not be asked: .*No such container`, "m"));
  });

  test("usage errors exit 2", () => {
    assert.equal(drift("--host", "nosuch").status, 2);
    const r = spawnSync(join(projectRoot, "node_modules/.bin/tsx"), [join(projectRoot, "scripts/drift-files.ts")], { encoding: "utf8" });
    assert.equal(r.status, 2);
  });
});
