// npm run diff -- --base <git-ref> [--stack <name>|all] [--format text|markdown]
// Renders every stack twice: at the base commit, with that commit's own stack files and
// program (taken out of git into a temporary directory, never checked out over the working
// tree), and in the working tree; prints the diff of every generated file.
// Which containers restart and which only reload comes from the lifecycle model (both
// programs run under the engine's and the providers' rules, infra/lifecycle/classify.ts) or,
// where it cannot run (e.g. a base too old for it), from an estimate; the summary says which.
// Exit status: 0 no change, 1 changes, 2 error (bad arguments, unknown ref, a render failed).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { diffStacks, estimateBecause, lifecycleClassifier, type EffectClassifier, type StackInput, type Tree } from "../diff/diff.js";
import type { ContainerEffects } from "../lifecycle/effects.js";
import { formatMarkdown, formatText } from "../diff/format.js";
import { stackName } from "../stack.js";

const USAGE = "usage: npm run diff -- --base <git-ref> [--stack <name>|all] [--format text|markdown]";
const STACK_FILE = /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/;

/** An error the user can act on: printed as is, exit 2. */
class DiffError extends Error {}

function git(repo: string, args: string[]): string {
  const r = spawnSync("git", ["-C", repo, ...args], { encoding: "utf8" });
  if (r.error) throw new DiffError(`git: ${r.error.message} (is git installed?)`);
  if (r.status !== 0) throw new DiffError(`git ${args.join(" ")}: ${r.stderr.trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** Stack names of a directory listing (`Pulumi.<stack>.yaml`). */
function stacksIn(names: string[]): string[] {
  return names.flatMap((n) => STACK_FILE.exec(n)?.[1] ?? []).sort();
}

/** The base commit's files in `dir`, as git has them (tracked files only). */
async function extract(repo: string, commit: string, dir: string): Promise<void> {
  await new Promise<void>((done, fail) => {
    const archive = spawn("git", ["-C", repo, "archive", "--format=tar", commit], { stdio: ["ignore", "pipe", "pipe"] });
    const tar = spawn("tar", ["-x", "-C", dir], { stdio: ["pipe", "ignore", "pipe"] });
    archive.stdout.pipe(tar.stdin);
    let err = "";
    archive.stderr.on("data", (d) => (err += d));
    tar.stderr.on("data", (d) => (err += d));
    let left = 2;
    const exited = (what: string) => (code: number | null) => {
      if (code !== 0) fail(new Error(`${what} failed: ${err.trim() || `exit ${code}`}`));
      else if (--left === 0) done();
    };
    archive.on("close", exited("git archive"));
    tar.on("close", exited("tar -x"));
    archive.on("error", fail);
    tar.on("error", fail);
  });
}

/**
 * The base tree runs with the working tree's installed packages: every `node_modules`
 * directory (the root's and the workspaces') is linked where the base has that directory.
 */
function linkNodeModules(root: string, base: string): string[] {
  const linked: string[] = [];
  const candidates = [".", ...readdirSync(root).filter((d) => !d.startsWith(".") && d !== "node_modules" && statSync(join(root, d)).isDirectory())];
  for (const dir of candidates) {
    const modules = join(root, dir, "node_modules");
    if (!existsSync(modules) || !existsSync(join(base, dir)) || existsSync(join(base, dir, "node_modules"))) continue;
    symlinkSync(modules, join(base, dir, "node_modules"), "dir");
    linked.push(join(dir, "node_modules"));
  }
  return linked;
}

/** Runs a tree's own render command for one stack into `out`. */
function render(tree: string, stack: string, out: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn("npm", ["run", "--silent", "render", "--", "--stack", stack, "--out", out], { cwd: tree, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("error", fail);
    child.on("close", (code) => {
      if (code === 0) return done();
      // npm warns about the machine's own config on every run; keep only what render said.
      const said = err
        .split("\n")
        .filter((l) => !/^npm (warn|WARN|notice)/.test(l))
        .join("\n")
        .trim();
      fail(new Error(said || `render exited ${code}`));
    });
  });
}

/** How long the model may take for one stack (two program runs) before the estimate answers. */
const MODEL_TIMEOUT_MS = 180_000;

/**
 * The lifecycle model's container effects for one stack, from a process of its own (it runs
 * the base's program, then the working tree's): the effects, or why it could not answer.
 */
function modelEffects(root: string, baseTree: string, stack: string): Promise<ContainerEffects | { failed: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(root, "infra/lifecycle/classify.ts")], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), MODEL_TIMEOUT_MS);
    child.on("error", (e) => done({ failed: e.message }));
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) return done(JSON.parse(out) as ContainerEffects);
      done({ failed: code === null ? `it took longer than ${MODEL_TIMEOUT_MS / 1000}s` : err.trim().split("\n").pop() || `exit ${code}` });
    });
    const file = `Pulumi.${stack}.yaml`;
    child.stdin.end(JSON.stringify({ base: { root: baseTree, stackFile: file }, head: { root, stackFile: file } }));
  });
}

function readTree(dir: string): Tree {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return files;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { base: { type: "string" }, stack: { type: "string" }, format: { type: "string" }, help: { type: "boolean" } }, strict: true }).values;
  } catch (err) {
    throw new DiffError((err as Error).message);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.base) throw new DiffError("--base <git-ref> is required");
  const format = args.format ?? "text";
  if (format !== "text" && format !== "markdown") throw new DiffError(`--format: "${format}" is not text or markdown`);
  const wanted = args.stack ?? "all";
  if (wanted !== "all" && !stackName.test(wanted)) throw new DiffError(`--stack: "${wanted}" is not a stack name`);

  // The repository and working tree that hold the current directory.
  const root = git(process.cwd(), ["rev-parse", "--show-toplevel"]).trim();
  let commit: string;
  try {
    commit = git(root, ["rev-parse", "--verify", "--quiet", `${args.base}^{commit}`]).trim();
  } catch {
    throw new DiffError(`--base ${args.base}: no such commit in ${root} (a CI checkout needs the base fetched: fetch-depth: 0)`);
  }
  const short = commit.slice(0, 12);

  const headStacks = stacksIn(readdirSync(root));
  const baseStacks = stacksIn(git(root, ["ls-tree", "--name-only", commit]).split("\n"));
  const all = [...new Set([...headStacks, ...baseStacks])].sort();
  const stacks = wanted === "all" ? all : all.filter((s) => s === wanted);
  if (stacks.length === 0) throw new DiffError(`--stack ${wanted}: no Pulumi.${wanted}.yaml in the working tree or at ${args.base}`);

  const work = mkdtempSync(join(tmpdir(), "image-origin-diff-"));
  try {
    const baseTree = join(work, "base");
    mkdirSync(baseTree);
    await extract(root, commit, baseTree);
    linkNodeModules(root, baseTree);
    if (existsSync(join(baseTree, "package-lock.json")) && readFileSync(join(baseTree, "package-lock.json"), "utf8") !== readFileSync(join(root, "package-lock.json"), "utf8")) {
      process.stderr.write(`note: ${args.base} has another package-lock.json; its render runs with the working tree's node_modules\n`);
    }

    const jobs = stacks.flatMap((stack) => [
      baseStacks.includes(stack) ? render(baseTree, stack, join(work, "out", "base", stack)).catch((e: Error) => Promise.reject(new Error(`render of ${stack} at ${args.base} (${short}) failed:\n${e.message}`))) : Promise.resolve(),
      headStacks.includes(stack) ? render(root, stack, join(work, "out", "head", stack)).catch((e: Error) => Promise.reject(new Error(`render of ${stack} in the working tree failed:\n${e.message}`))) : Promise.resolve(),
    ]);
    const results = await Promise.allSettled(jobs);
    const failed = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
    if (failed.length > 0) throw new DiffError(failed.join("\n\n"));

    const inputs: StackInput[] = stacks.map((stack) => ({
      stack,
      ...(baseStacks.includes(stack) && { base: readTree(join(work, "out", "base", stack)) }),
      ...(headStacks.includes(stack) && { head: readTree(join(work, "out", "head", stack)) }),
    }));
    // The model runs where there is something to classify: a stack changed on both sides.
    const changed = diffStacks(inputs).stacks.filter((s) => s.status === "changed").map((s) => s.stack);
    const models = new Map(await Promise.all(changed.map(async (stack) => [stack, await modelEffects(root, baseTree, stack)] as const)));
    const classifier = (stack: string): EffectClassifier => {
      const model = models.get(stack);
      if (model === undefined) return estimateBecause("the stack exists on one side only");
      return "failed" in model ? estimateBecause(`${args.base}'s or the working tree's program did not run under it (${model.failed})`) : lifecycleClassifier(model);
    };
    const report = diffStacks(inputs, classifier);
    const sides = { base: `${args.base} (${short})`, head: "working tree" };
    process.stdout.write(format === "markdown" ? formatMarkdown(report, sides) : formatText(report, sides));
    return report.changed ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(err instanceof DiffError ? `${err.message}\n${err.message.startsWith("--") ? `${USAGE}\n` : ""}` : `${err.stack ?? err.message}\n`);
    process.exit(2);
  },
);
