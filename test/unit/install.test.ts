import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { installScript } from "../../infra/install.js";

const work = mkdtempSync(join(tmpdir(), "install-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("installs exactly the staged files with their modes and owners", () => {
  const staging = join(work, "staging");
  const target = join(work, "target");
  for (const d of [join(staging, "tls"), join(target, "tls")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(staging, "nginx.conf"), "events {}\n");
  writeFileSync(join(staging, "tls", "a.key"), "KEY");
  writeFileSync(join(target, "tls", "removed.crt"), "from an earlier config");
  mkdirSync(join(target, "html"));
  writeFileSync(join(target, "html", "removed.html"), "from an earlier config");

  const script = installScript({
    stagingDir: staging,
    targetDir: target,
    files: [{ path: join(target, "nginx.conf") }, { path: join(target, "tls/a.key"), mode: "0400", owner: "101:101" }],
  });
  const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);

  assert.deepEqual(readdirSync(join(target, "tls")), ["a.key"], "nothing left from the earlier config");
  assert.deepEqual(readdirSync(target).sort(), ["nginx.conf", "tls"], "no emptied directory, no scratch directory");
  assert.deepEqual(readdirSync(staging), [], "no copy of a key stays in the installer");
  const conf = statSync(join(target, "nginx.conf"));
  assert.equal(conf.mode & 0o777, 0o644);
  assert.equal(conf.uid, 0);
  const key = statSync(join(target, "tls/a.key"));
  assert.equal(key.mode & 0o777, 0o400);
  assert.deepEqual([key.uid, key.gid], [101, 101]);
});

test("a reader of the live directory never finds a file missing or half-written while it is reinstalled", async () => {
  const staging = join(work, "live-staging");
  const target = join(work, "live");
  mkdirSync(target);
  const page = (n: number) => `<html>${String(n).repeat(200_000)}</html>\n`;
  writeFileSync(join(target, "50x.html"), page(0));
  const script = installScript({ stagingDir: staging, targetDir: target, files: [{ path: join(target, "50x.html") }] });

  let reading = true;
  const seen = new Set<string>();
  const reader = (async () => {
    while (reading) {
      const text = readFileSync(join(target, "50x.html"), "utf8"); // throws on a missing file
      assert.match(text, /^<html>(\d)\1{199999}<\/html>\n$/, "a whole page");
      seen.add(text[6]!);
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let n = 1; n <= 20; n++) {
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, "50x.html"), page(n % 10));
    const r = await new Promise<number | null>((resolve) => spawn("sh", ["-c", script], { stdio: "ignore" }).on("exit", resolve));
    assert.equal(r, 0);
  }
  reading = false;
  await reader;
  assert.ok(seen.size > 1, "the reader saw the content change");
});

test("refuses a file outside the target directory", () => {
  assert.throws(() => installScript({ stagingDir: "/staging", targetDir: "/etc/image-origin", files: [{ path: "/etc/passwd" }] }), /outside/);
});
