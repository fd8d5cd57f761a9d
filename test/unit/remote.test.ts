import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { hostUrl } from "../../infra/address.js";
import { deliverImageCommand, deliveredId, dockerOnHost, drainCommand, healthGateCommand, nginxCheck, reloadCommand, secondsToTakeBack, secondsToTakeOut, shellQuote, sshArgs } from "../../infra/remote.js";

const work = mkdtempSync(join(tmpdir(), "remote-"));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Run a shell command with fake `ssh` and `docker` first on PATH that log their argv and
 * answer like the real ones: an image id for inspect and ssh, `installerExit` for a
 * container's exit status, `logs` for its log; they exit 1 when their arguments contain
 * `failOn`.
 */
function runWithFakes(script: string, fake: { failOn?: string; installerExit?: string; logs?: string } = {}): { argv: string[][]; stdout: string; stderr: string; status: number | null } {
  const bin = mkdtempSync(join(work, "bin-"));
  const log = join(bin, "calls.jsonl");
  const body = (tool: string) => `#!/usr/bin/env node
const args = process.argv.slice(2), line = args.join(" ");
require("fs").appendFileSync(${JSON.stringify(log)}, JSON.stringify([${JSON.stringify(tool)}, ...args]) + "\\n");
if (line.includes("ExitCode")) process.stdout.write(${JSON.stringify(`${fake.installerExit ?? "0"}\n`)});
else if (line.includes(" logs ") || args[0] === "logs" || line.includes("docker logs")) process.stdout.write(${JSON.stringify(fake.logs ?? "")});
else process.stdout.write(${JSON.stringify(tool)} === "ssh" || args.includes("inspect") ? "sha256:feed\\n" : "image-tar\\n");
${fake.failOn ? `if (line.includes(${JSON.stringify(fake.failOn)})) process.exit(1);` : ""}
`;
  for (const tool of ["ssh", "docker"]) {
    writeFileSync(join(bin, tool), body(tool));
    chmodSync(join(bin, tool), 0o755);
  }
  const r = spawnSync("sh", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
  const argv = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]);
  return { argv, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** The words a remote shell splits an ssh command string into. */
const words = (remote: string): string[] =>
  JSON.parse(execFileSync("sh", ["-c", `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' ${remote}`], { encoding: "utf8" }));

describe("shell quoting", () => {
  test("safe words stay bare, everything else survives a round trip through sh", () => {
    assert.equal(shellQuote("deploy@172.18.141.51"), "deploy@172.18.141.51");
    for (const word of ["it's", "a b", "$(id)", "`id`", "x;y", "", "{{.Id}}", "'"]) {
      assert.equal(execFileSync("sh", ["-c", `printf %s ${shellQuote(word)}`], { encoding: "utf8" }), word);
    }
  });
});

describe("reaching a host's engine", () => {
  test("ssh endpoints become ssh arguments with port, options and no prompts", () => {
    assert.deepEqual(sshArgs({ docker: "ssh://deploy@172.18.141.51:2222", sshOpts: ["-i", "/keys/deploy"] }), [
      "-o", "BatchMode=yes", "-p", "2222", "-i", "/keys/deploy", "deploy@172.18.141.51",
    ]);
    assert.deepEqual(sshArgs({ docker: "ssh://deploy@[2001:db8::51]" }), ["-o", "BatchMode=yes", "deploy@2001:db8::51"]);
  });

  test("tcp and unix endpoints use docker -H", () => {
    assert.equal(dockerOnHost({ docker: "tcp://127.0.0.1:2375" }, ["ps"]), "docker -H tcp://127.0.0.1:2375 ps");
  });

});

describe("delivering an image", () => {
  const build = { kind: "build", dockerfile: "../resizer/Dockerfile", context: ".." } as const;
  const host = { docker: "ssh://deploy@img01:22" };
  const ssh = ["ssh", "-o", "BatchMode=yes", "-p", "22", "deploy@img01"];
  const id = `sha256:${"f".repeat(64)}`;

  /** The delivery against stand-ins: refs the operator's engine and the host's hold. */
  function deliver(script: string, world: { local: string[]; host: string[] }) {
    const bin = mkdtempSync(join(work, "engines-"));
    const state = join(bin, "state.json");
    writeFileSync(state, JSON.stringify(world));
    const body = (tool: string) => `#!/usr/bin/env node
const fs = require("fs"), cp = require("child_process");
const state = ${JSON.stringify(state)}, world = JSON.parse(fs.readFileSync(state, "utf8"));
let args = process.argv.slice(2), where = process.env.ON_HOST ? "host" : "local";
fs.appendFileSync(${JSON.stringify(join(bin, "calls.jsonl"))}, JSON.stringify([where, ${JSON.stringify(tool)}, ...args]) + "\\n");
if (${JSON.stringify(tool)} === "ssh") {
  const r = cp.spawnSync("sh", ["-c", args[args.length - 1]], { stdio: "inherit", env: { ...process.env, ON_HOST: "1" } });
  process.exit(r.status);
}
if (args[0] === "-H") { where = "host"; args = args.slice(2); }
const images = world[where], ref = args[args.length - 1];
const save = () => fs.writeFileSync(state, JSON.stringify(world));
if (args[0] === "image" && args[1] === "inspect") { if (!images.includes(ref)) process.exit(1); if (args.includes("--format")) console.log(${JSON.stringify(id)}); }
else if (args[0] === "pull") { images.push(ref); save(); }
else if (args[0] === "build") { images.push(args[args.indexOf("-t") + 1]); save(); }
else if (args[0] === "save") { if (!images.includes(ref)) process.exit(1); process.stdout.write("tar:" + ref); }
else if (args[0] === "load") { const tar = fs.readFileSync(0, "utf8"); if (!tar.startsWith("tar:")) process.exit(1); images.push(tar.slice(4)); save(); }
`;
    for (const tool of ["ssh", "docker"]) {
      writeFileSync(join(bin, tool), body(tool));
      chmodSync(join(bin, tool), 0o755);
    }
    const r = spawnSync("sh", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
    const calls = readFileSync(join(bin, "calls.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as string[]);
    const after = JSON.parse(readFileSync(state, "utf8")) as { local: string[]; host: string[] };
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, after };
  }

  test("from a machine that never built the resizer: built from the checkout, streamed over ssh, its id printed", () => {
    const run = deliver(deliverImageCommand(host, "image-origin/resizer:abc", build), { local: [], host: [] });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.calls.some((c) => JSON.stringify(c) === JSON.stringify(["local", "docker", "build", "--quiet", "-f", "../resizer/Dockerfile", "-t", "image-origin/resizer:abc", ".."])));
    assert.deepEqual(run.after, { local: ["image-origin/resizer:abc"], host: ["image-origin/resizer:abc"] });
    assert.equal(deliveredId(run.stdout, "image-origin/resizer:abc"), id);
  });

  test("nginx missing on the operator's engine is pulled first", () => {
    const run = deliver(deliverImageCommand(host, "nginx:1.28.0-bookworm", { kind: "pull" }), { local: [], host: [] });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.calls.some((c) => JSON.stringify(c) === JSON.stringify(["local", "docker", "pull", "--quiet", "nginx:1.28.0-bookworm"])));
    assert.deepEqual(run.after.host, ["nginx:1.28.0-bookworm"]);
  });

  test("a host that already holds the ref is left alone: nothing built, pulled or streamed", () => {
    const run = deliver(deliverImageCommand(host, "image-origin/resizer:abc", build), { local: [], host: ["image-origin/resizer:abc"] });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(
      run.calls.filter((c) => c[1] === "ssh").map((c) => words(c.at(-1)!)),
      [
        ["docker", "image", "inspect", "image-origin/resizer:abc"],
        ["docker", "image", "inspect", "--format", "{{.Id}}", "image-origin/resizer:abc"],
      ],
    );
    assert.deepEqual(run.after.local, []);
    assert.equal(run.stdout.trim(), id);
    for (const c of run.calls.filter((c) => c[1] === "ssh")) assert.deepEqual(c.slice(1, -1), ssh);
  });

  test("a failed stream fails the delivery", () => {
    const run = deliver(deliverImageCommand(host, "nginx:1.28.0-bookworm", { kind: "pull" }).replace("docker pull", "true"), { local: [], host: [] });
    assert.notEqual(run.status, 0);
  });

  test("a unix:// host is the operator's own engine: built there, nothing streamed", () => {
    const run = deliver(deliverImageCommand({ docker: "unix:///var/run/docker.sock" }, "image-origin/resizer:abc", build), { local: [], host: [] });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(!run.calls.some((c) => c.includes("save") || c.includes("load")));
    assert.deepEqual(run.after.host, ["image-origin/resizer:abc"]);
  });

  test("the delivered id is read back, anything else is refused", () => {
    assert.equal(deliveredId(`${id}\n`, "x:1"), id);
    assert.throws(() => deliveredId("Error: No such image\n", "x:1"), /expected the image id of x:1/);
  });
});

describe("reloading an nginx container in place", () => {
  const target = { container: "img01-master", installer: "img01-master-files", check: nginxCheck("/etc/image-origin/nginx.conf") };
  const ssh = ["ssh", "-o", "BatchMode=yes", "-p", "22", "deploy@img01"];

  test("after an installer that succeeded: the check in the running container, SIGHUP, then its log", () => {
    const { argv, status } = runWithFakes(reloadCommand({ docker: "ssh://deploy@img01:22" }, target));
    assert.equal(status, 0);
    for (const a of argv) assert.deepEqual(a.slice(0, -1), ssh);
    assert.deepEqual(argv.map((a) => words(a.at(-1)!)), [
      ["docker", "inspect", "--format", "{{.State.ExitCode}}", "img01-master-files"],
      ["docker", "exec", "img01-master", "nginx", "-t", "-q", "-e", "stderr", "-c", "/etc/image-origin/nginx.conf"],
      ["docker", "kill", "--signal", "HUP", "img01-master"],
      ["docker", "logs", "--since", "10s", "img01-master"],
    ]);
  });

  test("an installer that failed stops here with its output; nothing is signalled", () => {
    const { argv, status, stderr } = runWithFakes(reloadCommand({ docker: "unix:///var/run/docker.sock" }, target), { installerExit: "1", logs: "nginx: [emerg] unknown directive\n" });
    assert.notEqual(status, 0);
    assert.match(stderr, /img01-master-files exited 1: the new files were not installed; img01-master keeps the previous ones/);
    assert.match(stderr, /unknown directive/);
    assert.ok(!argv.some((a) => a.includes("kill")));
  });

  test("a config the running container's check refuses is never signalled", () => {
    const { argv, status } = runWithFakes(reloadCommand({ docker: "unix:///var/run/docker.sock" }, target), { failOn: "nginx -t" });
    assert.notEqual(status, 0);
    assert.deepEqual(argv.map((a) => a[3]), ["inspect", "exec"]);
  });

  test("a reload nginx refused after the check is reported, not taken for success", () => {
    const { status, stderr } = runWithFakes(reloadCommand({ docker: "unix:///var/run/docker.sock" }, target), {
      logs: '2026/11/30 21:00:00 [emerg] 1#1: cache "resize_cache" uses the "/var/cache/nginx/resize" cache path while previously it used another\n',
    });
    assert.notEqual(status, 0);
    assert.match(stderr, /\[emerg\].*resize_cache/);
    assert.match(stderr, /img01-master refused the new config on reload and still serves the previous one/);
  });
});

describe("health gate", () => {
  test("IPv6 addresses are bracketed in URLs", () => {
    assert.equal(hostUrl("https", "2001:db8::51", 443, "/healthz"), "https://[2001:db8::51]:443/healthz");
  });

  test("passes once every URL answers the expected status, fails after the timeout otherwise", async () => {
    let healthy = false;
    const server: Server = createServer((req, res) => {
      res.statusCode = req.url === "/healthz" && healthy ? 200 : 503;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const url = hostUrl("http", "127.0.0.1", port, "/healthz");
    try {
      const failing = spawnSync("sh", ["-c", healthGateCommand([url], 200, 2)], { encoding: "utf8" });
      assert.equal(failing.status, 1);
      assert.match(failing.stderr, /did not answer 200 within 2s/);

      setTimeout(() => (healthy = true), 1500);
      const gate = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
        const child = spawn("sh", ["-c", healthGateCommand([url], 200, 20)]);
        let stdout = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d));
        child.on("exit", (status: number | null) => resolve({ status, stdout }));
      });
      assert.equal(gate.status, 0);
      assert.match(gate.stdout, /answers 200/);
    } finally {
      server.close();
    }
  });
});

