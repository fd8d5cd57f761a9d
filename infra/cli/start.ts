// npm start [-- --stack <name>] [--host <name> | --all-hosts] [--images <dir>] [--free-ports] [--config-dir <dir>]
// Runs one host of a stack as real processes on loopback (infra/local/launcher.ts), or every
// host behind the software VIP (infra/local/fleet.ts), prints what to try, and stays in the
// foreground; Ctrl-C or SIGTERM stops it in the seeds' order (the VIP, then masters first)
// and removes its work directory. This file only parses, prints and handles signals.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { freemem, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fromEnv } from "../../resizer/src/settings.js";
import { parseStoryboard, STORYBOARD_PREFIX } from "../../resizer/src/storyboard/request.js";
import { ConfigError } from "../config.js";
import { hostPort } from "../address.js";
import { startAllHosts, type LocalFleet } from "../local/fleet.js";
import { LaunchError, PROJECT_ROOT, startCluster, type LocalCluster } from "../local/launcher.js";
import { describeExit } from "../local/process.js";
import { tryLines, type Examples } from "../local/urls.js";
import { specFromStackYaml } from "../stack.js";
import { hostImagesDir } from "../topology.js";

const USAGE = `usage: npm start [-- --stack <name>] [--host <name> | --all-hosts] [--images <dir>] [--free-ports] [--config-dir <dir>]

  --stack <name>   run a host of Pulumi.<name>.yaml locally (default: local); every port
                   of another stack is remapped to a free loopback port
  --host <name>    which host of the stack (default: the first)
  --all-hosts      every host of the stack, each on its own loopback address (127.0.1.1,
                   127.0.1.2, ...) on the stack's real ports where free, behind the
                   software VIP (HAProxy from the stack's vip plan) on 127.0.0.1
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
  const caPath = cluster.certificates[0]?.certPath;
  const storyboard = storyboardExample(cluster.imagesDir, cluster.host.resizers[0]);
  return { ...examplesOf(cluster.imagesDir), ...(storyboard && { storyboard }), ...(caPath && { caPath }) };
}

/** Example files of an images tree: a thumbnail, a still, a resize source. */
function examplesOf(root: string): Examples {
  const image = /\.(jpe?g|png|webp|gif)$/i;
  const thumbnail = firstFile(root, "thumbnail", image);
  const still = firstFile(root, "stillshot", image) ?? firstFile(root, "images", image);
  const source = firstFile(root, "images", /\.jpe?g$/i) ?? still;
  return { ...(thumbnail && { thumbnail: `/${thumbnail}` }), ...(still && { still: `/${still}` }), ...(source && { source: `/${source}` }) };
}

/**
 * The canonical track URL of the first episode with a numbered still, as the resizers
 * answer it: their own storyboard settings (read from their environment as they read it)
 * fill in the parameters.
 */
function storyboardExample(imagesDir: string, resizer: { env: Record<string, string> } | undefined): string | undefined {
  if (resizer === undefined) return undefined;
  const settings = fromEnv(resizer.env).storyboard;
  const still = firstFile(imagesDir, settings.stillsDir, /^[0-9]+\.(jpe?g|png|webp)$/i, 2);
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
  out(`Logs: ${c.root}/${c.host.name}/{master,slave01,...}/logs/, {resizer01,...}/resizer.log, ops/ops.log`);
  out(`Status: npm run status -- --plan ${c.planFile}${c.ports.some((p) => p.port !== p.stackPort) ? "" : "   (or just: npm run status)"}`);
  out(`Drain (L4 health check 503): touch ${c.host.master.paths.drainFile}`);
  out("Stop with Ctrl-C (master first, then slaves and resizers).");
}

function printFleet(f: LocalFleet): void {
  out();
  out(`image-origin: stack ${f.stack}, all ${f.hosts.length} hosts on loopback behind the software VIP`);
  const portsOf = (host: string, instance: string) => f.ports.filter((p) => p.host === host && p.instance === instance);
  const shown = (host: string, instance: string) =>
    portsOf(host, instance)
      .map((p) => `${p.what === "http" ? "" : `${p.what} `}${p.port}${p.port !== p.stackPort ? ` (stack ${p.stackPort})` : ""}`)
      .join(", ");
  for (const h of f.hosts) {
    const address = h.plan.master.http.address;
    out(`  ${h.plan.name.padEnd(8)} ${address.padEnd(12)} master ${shown(h.plan.name, h.master.name)}; slaves ${h.slaves.map((s) => shown(h.plan.name, s.name)).join(", ")}; resizers ${h.resizers.map((r) => shown(h.plan.name, r.name)).join(", ")}; ops ${shown(h.plan.name, h.ops.name)}`);
  }
  for (const [i, hap] of f.vip.haproxy.entries()) {
    const l4 = f.vip.l4[i]!;
    out(`  VIP      ${hap.listens[0]!.address.padEnd(12)} ${shown(l4.name, hap.name)}  (${hap.name}, pid ${hap.pid}: ${f.vipPlan.algorithm}, GET ${f.vipPlan.healthCheck.path} every ${f.vipPlan.healthCheck.intervalSeconds}s, out after ${f.vipPlan.healthCheck.fall}, back after ${f.vipPlan.healthCheck.rise})`);
  }
  const usage = f.usage();
  out(`  processes ${usage.processes} (workers included), resident memory ${(usage.rssMiB / 1024).toFixed(2)} GiB of ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free)`);
  out(`  images     ${f.imagesDir}`);
  out(`  work dir   ${f.root}  (configs, logs, cache; removed on stop)`);
  for (const note of f.notes) out(`  note: ${note}`);
  out();
  out("Try (through the VIP, as users' requests go):");
  // The VIP's listeners stand in for the master's: the same paths, through HAProxy.
  const first = f.hosts[0]!.plan;
  const listen = (service: "http" | "https") => f.vip.l4[0]!.haproxy.listen.find((l) => l.service === service)?.listen;
  const viaVip = { ...first, master: { ...first.master, http: listen("http")!, ...(listen("https") && { https: listen("https")! }) } };
  const caPath = f.certificates[0]?.certPath;
  const storyboard = storyboardExample(f.imagesDir, first.resizers[0]);
  const tries = tryLines(viaVip, { ...examplesOf(f.imagesDir), ...(storyboard && { storyboard }), ...(caPath && { caPath }) });
  for (const l of tries.filter((l) => !["healthz", "metrics"].includes(l.label))) out(`  ${l.label.padEnd(10)} ${l.text}`);
  const stats = f.vip.l4[0]!.haproxy.stats;
  out(`  stats      ${f.vip.stats[0]}   (HAProxy: each host's state per port)`);
  out(`  metrics    http://${hostPort(stats.address, stats.port)}/metrics   (HAProxy, Prometheus)`);
  out(`  healthz    ${f.hosts.map((h) => `http://${hostPort(h.plan.master.http.address, h.plan.master.http.port)}/healthz`).join(" ")}`);
  out();
  out(`Drain a host (the VIP takes it out within ${f.vipPlan.healthCheck.fall} x ${f.vipPlan.healthCheck.intervalSeconds}s): touch ${first.master.paths.drainFile}`);
  out("Stop with Ctrl-C (the VIP first, then the masters, then slaves and resizers).");
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
        "all-hosts": { type: "boolean" },
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
  if (args["all-hosts"] && args.host !== undefined) {
    err(`--host and --all-hosts exclude each other\n${USAGE}`);
    process.exit(2);
  }

  // Signals during start-up: finish starting (bounded by the health timeouts), then stop.
  let running: { root: string; stop(): Promise<void>; stopping: string } | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return; // npm forwards the terminal's SIGINT too: one stop is enough
    stopping = true;
    if (running === undefined) return;
    const r = running;
    out(`\n${signal}: ${r.stopping}`);
    r.stop().then(
      () => {
        out(`stopped; ${r.root} removed`);
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
  const common = {
    stack,
    ...(args["config-dir"] !== undefined && { configDir: args["config-dir"] }),
    ...(images !== undefined && { imagesDir: images }),
    log: (line: string) => out(line),
    onUnexpectedExit: (inst: { name: string; tail(n: number): string[] }, exit: Parameters<typeof describeExit>[0]) => {
      if (stopping) return;
      err(`warning: ${inst.name} exited unexpectedly (${describeExit(exit)}); the others keep running`);
      for (const l of inst.tail(5)) err(`  ${inst.name}: ${l}`);
    },
  };
  let print: () => void;
  try {
    if (args["all-hosts"]) {
      const fleet = await startAllHosts({ ...common, ports: args["free-ports"] ? "free" : "stack" });
      running = { root: fleet.root, stop: fleet.stop, stopping: "stopping the VIP (HAProxy), then the masters (SIGQUIT), then slaves and resizers ..." };
      print = () => printFleet(fleet);
    } else {
      const cluster = await startCluster({
        ...common,
        ...(args.host !== undefined && { host: args.host }),
        ...(args["free-ports"] && { ports: "free" as const }),
      });
      running = { root: cluster.root, stop: cluster.stop, stopping: `stopping ${cluster.master.name} (SIGQUIT), then slaves and resizers ...` };
      print = () => printCluster(cluster);
    }
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
  print();
}

void main();
