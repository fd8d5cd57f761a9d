import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
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

  const script = installScript({
    stagingDir: staging,
    targetDir: target,
    files: [{ path: join(target, "nginx.conf") }, { path: join(target, "tls/a.key"), mode: "0400", owner: "101:101" }],
  });
  const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);

  assert.deepEqual(readdirSync(join(target, "tls")), ["a.key"], "nothing left from the earlier config");
  assert.deepEqual(readdirSync(staging), [], "no copy of a key stays in the installer");
  const conf = statSync(join(target, "nginx.conf"));
  assert.equal(conf.mode & 0o777, 0o644);
  assert.equal(conf.uid, 0);
  const key = statSync(join(target, "tls/a.key"));
  assert.equal(key.mode & 0o777, 0o400);
  assert.deepEqual([key.uid, key.gid], [101, 101]);
});

test("refuses a file outside the target directory", () => {
  assert.throws(() => installScript({ stagingDir: "/staging", targetDir: "/etc/image-origin", files: [{ path: "/etc/passwd" }] }), /outside/);
});
