// Runs the exact shell text the program gives a command.local.Command (a health gate, an
// image delivery, a drain) in bash with stand-ins for curl, sleep, ssh and docker on PATH,
// so its behaviour can be read off: how many checks a gate makes and how long it keeps
// watching once the host answers, whether a delivery finds every image it streams, how long
// a drain waits after setting the flag. Nothing leaves the machine: the stand-ins only log
// and answer from a small in-memory "world" kept in files of a temp directory.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface World {
  /** Image refs on the operator's engine (where `docker save` runs). */
  local: string[];
  /** Image refs on the host's engine. */
  host: string[];
  /** What every health check answers. */
  httpStatus?: number;
}

export interface ShellRun {
  status: number;
  stderr: string;
  /** One entry per stand-in call, in order: ["curl", url], ["sleep", "5"], ["docker", ...args]. */
  calls: { tool: string; args: string[]; target: "local" | "host" }[];
  world: World;
}

// The stand-ins: each logs one line per call (tool, target, arguments, tab-separated) and
// answers from the world files. curl, sleep and touch are shell scripts (a gate calls them
// dozens of times); ssh and docker keep the world's images, in node.
const SH_STUB = String.raw`#!/bin/sh
tool=$(basename "$0")
target=$STUB_TARGET; [ -n "$target" ] || target=local
{ printf '%s\t%s' "$tool" "$target"; for a in "$@"; do printf '\t%s' "$a"; done; printf '\n'; } >> "$STUB_DIR/calls"
if [ "$tool" = curl ]; then cat "$STUB_DIR/http_status"; fi
exit 0
`;

const NODE_STUB = String.raw`#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const dir = process.env.STUB_DIR, tool = path.basename(process.argv[1]), args = process.argv.slice(2);
const target = process.env.STUB_TARGET || "local";
fs.appendFileSync(path.join(dir, "calls"), [tool, target, ...args].map((a) => a.replace(/[\t\n]/g, " ")).join("\t") + "\n");
const world = JSON.parse(fs.readFileSync(path.join(dir, "world.json"), "utf8"));
const save = () => fs.writeFileSync(path.join(dir, "world.json"), JSON.stringify(world));
const id = (ref) => "sha256:" + require("crypto").createHash("sha256").update(ref).digest("hex");
if (tool === "ssh") {
  // The last argument is the remote command: run it with the same stand-ins, on the host.
  const remote = args[args.length - 1];
  const r = require("child_process").spawnSync("bash", ["-c", remote], { stdio: "inherit", env: { ...process.env, STUB_TARGET: "host" } });
  process.exit(r.status ?? 1);
}
let a = args, where = target;
if (a[0] === "-H") { where = "host"; a = a.slice(2); }
const images = where === "host" ? world.host : world.local;
const cmd = a[0] === "image" ? a[1] : a[0];
if (cmd === "inspect") {
  const refs = a.slice(a[0] === "image" ? 2 : 1).filter((x, i, all) => !x.startsWith("-") && !(all[i - 1] || "").startsWith("--format"));
  const missing = refs.filter((r) => !images.includes(r));
  if (missing.length) { process.stderr.write("Error: No such image: " + missing[0] + "\n"); process.exit(1); }
  if (a.includes("--format")) process.stdout.write(refs.map(id).join("\n") + "\n");
  process.exit(0);
}
if (cmd === "save") {
  const refs = a.slice(1).filter((x) => !x.startsWith("-"));
  const missing = refs.filter((r) => !world.local.includes(r));
  if (missing.length) { process.stderr.write("Error response from daemon: reference does not exist: " + missing[0] + "\n"); process.exit(1); }
  process.stdout.write("TAR " + JSON.stringify(refs)); process.exit(0);
}
if (cmd === "load") {
  const input = fs.readFileSync(0, "utf8");
  if (!input.startsWith("TAR ")) { process.stderr.write("requested load from stdin, but stdin is empty\n"); process.exit(1); }
  for (const r of JSON.parse(input.slice(4))) if (!images.includes(r)) images.push(r);
  save(); process.exit(0);
}
if (cmd === "build" || cmd === "pull" || cmd === "tag") {
  const t = a.indexOf("-t"); const ref = cmd === "build" ? a[t + 1] : a[a.length - 1];
  if (ref && !images.includes(ref)) images.push(ref);
  save(); process.exit(0);
}
process.exit(0);
`;

const STUBS: Record<string, string> = { curl: SH_STUB, sleep: SH_STUB, touch: SH_STUB, ssh: NODE_STUB, docker: NODE_STUB };

const cache = new Map<string, ShellRun>();

/** Runs `script` against `world` (same script and world: the same answer, run once per process). */
export function runShell(script: string, world: World): ShellRun {
  const key = JSON.stringify([script, world]);
  const known = cache.get(key);
  if (known) return structuredClone(known);
  const run = runShellOnce(script, world);
  cache.set(key, run);
  return structuredClone(run);
}

function runShellOnce(script: string, world: World): ShellRun {
  const dir = mkdtempSync(join(tmpdir(), "lifecycle-shell-"));
  try {
    for (const [tool, stub] of Object.entries(STUBS)) {
      writeFileSync(join(dir, tool), stub);
      chmodSync(join(dir, tool), 0o755);
    }
    writeFileSync(join(dir, "world.json"), JSON.stringify(world));
    writeFileSync(join(dir, "http_status"), String(world.httpStatus ?? 200));
    writeFileSync(join(dir, "calls"), "");
    let status = 0;
    let stderr = "";
    try {
      execFileSync("bash", ["-c", script], {
        env: { PATH: `${dir}:${process.env.PATH}`, STUB_DIR: dir, HOME: dir },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 60_000,
      });
    } catch (err) {
      const e = err as { status?: number; stderr?: Buffer };
      status = e.status ?? 1;
      stderr = e.stderr?.toString() ?? "";
    }
    const calls = readFileSync(join(dir, "calls"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l): ShellRun["calls"][number] => {
        const [tool = "", target, ...args] = l.split("\t");
        return { tool, target: target === "host" ? "host" : "local", args };
      });
    return { status, stderr, calls, world: JSON.parse(readFileSync(join(dir, "world.json"), "utf8")) as World };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds slept after the first call matching `from` (the stand-in sleeps take no time). */
export function secondsSleptAfter(run: ShellRun, from: (call: ShellRun["calls"][number]) => boolean): number {
  const start = run.calls.findIndex(from);
  if (start < 0) return 0;
  return run.calls.slice(start).filter((c) => c.tool === "sleep").reduce((s, c) => s + Number(c.args[0] ?? 0), 0);
}

/** A health gate's behaviour: checks per URL, and how long it keeps watching a host that answers. */
export function gateBehaviour(script: string): { checks: Record<string, number>; watchedSeconds: number; status: number } {
  const run = runShell(script, { local: [], host: [], httpStatus: 200 });
  const checks: Record<string, number> = {};
  for (const c of run.calls.filter((c) => c.tool === "curl")) {
    const url = c.args[c.args.length - 1]!;
    checks[url] = (checks[url] ?? 0) + 1;
  }
  return { checks, watchedSeconds: secondsSleptAfter(run, (c) => c.tool === "curl"), status: run.status };
}
