// The seeds' behaviours, end to end: `npm start`'s launcher runs the local stack (slaves,
// resizers, master as real processes on loopback) and real clients ask the master over
// HTTP and HTTPS what operators know from seeds 000/001.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { childrenOf } from "../../infra/local/process.js";
import { accessLogCount, get, SCHEMES, startE2E, type E2E } from "../helpers/e2e.js";
import { all, argsOf, one, parseConf, servingServers } from "../helpers/nginx-conf.js";
import { PROJECT_ROOT } from "../helpers/stage.js";

let e2e: E2E;
before(async () => {
  e2e = await startE2E("seeds");
});
after(() => e2e?.close());

const file = (path: string) => readFileSync(join(e2e.cluster.imagesDir, path));

for (const scheme of SCHEMES) {
  describe(`through the master over ${scheme.toUpperCase()}`, () => {
    it("a still comes from the slaves with the image expiry (10s)", async () => {
      const path = e2e.tree.stills[1]!;
      const r = await get(e2e, path, { scheme });
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "image/jpeg");
      assert.equal(r.headers["cache-control"], "max-age=10");
      assert.ok(r.headers.expires, "Expires is set too");
      assert.deepEqual(r.body, file(path));
    });

    it("/ is the images tree's index.html, from the slaves", async () => {
      const r = await get(e2e, "/", { scheme });
      assert.equal(r.status, 200);
      assert.match(String(r.headers["content-type"]), /^text\/html/);
      assert.deepEqual(r.body, file("index.html"));
    });

    it("css and js get the script expiry (5m) and are gzipped; images never are", async () => {
      const gzip = { "accept-encoding": "gzip" };
      for (const path of [e2e.tree.css, e2e.tree.js]) {
        const r = await get(e2e, path, { scheme, headers: gzip });
        assert.equal(r.status, 200, path);
        assert.equal(r.headers["cache-control"], "max-age=300", path);
        assert.equal(r.headers["content-encoding"], "gzip", path);
        assert.deepEqual(gunzipSync(r.body), file(path), path);
      }
      for (const path of [e2e.tree.stills[0]!, e2e.tree.thumbnails[0]!, e2e.tree.profiles[0]!]) {
        const r = await get(e2e, path, { scheme, headers: gzip });
        assert.equal(r.status, 200, path);
        assert.equal(r.headers["content-encoding"], undefined, `${path} is not gzipped`);
      }
      const plain = await get(e2e, e2e.tree.css, { scheme });
      assert.equal(plain.headers["content-encoding"], undefined, "no gzip for a client that did not ask");
    });

    it("a thumbnail comes straight from the master's disk with a 5s expiry (no slave sees it)", async () => {
      const path = e2e.tree.thumbnails[3]!;
      const r = await get(e2e, path, { scheme });
      assert.equal(r.status, 200);
      assert.equal(r.headers["cache-control"], "max-age=5");
      assert.deepEqual(r.body, file(path));
      for (const slave of e2e.cluster.slaves) assert.equal(accessLogCount(slave.accessLog, path), 0, `${slave.name} served ${path}`);
    });

    it("a missing thumbnail answers 404 on image-origin and 400 on the stillshot domain (by Host)", async () => {
      const main = await get(e2e, "/thumbnail/2024/01/missing.jpg", { scheme, host: e2e.main.serverNames[0]! });
      assert.equal(main.status, 404);
      for (const name of e2e.stillshot.serverNames) {
        const r = await get(e2e, "/thumbnail/2024/01/missing.jpg", { scheme, host: name });
        assert.equal(r.status, 400, name);
      }
    });

    it("a missing profile picture gets the default profile image; an existing one itself", async () => {
      const prefix = e2e.cluster.host.master.tuning.profileFallback.prefix;
      const missing = await get(e2e, `${prefix}no-such-user.gif`, { scheme });
      assert.equal(missing.status, 200);
      assert.equal(missing.headers["content-type"], "image/gif");
      assert.deepEqual(missing.body, file(e2e.tree.profileFallback));
      const own = await get(e2e, e2e.tree.profiles[0]!, { scheme });
      assert.deepEqual(own.body, file(e2e.tree.profiles[0]!));
    });

    it("a missing file answers 404 with the slaves' 40x page", async () => {
      const r = await get(e2e, "/images/no-such-file.jpg", { scheme });
      assert.equal(r.status, 404);
      assert.deepEqual(r.body, file("40x.html"));
    });

    it("/favicon.ico answers 204 and /healthz 200", async () => {
      assert.equal((await get(e2e, "/favicon.ico", { scheme })).status, 204);
      const health = await get(e2e, "/healthz", { scheme });
      assert.equal(health.status, 200);
      assert.equal(health.body.toString(), "ok");
    });
  });
}

