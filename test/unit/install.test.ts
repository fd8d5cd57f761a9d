import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { installScript, type InstallArgs } from "../../infra/install.js";

const work = mkdtempSync(join(tmpdir(), "install-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** A fresh staging, config (check) and volume directory under `work/name`. */
function dirs(name: string): { staging: string; config: string; volume: string } {
  const base = join(work, name);
  const d = { staging: join(base, "staging"), config: join(base, "etc"), volume: join(base, "volume") };
  for (const dir of [d.staging, d.volume]) mkdirSync(dir, { recursive: true });
  return d;
}

const args = (d: ReturnType<typeof dirs>, files: InstallArgs["files"], check: string[]): InstallArgs => ({
  stagingDir: d.staging,
  configDir: d.config,
  volumeDir: d.volume,
  files,
  checkDirs: [join(d.config, "..", "run")],
  check,
});

test("checks the files at their real paths, then installs exactly them with their modes and owners", () => {
  const d = dirs("ok");
  mkdirSync(join(d.staging, "tls"));
  writeFileSync(join(d.staging, "nginx.conf"), "events {}\n");
  writeFileSync(join(d.staging, "tls", "a.key"), "KEY");
  mkdirSync(join(d.volume, "tls"));
  writeFileSync(join(d.volume, "tls", "removed.crt"), "from an earlier config");
  mkdirSync(join(d.volume, "html"));
  writeFileSync(join(d.volume, "html", "removed.html"), "from an earlier config");

  // The check sees the new files where the instance will see them, and its directories.
  const check = ["sh", "-c", `grep -q events ${d.config}/nginx.conf && test -f ${d.config}/tls/a.key && test -d ${join(d.config, "..", "run")}`];
  const script = installScript(args(d, [{ path: join(d.config, "nginx.conf") }, { path: join(d.config, "tls/a.key"), mode: "0400", owner: "101:101" }], check));
  const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);

  assert.deepEqual(readdirSync(join(d.volume, "tls")), ["a.key"], "nothing left from the earlier config");
  assert.deepEqual(readdirSync(d.volume).sort(), ["nginx.conf", "tls"], "no emptied directory, no scratch directory");
  assert.deepEqual([readdirSync(d.staging), readdirSync(d.config)], [[], []], "no copy of a key stays in the installer");
  const conf = statSync(join(d.volume, "nginx.conf"));
  assert.equal(conf.mode & 0o777, 0o644);
  assert.equal(conf.uid, 0);
  const key = statSync(join(d.volume, "tls/a.key"));
  assert.equal(key.mode & 0o777, 0o400);
  assert.deepEqual([key.uid, key.gid], [101, 101]);
});

test("files the check refuses never reach the volume, and the installer fails", () => {
  const d = dirs("refused");
  writeFileSync(join(d.staging, "nginx.conf"), "broken {\n");
  writeFileSync(join(d.volume, "nginx.conf"), "events {}\n");
  const script = installScript(args(d, [{ path: join(d.config, "nginx.conf") }], ["sh", "-c", `grep -q events ${d.config}/nginx.conf`]));
  assert.notEqual(spawnSync("sh", ["-c", script]).status, 0);
  assert.deepEqual(readdirSync(d.volume), ["nginx.conf"]);
  assert.equal(readFileSync(join(d.volume, "nginx.conf"), "utf8"), "events {}\n", "the previous config, whole");
});

test("a reader of the live volume never finds a file missing or half-written while it is reinstalled", async () => {
  const d = dirs("live");
  const page = (n: number) => `<html>${String(n).repeat(200_000)}</html>\n`;
  writeFileSync(join(d.volume, "50x.html"), page(0));
  const script = installScript(args(d, [{ path: join(d.config, "50x.html") }], ["true"]));

  let reading = true;
  const seen = new Set<string>();
  const reader = (async () => {
    while (reading) {
      const text = readFileSync(join(d.volume, "50x.html"), "utf8"); // throws on a missing file
      assert.match(text, /^<html>(\d)\1{199999}<\/html>\n$/, "a whole page");
      seen.add(text[6]!);
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let n = 1; n <= 20; n++) {
    writeFileSync(join(d.staging, "50x.html"), page(n % 10));
    const r = await new Promise<number | null>((resolve) => spawn("sh", ["-c", script], { stdio: "ignore" }).on("exit", resolve));
    assert.equal(r, 0);
  }
  reading = false;
  await reader;
  assert.ok(seen.size > 1, "the reader saw the content change");
});

test("refuses a file outside the config directory, or in the installer's scratch directory", () => {
  const base = { stagingDir: "/staging", configDir: "/etc/image-origin", volumeDir: "/volume", checkDirs: [], check: ["true"] };
  assert.throws(() => installScript({ ...base, files: [{ path: "/etc/passwd" }] }), /outside/);
  assert.throws(() => installScript({ ...base, files: [{ path: "/etc/image-origin/.next/x" }] }), /installer's own/);
});
