// The seeds' behaviours, end to end: `npm start`'s launcher runs the local stack (slaves,
// resizers, master as real processes on loopback) and real clients ask the master over
// HTTP and HTTPS what operators know from seeds 000/001.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { accessLogCount, get, SCHEMES, startE2E, type E2E } from "../helpers/e2e.js";

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
  it("every nginx and resizer process runs unprivileged (nobody when started as root)", () => {
    const uid = process.getuid?.() === 0 ? e2e.cluster.user!.uid : process.getuid?.();
    for (const inst of e2e.cluster.instances) {
      const status = readFileSync(`/proc/${inst.pid}/status`, "utf8");
      const real = /^Uid:\s+(\d+)/m.exec(status)![1];
      assert.equal(Number(real), uid, inst.name);
    }
  });

  it("the configs running are exactly the rendered ones: no file in the work dir was edited", async () => {
    const { instanceFiles } = await import("../../infra/render.js");
    for (const files of Object.values(instanceFiles(e2e.cluster.host))) {
      for (const f of files) assert.equal(readFileSync(f.path, "utf8"), f.content, f.path);
    }
  });
});
