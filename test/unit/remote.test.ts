import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { hostUrl } from "../../infra/address.js";
import { deliverImagesCommand, deliveredIds, dockerOnHost, healthGateCommand, nginxCheck, reloadCommand, shellQuote, sshArgs } from "../../infra/remote.js";

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

  test("delivery streams every image over ssh and prints the id of each", () => {
    const script = deliverImagesCommand({ docker: "ssh://deploy@img01:22" }, ["image-origin/resizer:abc", "nginx:1.28.0-bookworm"]);
    const { argv, stdout, status } = runWithFakes(script);
    assert.equal(status, 0);
    // `docker save | ssh ... docker load` start together: look calls up, do not count on order.
    assert.equal(argv.length, 3);
    assert.ok(argv.some((a) => JSON.stringify(a) === JSON.stringify(["docker", "save", "image-origin/resizer:abc", "nginx:1.28.0-bookworm"])));
    assert.ok(argv.some((a) => JSON.stringify(a) === JSON.stringify(["ssh", "-o", "BatchMode=yes", "-p", "22", "deploy@img01", "docker load --quiet"])));
    // The remote shell receives one string; it must split into exactly these words.
    const remote = argv.find((a) => a[0] === "ssh" && a.at(-1)!.includes("inspect"))!.at(-1)!;
    assert.deepEqual(words(remote), [
      "docker", "image", "inspect", "--format", "{{.Id}}", "image-origin/resizer:abc", "nginx:1.28.0-bookworm",
    ]);
    assert.equal(stdout.trim(), "sha256:feed");
  });

  test("the delivered ids are read back per ref, and anything else is refused", () => {
    const a = `sha256:${"a".repeat(64)}`;
    const b = `sha256:${"b".repeat(64)}`;
    assert.deepEqual(deliveredIds(`${a}\n${b}\n`, ["image-origin/resizer:abc", "nginx:1.28.0-bookworm"]), {
      "image-origin/resizer:abc": a,
      "nginx:1.28.0-bookworm": b,
    });
    assert.throws(() => deliveredIds(`${a}\n`, ["x:1", "y:2"]), /expected 2 image ids/);
    assert.throws(() => deliveredIds("Error: No such image\n", ["x:1"]), /expected 1 image ids/);
  });

  test("a unix:// host is the operator's own engine: nothing is streamed", () => {
    const { argv } = runWithFakes(deliverImagesCommand({ docker: "unix:///var/run/docker.sock" }, ["image-origin/resizer:abc"]));
    assert.deepEqual(argv, [["docker", "-H", "unix:///var/run/docker.sock", "image", "inspect", "--format", "{{.Id}}", "image-origin/resizer:abc"]]);
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
