// Starts and stops the peers: a php-fpm pool running bench/peers/gd-resize.php, and one
// nginx (bench/lib/peers-config.ts) in front of it, with image_filter and the plain static
// servers. Both run as the launcher's processes do (own process group, log file, stopped
// by pid). Not pure.
import { spawnSync } from "node:child_process";
import { chownSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Supervised } from "../infra/local/process.js";
import { freePorts } from "../infra/local/ports.js";
import { findNginx, unprivilegedUser } from "../infra/local/tools.js";
import type { Listen, MasterPlan } from "../infra/topology.js";
import { GD_SCRIPT_URL, IMAGE_FILTER_MODULE, peersNginxConfig, phpFpmConfig, type PeersPlan } from "./lib/peers-config.js";

export const BENCH_SETUP = "bash scripts/setup.sh bench";

/** Debian's php-fpm binary (php-fpm8.2 on bookworm), or undefined. */
export function findPhpFpm(): string | undefined {
  try {
    return readdirSync("/usr/sbin")
      .filter((f) => /^php-fpm\d+(\.\d+)?$/.test(f))
      .sort()
      .map((f) => `/usr/sbin/${f}`)
      .pop();
  } catch {
    return undefined;
  }
}

export interface Peers {
  urls: { php: string; imageFilter: string; staticLogged: string; staticUnbuffered: string; staticUnlogged: string };
  /** The nginx master process (its workers serve the static rows). */
  nginxPid: number;
  /** php-fpm's master process (its children run GD). */
  phpPid: number;
  staticRoot: string;
  accessLog: string;
  stop(): Promise<void>;
}

const url = (l: Listen) => `http://${l.address}:${l.port}`;

async function answers(target: string, timeoutMs: number, what: string, tail: () => string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(target).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${target} within ${timeoutMs / 1000}s:\n${tail().join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts php-fpm and the peers' nginx under `dir`, serving `imagesRoot` with the master's
 * tuning. `probeImage` is a source path for image_filter's readiness check.
 */
export async function startPeers(opts: { dir: string; imagesRoot: string; master: Pick<MasterPlan, "tuning" | "paths" | "ops" | "name">; largestSourceBytes: number; probeImage: string }): Promise<Peers> {
  const nginx = findNginx();
  const phpFpm = findPhpFpm();
  if (nginx === undefined || phpFpm === undefined) throw new Error(`nginx or php-fpm is missing: run \`${BENCH_SETUP}\` as root`);
  const user = unprivilegedUser();
  const dir = opts.dir;
  const nginxDir = path.join(dir, "nginx");
  const phpDir = path.join(dir, "php-fpm");
  const staticRoot = path.join(dir, "static");
  for (const d of [nginxDir, path.join(nginxDir, "logs"), path.join(nginxDir, "run"), phpDir, staticRoot]) mkdirSync(d, { recursive: true });
  // The script where php-fpm's unprivileged workers can read it (the worktree may not be).
  const gdScript = path.join(phpDir, path.basename(GD_SCRIPT_URL));
  copyFileSync(path.join(__dirname, "peers", "gd-resize.php"), gdScript);

  const [phpPort, pPhp, pFilter, pLogged, pUnbuffered, pUnlogged] = await freePorts(6);
  const at = (port: number | undefined): Listen => ({ address: "127.0.0.1", port: port! });
  const plan: PeersPlan = {
    master: opts.master,
    paths: {
      config: path.join(nginxDir, "nginx.conf"),
      mimeTypes: opts.master.paths.mimeTypes,
      pid: path.join(nginxDir, "run", "nginx.pid"),
      tempDir: path.join(nginxDir, "run"),
      accessLog: path.join(nginxDir, "logs", "access.log"),
      errorLog: path.join(nginxDir, "logs", "error.log"),
      htmlDir: path.join(nginxDir, "html"),
      imagesRoot: opts.imagesRoot,
    },
    staticRoot,
    gdScript,
    phpFpm: at(phpPort),
    listen: { php: at(pPhp), imageFilter: at(pFilter), staticLogged: at(pLogged), staticUnbuffered: at(pUnbuffered), staticUnlogged: at(pUnlogged) },
    imageFilterBufferBytes: Math.max(opts.largestSourceBytes * 2, 8 * 1024 ** 2),
  };
  writeFileSync(plan.paths.config, peersNginxConfig(plan));
  writeFileSync(path.join(phpDir, "php-fpm.conf"), phpFpmConfig({ dir: phpDir, listen: plan.phpFpm, children: availableParallelism(), ...(user && { user: { name: user.name, group: groupName(user.gid) } }) }));
  if (user) for (const d of [nginxDir, path.join(nginxDir, "logs"), path.join(nginxDir, "run")]) chownSync(d, user.uid, user.gid);

  // Each with the signal that stops it gracefully: php-fpm SIGTERM, nginx SIGQUIT.
  const started: { proc: Supervised; signal: NodeJS.Signals }[] = [];
  const stop = async () => {
    await Promise.all(started.map((p) => p.proc.stop(p.signal, 5000)));
  };
  try {
    const php = await Supervised.start({
      command: phpFpm,
      args: ["-F", "-y", path.join(phpDir, "php-fpm.conf")],
      cwd: phpDir,
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
      logFile: path.join(phpDir, "out.log"),
    });
    started.push({ proc: php, signal: "SIGTERM" });
    const web = await Supervised.start({
      command: nginx,
      args: ["-p", `${nginxDir}/`, "-c", plan.paths.config, "-e", "stderr", "-g", "daemon off;"],
      cwd: nginxDir,
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
      logFile: path.join(nginxDir, "logs", "nginx.out"),
      ...(user && { user }),
    });
    started.push({ proc: web, signal: "SIGQUIT" });
    const tail = () => [...php.tail(5), ...web.tail(5)];
    const urls = {
      php: url(plan.listen.php),
      imageFilter: url(plan.listen.imageFilter),
      staticLogged: url(plan.listen.staticLogged),
      staticUnbuffered: url(plan.listen.staticUnbuffered),
      staticUnlogged: url(plan.listen.staticUnlogged),
    };
    await answers(`${urls.php}${GD_SCRIPT_URL}?info=1`, 15_000, "php-fpm behind nginx", tail);
    await answers(`${urls.imageFilter}/filter/${opts.probeImage}?w=32&h=18`, 15_000, "nginx image_filter", tail);
    return { urls, staticRoot, accessLog: plan.paths.accessLog, nginxPid: web.pid, phpPid: php.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function groupName(gid: number): string {
  const r = spawnSync("getent", ["group", String(gid)], { encoding: "utf8" });
  return r.stdout.split(":")[0] || String(gid);
}

export { IMAGE_FILTER_MODULE };
