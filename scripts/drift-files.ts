// Do the nginx files installed on every host still have the rendered content?
//   node --import tsx scripts/drift-files.ts --stack prod [--config-dir DIR] [--host img03]...
// Renders the stack (as `npm run render`), asks each running nginx container for the
// sha256 of every file it was given (`docker exec <instance> sha256sum ...`, over the
// host's ssh like the program's reload does), and lists what differs, with a diff of the
// installed file against the rendered one. `pulumi preview --refresh` cannot see this:
// the files live in a volume, not in any resource's state.
// Exit status: 0 every file matches, 1 drift (or a host/container that cannot be asked),
// 2 usage or config error.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createPatch } from "diff";
import { ConfigError } from "../infra/config.js";
import { instanceFiles } from "../infra/render.js";
import { dockerOnHost } from "../infra/remote.js";
import { specFromStackYaml, stackFileName } from "../infra/stack.js";
import { planCluster, type HostPlan } from "../infra/topology.js";

const USAGE = "usage: node --import tsx scripts/drift-files.ts --stack <name> [--config-dir <dir>] [--host <name>]...";
/** Lines of an installed file's diff shown per file (the rest is counted). */
const DIFF_LINES = 40;

export interface Expected {
  host: HostPlan;
  instance: string;
  path: string;
  sha256: string;
  content: string;
}

export type Finding =
  | { kind: "differs"; host: string; instance: string; path: string; installed: string; rendered: string; diff?: string }
  | { kind: "missing"; host: string; instance: string; path: string }
  | { kind: "unreachable"; host: string; instance: string; reason: string };

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Every rendered file of every nginx instance, at its path inside the instance. */
export function expectedFiles(hosts: HostPlan[]): Expected[] {
  return hosts.flatMap((host) =>
    Object.entries(instanceFiles(host)).flatMap(([instance, files]) => files.map((f) => ({ host, instance, path: f.path, sha256: sha256(f.content), content: f.content }))),
  );
}

function run(command: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("sh", ["-c", command], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

/** `sha256sum` output -> hash by path. */
export function parseSums(stdout: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

/** Asks one instance for its files' hashes; fetches the content of those that differ. */
export function checkInstance(host: HostPlan, instance: string, files: Expected[]): Finding[] {
  const paths = files.map((f) => f.path);
  const r = run(dockerOnHost(host, ["exec", instance, "sha256sum", ...paths]));
  const sums = parseSums(r.stdout);
  // sha256sum exits 1 when a file is missing but still prints the others; anything else
  // (no such container, ssh refused) means nothing was read.
  if (sums.size === 0 && r.status !== 0 && !/No such file/.test(r.stderr)) {
    return [{ kind: "unreachable", host: host.name, instance, reason: r.stderr.trim().split("\n").slice(-2).join(" ") || `exit ${r.status}` }];
  }
  const findings: Finding[] = [];
  for (const f of files) {
    const installed = sums.get(f.path);
    if (installed === undefined) findings.push({ kind: "missing", host: host.name, instance, path: f.path });
    else if (installed !== f.sha256) {
      const cat = run(dockerOnHost(host, ["exec", instance, "cat", f.path]));
      const diff = cat.status === 0 ? createPatch(f.path, cat.stdout, f.content, "installed", "rendered", { context: 2 }).split("\n").slice(4).join("\n").trimEnd() : undefined;
      findings.push({ kind: "differs", host: host.name, instance, path: f.path, installed, rendered: f.sha256, ...(diff !== undefined && { diff }) });
    }
  }
  return findings;
}

export function describe(f: Finding): string {
  switch (f.kind) {
    case "unreachable":
      return `${f.instance} (${f.host}): could not be asked: ${f.reason}`;
    case "missing":
      return `${f.instance} (${f.host}) ${f.path}: missing`;
    case "differs": {
      const head = `${f.instance} (${f.host}) ${f.path}: differs (installed ${f.installed.slice(0, 12)}, rendered ${f.rendered.slice(0, 12)})`;
      if (f.diff === undefined) return head;
      const lines = f.diff.split("\n");
      const shown = lines.slice(0, DIFF_LINES).map((l) => `    ${l}`);
      if (lines.length > DIFF_LINES) shown.push(`    ... ${lines.length - DIFF_LINES} more lines`);
      return [head, "    (- installed, + rendered)", ...shown].join("\n");
    }
  }
}

function main(): number {
  let args;
  try {
    args = parseArgs({ options: { stack: { type: "string" }, "config-dir": { type: "string" }, host: { type: "string", multiple: true }, help: { type: "boolean" } }, strict: true }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.stack) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let hosts: HostPlan[];
  try {
    const file = stackFileName(args.stack);
    const path = join(resolve(args["config-dir"] ?? join(__dirname, "..")), file);
    if (!existsSync(path)) throw new ConfigError([`${file}: no such stack file`]);
    hosts = planCluster(specFromStackYaml(readFileSync(path, "utf8"), file)).hosts;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const only = args.host ?? [];
  const unknown = only.filter((h) => !hosts.some((x) => x.name === h));
  if (unknown.length > 0) {
    process.stderr.write(`--host ${unknown.join(", ")}: not a host of stack ${args.stack}\n`);
    return 2;
  }
  const checked = hosts.filter((h) => only.length === 0 || only.includes(h.name));
  const expected = expectedFiles(checked);
  const findings: Finding[] = [];
  for (const host of checked) {
    const mine = expected.filter((e) => e.host === host);
    for (const instance of [...new Set(mine.map((e) => e.instance))]) findings.push(...checkInstance(host, instance, mine.filter((e) => e.instance === instance)));
  }
  if (findings.length === 0) {
    process.stdout.write(`stack ${args.stack}: all ${expected.length} rendered nginx files match on ${checked.map((h) => h.name).join(", ")}\n`);
    return 0;
  }
  process.stdout.write(`stack ${args.stack}: ${findings.length} of ${expected.length} nginx files drifted or could not be read\n`);
  for (const f of findings) process.stdout.write(`${describe(f)}\n`);
  // No resource input changed, so a plain `pulumi up` would not reinstall anything.
  process.stdout.write("Repair: RUNBOOK.md#files-drifted (pulumi up --replace the instance's installer and reload).\n");
  return 1;
}

if (require.main === module) process.exit(main());