describe("HTTPS", () => {
  it("every domain's name verifies against its certificate by SNI", async () => {
    for (const name of [...e2e.main.serverNames, ...e2e.stillshot.serverNames]) {
      const r = await get(e2e, "/healthz", { scheme: "https", host: name });
      assert.equal(r.status, 200, name);
    }
  });
});

describe("the local cluster runs like the containers", () => {
  it("every nginx and resizer process runs unprivileged: as nobody when started as root, never uid 0", () => {
    const asRoot = process.getuid!() === 0;
    for (const inst of e2e.cluster.instances) {
      // The instance's own process and its children (nginx's workers).
      for (const pid of [inst.pid!, ...childrenOf(inst.pid!)]) {
        const ids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))!.slice(1).map(Number);
        const name = execFileSync("id", ["-nu", String(ids[0])], { encoding: "utf8" }).trim();
        const who = `${inst.name} (pid ${pid}) runs as ${name} (real, effective, saved, fs uids ${ids.join(" ")})`;
        if (asRoot) {
          assert.ok(ids.every((id) => id !== 0), who);
          assert.equal(name, "nobody", who);
        } else {
          assert.ok(ids.every((id) => id === process.getuid!()), who);
        }
      }
    }
  });

  it("a file only root may read is refused by the master, the slaves and the resizers; the same file readable is served", async () => {
    // Mode 0600 owned by root (0000 when not root): only a process with root's privileges reads it.
    const jpeg = file(e2e.tree.stills[0]!);
    const lock = (path: string) => {
      mkdirSync(dirname(join(e2e.cluster.imagesDir, path)), { recursive: true });
      writeFileSync(join(e2e.cluster.imagesDir, path), jpeg, { mode: process.getuid!() === 0 ? 0o600 : 0o000 });
      chmodSync(join(e2e.cluster.imagesDir, path), process.getuid!() === 0 ? 0o600 : 0o000);
    };
    lock("private/root-only.jpg");
    lock("thumbnail/2024/01/root-only.jpg");
    writeFileSync(join(e2e.cluster.imagesDir, "private/readable.jpg"), jpeg, { mode: 0o644 });

    assert.equal((await get(e2e, "/private/root-only.jpg")).status, 403, "a slave read it");
    // try_files opens it as the symlink check does (component by component), cannot, and
    // falls through to =404: refused all the same, without saying the file exists.
    assert.equal((await get(e2e, "/thumbnail/2024/01/root-only.jpg")).status, 404, "the master read it");
    const resized = await get(e2e, "/resize?src=private/root-only.jpg&w=64");
    assert.equal(resized.status, 404, `a resizer read it (${resized.status})`);
    // Control: the path and the bytes are fine, only the permission differs.
    assert.equal((await get(e2e, "/private/readable.jpg")).status, 200);
    assert.equal((await get(e2e, "/resize?src=private/readable.jpg&w=64")).status, 200);
  });

  it("the master runs with the stack file's domains, its slaves and resizers as upstream members, on the ports the clients use", async () => {
    // Expectations from the stack file's text and from the running processes, not from the
    // renderer: the config nginx was started with (its command line), read as nginx reads it.
    const stack = parseYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.local.yaml"), "utf8")).config as Record<string, any>;
    const master = e2e.cluster.master;
    // nginx sets its title to "nginx: master process <its command line>".
    const cmdline = readFileSync(`/proc/${master.pid}/cmdline`, "utf8").replaceAll("\0", " ");
    const conf = parseConf(readFileSync(/ -c (\S+)/.exec(cmdline)![1]!, "utf8"));
    const http = one(conf, "http");
    const servers = servingServers(http);
    assert.deepEqual(
      servers.map((s) => argsOf(s, "server_name")),
      (stack["image-origin:domains"] as { serverNames: string[] }[]).map((d) => d.serverNames),
    );
    // Every server listens where this test's requests went (they were answered).
    const m = e2e.cluster.host.master;
    for (const s of servers) {
      assert.deepEqual(all(s, "listen").map((l) => l.args[0]), [`${m.http.address}:${m.http.port}`, `${m.https!.address}:${m.https!.port}`]);
    }
    // The upstream members are the running slaves and resizers: one each, where each answers.
    const members = (name: string) => all(one(http, "upstream", name), "server").map((st) => st.args[0]!);
    const listening = (instances: { listens: { address: string; port: number }[] }[]) => instances.map((i) => `${i.listens[0]!.address}:${i.listens[0]!.port}`);
    assert.deepEqual(members("image_slaves"), listening(e2e.cluster.slaves));
    assert.deepEqual(members("image_resizers"), listening(e2e.cluster.resizers));
    assert.equal(members("image_resizers").length, (stack["image-origin:resizer"] as { replicas: number }).replicas);
    for (const address of [...members("image_slaves"), ...members("image_resizers")]) {
      const status = (await fetch(`http://${address}/healthz`)).status;
      assert.equal(status, 200, `${address} answers`);
    }
  });
});
