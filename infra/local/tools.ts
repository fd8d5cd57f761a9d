// The programs a local cluster runs and the user it runs them as. Not pure: looks at the
// filesystem. Shared by the launcher (`npm start`) and the tests.
import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";

/** What a newcomer types when a system package is missing (`npm start` runs it itself). */
export const SETUP_COMMAND = "bash scripts/setup.sh";

/** Candidate paths of the nginx binary: $NGINX_BIN alone, else PATH, /usr/sbin, /usr/local/sbin. */
export function nginxCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.NGINX_BIN) return [env.NGINX_BIN];
  const dirs = [...(env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/sbin", "/usr/local/sbin"];
  return [...new Set(dirs)].map((dir) => join(dir, "nginx"));
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nginx binary, or undefined when none of `nginxCandidates()` is executable. */
export function findNginx(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return nginxCandidates(env).find(executable);
}

/** A program on PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return (env.PATH ?? "")
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(executable);
}

export interface RunAs {
  uid: number;
  gid: number;
  name: string;
  /**
   * May bind ports below 1024 (a stack's real 80/443 in `npm start -- --all-hosts`): started
   * through util-linux's `setpriv` with CAP_NET_BIND_SERVICE as its only (ambient) capability,
   * as a container's published port would allow without root.
   */
  lowPorts?: boolean;
}

/** The first port an unprivileged process may bind (net.ipv4.ip_unprivileged_port_start). */
export function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
  } catch {
    return 1024;
  }
}

/**
 * The user nginx and the resizers run as: production runs them unprivileged (no `user`
 * directive, containers as non-root), so when this process is root they run as `nobody`;
 * otherwise as the current user (undefined: no switch).
 */
export function unprivilegedUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("nobody:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) throw new Error("running as root but /etc/passwd has no `nobody` user to run nginx and the resizers as");
  return { uid: Number(uid), gid: Number(gid), name: "nobody" };
}

/**
 * jemalloc, preloaded into the resizers as the container image does (glibc's allocator
 * fragments under libvips' threads). Undefined when Debian's libjemalloc2 is absent.
 */
export function findJemalloc(): string | undefined {
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  return [`/usr/lib/${arch}-linux-gnu/libjemalloc.so.2`, "/usr/lib/libjemalloc.so.2", "/usr/local/lib/libjemalloc.so.2"].find((p) => {
    try {
      accessSync(p, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** This process's hard limit of open files (Infinity when unlimited). */
function openFilesHardLimit(): number {
  const m = /^Max open files\s+\S+\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  return m?.[1] === "unlimited" ? Infinity : Number(m?.[1] ?? 0);
}

/**
 * Raises this process's hard open-files limit to at least `n` (children inherit it), as
 * Docker's `nofile` ulimit does for the containers: nginx's `worker_rlimit_nofile` can
 * only raise a worker's limit up to the hard limit it inherits. Needs root with
 * CAP_SYS_RESOURCE. Returns the hard limit in force afterwards.
 */
export function raiseOpenFilesLimit(n: number): number {
  if (openFilesHardLimit() >= n || process.getuid?.() !== 0) return openFilesHardLimit();
  spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=:${n}`], { encoding: "utf8" });
  return openFilesHardLimit();
}
