// Running the ACME scripts outside containers: as files (certbot's deploy hook re-invokes
// the renewer by path, as in the container), optionally under busybox's shell and applets
// (the certbot image is Alpine: busybox ash, sed, grep, date...), with a fake certbot
// that behaves like the real one where the scripts depend on it.
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SETUP_HINT } from "./nginx.js";

/** busybox applets the scripts use, linked first on PATH to stand in for Alpine's userland. */
const APPLETS = ["sh", "sed", "grep", "date", "head", "tail", "sort", "tr", "cat", "mv", "rm", "mkdir", "chmod", "cp", "cmp", "sleep", "env"];

export type Shell = "dash" | "busybox";

/** A directory whose entries make `sh` and the coreutils busybox, like the certbot image. */
export function busyboxBin(): string {
  const which = spawnSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" });
  const busybox = which.stdout.trim();
  if (which.status !== 0 || busybox === "") throw new Error(`busybox not found: ${SETUP_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), "busybox-bin-"));
  for (const applet of APPLETS) symlinkSync(busybox, join(dir, applet));
  return dir;
}

/**
 * A fake `certbot` that logs its arguments (one JSON array per line to $FAKE_CERTBOT_LOG)
 * and, for `certonly`, behaves like certbot: with --keep-until-expiring it does nothing
 * when the lineage exists with the same names (unless --force-renewal); otherwise it
 * writes a new lineage (real openssl key and certificate), a renewal file, and runs the
 * deploy hook through the shell with RENEWED_LINEAGE. $FAKE_CERTBOT_FAIL makes it fail
 * like a refused validation; $FAKE_CERTBOT_NO_HOOK skips the hook.
 */
export function fakeCertbot(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "certbot");
  writeFileSync(
    path,
    `#!/usr/bin/env node
const fs = require("fs"), path = require("path"), { spawnSync } = require("child_process");
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_CERTBOT_LOG, JSON.stringify(argv) + "\\n");
const arg = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
if (process.env.FAKE_CERTBOT_FAIL) {
  console.log("Certbot failed to authenticate some domains (authenticator: webroot).");
  console.log("  Domain: img.example.test\\n  Type:   unauthorized\\n  Detail: 127.0.0.1: Invalid response from http://img.example.test/.well-known/acme-challenge/x: 404");
  process.exit(1);
}
const config = arg("--config-dir"), name = arg("--cert-name");
const names = argv.flatMap((a, i) => (a === "-d" ? [argv[i + 1]] : []));
const live = path.join(config, "live", name), renewal = path.join(config, "renewal", name + ".conf");
const namesFile = path.join(live, "names");
const same = fs.existsSync(namesFile) && fs.readFileSync(namesFile, "utf8") === names.join(",");
if (same && argv.includes("--keep-until-expiring") && !argv.includes("--force-renewal")) {
  console.log("Certificate not yet due for renewal; no action taken.");
  process.exit(0);
}
fs.mkdirSync(live, { recursive: true });
fs.mkdirSync(path.dirname(renewal), { recursive: true });
const san = "subjectAltName=" + names.map((n) => "DNS:" + n).join(",");
const r = spawnSync("openssl", ["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-days", process.env.FAKE_CERTBOT_DAYS || "90",
  "-subj", "/CN=" + names[0], "-addext", san, "-keyout", path.join(live, "privkey.pem"), "-out", path.join(live, "fullchain.pem")], { encoding: "utf8" });
if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
fs.writeFileSync(namesFile, names.join(","));
const old = fs.existsSync(renewal) ? fs.readFileSync(renewal, "utf8") : "# renew_before_expiry = 30 days\\nversion = 2.1.0\\n";
fs.writeFileSync(renewal, old.includes("[renewalparams]") ? old : old + "[renewalparams]\\nserver = " + arg("--server") + "\\n");
console.log("Successfully received certificate.");
const hook = arg("--deploy-hook");
if (hook && !process.env.FAKE_CERTBOT_NO_HOOK) {
  const h = spawnSync("sh", ["-c", hook], { env: { ...process.env, RENEWED_LINEAGE: live, RENEWED_DOMAINS: names.join(" ") }, encoding: "utf8" });
  process.stdout.write("Hook 'deploy-hook' ran with output:\\n" + h.stdout + h.stderr);
}
`,
  );
  chmodSync(path, 0o755);
  return dir;
}

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Writes `script` to `file` and runs `sh file args...` with `path` dirs first on PATH. */
export function runScript(file: string, script: string, args: string[], options: { env?: Record<string, string>; pathDirs?: string[]; shell?: Shell } = {}): ScriptRun {
  writeFileSync(file, script);
  const shell = options.shell === "busybox" ? [join(options.pathDirs?.[0] ?? "", "sh")] : ["sh"];
  const PATH = [...(options.pathDirs ?? []), process.env.PATH ?? ""].join(":");
  const r: SpawnSyncReturns<string> = spawnSync(shell[0]!, [file, ...args], { encoding: "utf8", env: { ...process.env, PATH, ...options.env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, in the background (for `loop`): resolves with the child once it is spawned. */
export function startScript(file: string, script: string, args: string[], options: { env?: Record<string, string>; pathDirs?: string[] } = {}) {
  writeFileSync(file, script);
  const PATH = [...(options.pathDirs ?? []), process.env.PATH ?? ""].join(":");
  return spawn("sh", [file, ...args], { env: { ...process.env, PATH, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * `sh file args` as `user` (setpriv, like nginx in the tests: the containers run every
 * ACME script as nginx's uid), without blocking the event loop, so load can run meanwhile.
 */
export function runAs(user: { uid: number; gid: number } | undefined, file: string, args: string[], env: Record<string, string> = {}): Promise<ScriptRun & { seconds: number }> {
  const [cmd, argv] = user === undefined ? ["sh", [file, ...args]] : ["setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", "sh", file, ...args]];
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, argv as string[], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}
