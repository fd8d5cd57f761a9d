// npm start [-- --stack <name>] [--host <name>] [--images <dir>] [--free-ports] [--config-dir <dir>]
// Runs one host of a stack as real processes on loopback (infra/local/launcher.ts), prints
// what to try, and stays in the foreground; Ctrl-C or SIGTERM stops it in the seeds' order
// (master first) and removes its work directory. This file only parses, prints and
// handles signals.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fromEnv } from "../../resizer/src/settings.js";
import { parseStoryboard, STORYBOARD_PREFIX } from "../../resizer/src/storyboard/request.js";
import { ConfigError } from "../config.js";
import { LaunchError, PROJECT_ROOT, startCluster, type LocalCluster } from "../local/launcher.js";
import { describeExit } from "../local/process.js";
import { tryLines, type Examples } from "../local/urls.js";
import { specFromStackYaml } from "../stack.js";
import { hostImagesDir } from "../topology.js";

const USAGE = `usage: npm start [-- --stack <name>] [--host <name>] [--images <dir>] [--free-ports] [--config-dir <dir>]

  --stack <name>   run a host of Pulumi.<name>.yaml locally (default: local); every port
                   of another stack is remapped to a free loopback port
  --host <name>    which host of the stack (default: the first)
  --images <dir>   the images tree to serve (default: the local stack's sample tree,
                   which the set-up writes; another stack's imagesDir is on its hosts)
  --free-ports     remap the local stack's ports too (when 8080 and friends are taken)
  --config-dir <dir>  read Pulumi.<name>.yaml from there (default: the repository)`;

const out = (line = "") => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

/** The first file (depth-first, sorted) under `dir` whose name matches `pattern`. */
function firstFile(root: string, dir: string, pattern: RegExp, depth = 6): string | undefined {
  const full = join(root, dir);
  if (depth < 0 || !existsSync(full) || !statSync(full).isDirectory()) return undefined;
  for (const entry of readdirSync(full).sort()) {
    const rel = `${dir}/${entry}`;
    const st = statSync(join(root, rel));
    if (st.isFile() && pattern.test(entry)) return rel;
    if (st.isDirectory()) {
      const found = firstFile(root, rel, pattern, depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}

function examples(cluster: LocalCluster): Examples {
  const root = cluster.imagesDir;
  const image = /\.(jpe?g|png|webp|gif)$/i;
  const thumbnail = firstFile(root, "thumbnail", image);
  const still = firstFile(root, "stillshot", image) ?? firstFile(root, "images", image);
  const source = firstFile(root, "images", /\.jpe?g$/i) ?? still;
  const caPath = cluster.certificates[0]?.certPath;
  const storyboard = storyboardExample(cluster);
  return {
    ...(thumbnail && { thumbnail: `/${thumbnail}` }),
    ...(still && { still: `/${still}` }),
    ...(source && { source: `/${source}` }),
    ...(storyboard && { storyboard }),
    ...(caPath && { caPath }),
  };
}

/**
 * The canonical track URL of the first episode with a numbered still, as the resizers
 * answer it: their own storyboard settings (read from their environment as they read it)
 * fill in the parameters.
 */
function storyboardExample(cluster: LocalCluster): string | undefined {
  const resizer = cluster.host.resizers[0];
  if (resizer === undefined) return undefined;
  const settings = fromEnv(resizer.env).storyboard;
  const still = firstFile(cluster.imagesDir, settings.stillsDir, /^[0-9]+\.(jpe?g|png|webp)$/i, 2);
  const [programme, episode, file] = still?.slice(settings.stillsDir.length + 1).split("/") ?? [];
  if (programme === undefined || episode === undefined || file === undefined) return undefined;
  try {
    return parseStoryboard(`${STORYBOARD_PREFIX}${encodeURIComponent(programme)}/${encodeURIComponent(episode)}.vtt`, settings).canonicalTarget;
  } catch {
    return undefined; // a directory name the endpoint refuses: no example
  }
}

function printCluster(c: LocalCluster): void {
  out();
  out(`image-origin: stack ${c.stack}, host ${c.host.name}, running on loopback`);
  const remapped = c.ports.some((p) => p.port !== p.stackPort);
  for (const inst of c.instances) {
    const ports = c.ports
      .filter((p) => p.instance === inst.name)
      .map((p) => `${p.what} ${p.port}${remapped ? ` (stack ${p.stackPort})` : ""}`)
      .join(", ");
    out(`  ${inst.name.padEnd(22)} pid ${String(inst.pid).padEnd(8)} ${ports}`);
  }
  out(`  images     ${c.imagesDir}`);
  out(`  work dir   ${c.root}  (configs, logs, cache; removed on stop)`);
  if (c.user) out(`  runs as    ${c.user.name} (nginx and resizers, as in the containers)`);
  for (const note of c.notes) out(`  note: ${note}`);
  out();
  out("Try:");
  const lines = tryLines(c.host, examples(c));
  for (const l of lines) out(`  ${l.label.padEnd(10)} ${l.text}`);
  out();
  out(`Logs: ${c.root}/${c.host.name}/{master,slave01,...}/logs/, {resizer01,...}/resizer.log`);
  out(`Drain (L4 health check 503): touch ${c.host.master.paths.drainFile}`);
  out("Stop with Ctrl-C (master first, then slaves and resizers).");
}

/** Another stack's imagesDir is a path on its hosts: serve the local sample tree unless told otherwise. */
function imagesFor(stack: string, images: string | undefined): string | undefined {
  if (images !== undefined || stack === "local") return images;
  const local = specFromStackYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.local.yaml"), "utf8"), "Pulumi.local.yaml");
  return hostImagesDir(local, local.hosts[0]!);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        stack: { type: "string" },
        host: { type: "string" },
        images: { type: "string" },
        "free-ports": { type: "boolean" },
        "config-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    out(USAGE);
    return;
  }
  const stack = args.stack ?? "local";

  // Signals during start-up: finish starting (bounded by the health timeouts), then stop.
  let cluster: LocalCluster | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return; // npm forwards the terminal's SIGINT too: one stop is enough
    stopping = true;
    if (cluster === undefined) return;
    const c = cluster;
    out(`\n${signal}: stopping ${c.master.name} (SIGQUIT), then slaves and resizers ...`);
    c.stop().then(
      () => {
        out(`stopped; ${c.root} removed`);
        process.exit(0);
      },
      (e: unknown) => {
        err(`error while stopping: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGHUP", () => stop("SIGHUP"));

  const images = imagesFor(stack, args.images);
  try {
    cluster = await startCluster({
      stack,
      ...(args.host !== undefined && { host: args.host }),
      ...(args["config-dir"] !== undefined && { configDir: args["config-dir"] }),
      ...(images !== undefined && { imagesDir: images }),
      ...(args["free-ports"] && { ports: "free" as const }),
      log: (line) => out(line),
      onUnexpectedExit: (inst, exit) => {
        if (stopping) return;
        err(`warning: ${inst.name} exited unexpectedly (${describeExit(exit)}); the others keep running`);
        for (const l of inst.tail(5)) err(`  ${inst.name}: ${l}`);
      },
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      process.exit(1);
    }
    if (e instanceof LaunchError) {
      err(`npm start: ${e.message}`);
      for (const l of e.detail) err(`  ${l}`);
      process.exit(1);
    }
    throw e;
  }
  if (stopping) {
    stopping = false;
    stop("signal during start-up");
    return;
  }
  printCluster(cluster);
}

void main();