describe("draining and re-admission follow the L4's timing", () => {
  const l4 = { intervalSeconds: 5, timeoutSeconds: 3, rise: 2, fall: 3 };

  test("out after fall checks, back after rise checks, each interval apart and the last one timing out", () => {
    assert.equal(secondsToTakeOut(l4), 18);
    assert.equal(secondsToTakeBack(l4), 13);
  });

  test("the drain sets the master's flag, then waits until the L4 has certainly taken the host out", () => {
    const script = drainCommand({ docker: "ssh://deploy@img01:22" }, { container: "img01-master", drainFile: "/tmp/nginx/drain" }, l4);
    const { argv, status, stderr } = runWithFakes(`sleep() { echo "sleep $1" >&2; }\n${script}`);
    assert.equal(status, 0);
    assert.deepEqual(words(argv[0]!.at(-1)!), ["docker", "exec", "img01-master", "touch", "/tmp/nginx/drain"]);
    assert.match(stderr, /img01-master drained: waiting 18s/);
    assert.match(stderr, /^sleep 18$/m);
  });

  test("a master that is not running has nothing to drain, and nothing to wait for", () => {
    const script = drainCommand({ docker: "unix:///var/run/docker.sock" }, { container: "img01-master", drainFile: "/tmp/nginx/drain" }, l4);
    const { status, stderr } = runWithFakes(`sleep() { echo "sleep $1" >&2; }\n${script}`, { failOn: "touch" });
    assert.equal(status, 0);
    assert.match(stderr, /img01-master is not running: nothing to drain/);
    assert.doesNotMatch(stderr, /sleep/);
  });

  test("the gate passes only after rise good checks in a row, an interval apart, and starts counting again after a failure", async () => {
    const answers = [200, 200, 503, 200, 200, 200];
    let asked = 0;
    const server: Server = createServer((_req, res) => {
      res.statusCode = answers[Math.min(asked++, answers.length - 1)]!;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = hostUrl("http", "127.0.0.1", (server.address() as { port: number }).port, "/healthz");
    try {
      const fast = { intervalSeconds: 1, timeoutSeconds: 1, rise: 2, fall: 3 };
      const started = Date.now();
      const gate = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("sh", ["-c", healthGateCommand([url], 200, 30, fast)]);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d));
        child.stderr.on("data", (d: Buffer) => (stderr += d));
        child.on("exit", (status: number | null) => resolve({ status, stdout, stderr }));
      });
      assert.equal(gate.status, 0, gate.stderr);
      // First 200, one good round, the 503 (count restarts), two good rounds: 5 checks.
      assert.equal(asked, 5);
      assert.match(gate.stderr, /failed again: counting the L4's 2 checks anew/);
      assert.match(gate.stdout, /passed 2 checks 1s apart: the L4 has taken the host back/);
      assert.ok(Date.now() - started >= 4000, "four intervals and one timeout");
    } finally {
      server.close();
    }
  });
});

