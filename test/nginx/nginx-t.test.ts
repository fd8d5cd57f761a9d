// Every rendered config of every stack file, loaded by the real nginx from Debian: the
// stack is planned for the `local` target under a temp root (the same planner and
// renderers as production; only the target differs), certificates are made with openssl,
// and `nginx -t` runs as an unprivileged user. Warnings fail the test too.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { block, d } from "../../infra/nginx/ast.js";
import { assertNginxAccepts, nginxBinary, nginxVersion, unprivilegedUser, minimalConfig } from "../helpers/nginx.js";
import { handOver, stageCluster, stackFiles, stackSpec, tempRoot } from "../helpers/stage.js";

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe(`nginx -t on every rendered config (${(() => {
  try {
    return nginxVersion();
  } catch {
    return "nginx missing";
  }
})()}, as ${unprivilegedUser() ? "nobody" : "the current user"})`, () => {
  const files = stackFiles();

  it("discovers the stack files in the repository root", () => {
    assert.ok(files.includes("Pulumi.prod.yaml"), `stack files found: ${files.join(", ")}`);
    assert.ok(files.includes("Pulumi.local.yaml"), `stack files found: ${files.join(", ")}`);
  });

  for (const file of files) {
    it(`${file}: every master and slave config of every host loads without a warning`, async () => {
      const root = tempRoot(file);
      roots.push(root);
      const staged = await stageCluster(stackSpec(file), root);
      const hosts = staged.plan.hosts;
      assert.ok(hosts.length > 0);
      assert.equal(staged.instances.length, hosts.reduce((n, h) => n + 1 + h.slaves.length, 0), "one config per master and slave");
      // Hosts share ports in the local target: one nginx -t at a time.
      for (const inst of staged.instances) await assertNginxAccepts(inst.conf, inst.prefix, `${file} ${inst.name}`);
    });
  }
});

describe("the nginx -t harness itself", () => {
  const root = tempRoot("harness");
  roots.push(root);
  const run = join(root, "run");
  mkdirSync(run, { recursive: true });
  const write = (name: string, body: Parameters<typeof block>[2]) => {
    const path = join(root, name);
    writeFileSync(path, minimalConfig(run, body));
    handOver(root);
    return path;
  };

  it("fails a config nginx rejects, quoting nginx and the offending line", async () => {
    const conf = write("bad.conf", [block("server", [], [d("listen", "127.0.0.1:1"), block("location", ["/"], [d("proxy_pass", "http://no_such_upstream")])])]);
    await assert.rejects(assertNginxAccepts(conf, root), /rejected[\s\S]*no_such_upstream[\s\S]*>\s+proxy_pass/);
  });

  it("fails a config nginx only warns about", async () => {
    const conf = write("warn.conf", [d("gzip_types", "text/html")]);
    await assert.rejects(assertNginxAccepts(conf, root), /warned about[\s\S]*duplicate MIME type/);
  });

  it("names the set-up command when nginx is missing", () => {
    const saved = process.env.NGINX_BIN;
    process.env.NGINX_BIN = join(root, "no-nginx-here");
    try {
      assert.throws(() => nginxBinary(), /bash scripts\/setup\.sh/);
      assert.throws(() => nginxBinary(), /npm test/);
    } finally {
      if (saved === undefined) delete process.env.NGINX_BIN;
      else process.env.NGINX_BIN = saved;
    }
  });
});
