// The real nginx for tests: find it, check configs with `nginx -t`, run an instance.
// A missing nginx fails the test with the set-up command; nothing is ever skipped.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { block, config, d } from "../../infra/nginx/ast.js";
import { print } from "../../infra/nginx/print.js";
import { childrenOf } from "../../infra/local/process.js";
import { findNginx, nginxCandidates, unprivilegedUser as runAsUser } from "../../infra/local/tools.js";

export const SETUP_HINT = "run `npm test` (it runs scripts/setup.sh first) or `bash scripts/setup.sh` as root to install it";

/** The nginx binary: $NGINX_BIN, else `nginx` on PATH or in /usr/sbin. Throws with the set-up command. */
export function nginxBinary(): string {
  const found = findNginx();
  if (found === undefined) throw new Error(`nginx not found (looked for ${nginxCandidates().join(", ")}): ${SETUP_HINT}`);
  return found;
}

/** `nginx -v` text, e.g. "nginx/1.22.1". */
export function nginxVersion(): string {
  const r = spawnSync(nginxBinary(), ["-v"], { encoding: "utf8" });
  return (r.stderr || r.stdout).trim().replace(/^nginx version:\s*/, "");
}

/**
 * The user tests run nginx as: when the tests run as root, nobody (so a path only root
 * could write fails the test instead of passing silently); otherwise the current user.
 */
export interface RunAs {
  uid: number;
  gid: number;
}

export function unprivilegedUser(): RunAs | undefined {
  const user = runAsUser();
  return user && { uid: user.uid, gid: user.gid };
}

/** argv that runs nginx as `user` (setpriv from util-linux drops root). */
function command(args: string[], user: RunAs | undefined): [string, string[]] {
  const bin = nginxBinary();
  if (user === undefined) return [bin, args];
  return ["setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", bin, ...args]];
}

export interface NginxCheck {
  ok: boolean;
  code: number | null;
  /** nginx's messages (it reports on stderr). */
  output: string;
  warnings: string[];
}

/**
 * `nginx -t -p <prefix> -c <conf>`, run as `user` (default: unprivilegedUser()). Resolves
 * with the result; never rejects for a bad config.
 */
export function nginxTest(conf: string, prefix: string, user: RunAs | undefined = unprivilegedUser()): Promise<NginxCheck> {
  const [cmd, args] = command(["-t", "-q", "-p", prefix.endsWith("/") ? prefix : `${prefix}/`, "-c", conf], user);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr.on("data", (b: Buffer) => (output += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const warnings = output.split("\n").filter((l) => /\[(warn|alert|crit|emerg|error)\]/.test(l));
      resolve({ ok: code === 0, code, output, warnings });
    });
  });
}

/** The config's lines around `line`, numbered, for failure messages. */
function excerpt(conf: string, line: number): string {
  const lines = readFileSync(conf, "utf8").split("\n");
  const from = Math.max(0, line - 4);
  return lines
    .slice(from, line + 3)
    .map((l, i) => `${String(from + i + 1).padStart(5)}${from + i + 1 === line ? ">" : " "} ${l}`)
    .join("\n");
}

/**
 * Asserts nginx accepts `conf` without a single warning; the message shows nginx's output
 * and the offending lines of the config.
 */
export async function assertNginxAccepts(conf: string, prefix: string, label = conf): Promise<void> {
  const r = await nginxTest(conf, prefix);
  if (r.ok && r.warnings.length === 0) return;
  const at = /in (\S+):(\d+)/.exec(r.output);
  const context = at && at[1] === conf ? `\n${excerpt(conf, Number(at[2]))}` : "";
  throw new Error(`nginx -t ${r.ok ? "warned about" : "rejected"} ${label} (exit ${r.code}):\n${r.output.trim()}${context}`);
}

// ---------------------------------------------------------------------------------------
// A running instance (for round trips and end-to-end tests)

export interface RunningNginx {
  process: ChildProcess;
  /** Everything nginx wrote to stderr so far. */
  output(): string;
  /** SIGQUIT (graceful), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Resolves once something accepts TCP connections on host:port. */
export async function waitForPort(host: string, port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts `nginx -p prefix -c conf -g 'daemon off;'` as `user` and waits until `listen`
 * accepts connections. The caller stops it.
 */
export async function startNginx(
  conf: string,
  prefix: string,
  listen: { host: string; port: number },
  user: RunAs | undefined = unprivilegedUser(),
): Promise<RunningNginx> {
  const [cmd, args] = command(["-p", prefix.endsWith("/") ? prefix : `${prefix}/`, "-c", conf, "-g", "daemon off;"], user);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr?.on("data", (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running: RunningNginx = {
    process: child,
    output: () => output,
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await Promise.race([
      waitForPort(listen.host, listen.port),
      exited.then(() => {
        throw new Error(`nginx exited (code ${child.exitCode}) before listening:\n${output}`);
      }),
    ]);
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

/**
 * Resolves once the nginx master `pid` runs workers and none of `before` (its workers
 * when the reload was asked for): the new generation serves, the old one has exited.
 * This is the reload itself, observed, rather than a pause long enough for it.
 */
export async function reloadCompleted(pid: number, before: number[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = childrenOf(pid);
    if (now.length > 0 && !now.some((w) => before.includes(w))) return;
    if (Date.now() > deadline) throw new Error(`nginx ${pid} did not complete a reload within ${timeoutMs} ms (workers before ${before}, now ${now})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A whole nginx.conf around `httpBody` that an unprivileged nginx can load: pid and every
 * temp path under `runDir`, errors to stderr, no access log.
 */
export function minimalConfig(runDir: string, httpBody: Parameters<typeof block>[2]): string {
  return print(
    config([
      d("pid", join(runDir, "nginx.pid")),
      d("error_log", "stderr"),
      block("events", [], []),
      block("http", [], [
        d("access_log", "off"),
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((k) => d(`${k}_temp_path`, join(runDir, k))),
        ...httpBody,
      ]),
    ]),
  );
}
