// The software VIP's processes in a local cluster: an L4 host's HAProxy (HaproxyProcess)
// and keepalived (KeepalivedProcess), started from the files `vipFiles` renders for the
// local target, asked about the hosts through HAProxy's admin socket, reloaded as the
// containers are (states saved, SIGUSR2). Not pure: spawns processes, talks to sockets.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import { haproxyForeground, keepalivedServe } from "../remote.js";
import { VIP_NAMES, type VipHostPlan } from "../topology.js";
import { LaunchError, LocalProcess } from "./instances.js";
import { childrenOf } from "./process.js";
import type { RunAs } from "./tools.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One command on HAProxy's admin socket; resolves with its whole answer. */
export function adminCommand(socket: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const conn = connect(socket);
    const timer = setTimeout(() => conn.destroy(new Error(`${socket}: no answer to "${command}" within ${timeoutMs} ms`)), timeoutMs);
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.end(`${command}\n`));
    conn.on("data", (d: string) => (out += d));
    conn.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** A host's state in one backend, as HAProxy's `show stat` says it (`UP`, `DOWN`, `UP 1/3`, `DOWN 1/2`, `MAINT`, ...). */
export type ServerStatus = string;

/** `show stat` CSV -> backend -> server -> status. */
export function parseShowStat(csv: string): Map<string, Map<string, ServerStatus>> {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const header = (lines.shift() ?? "").replace(/^# /, "").split(",");
  const col = (name: string) => header.indexOf(name);
  const [px, sv, status] = [col("pxname"), col("svname"), col("status")];
  const out = new Map<string, Map<string, ServerStatus>>();
  for (const line of lines) {
    const f = line.split(",");
    const server = f[sv]!;
    if (server === "FRONTEND" || server === "BACKEND") continue;
    const backend = f[px]!;
    if (!out.has(backend)) out.set(backend, new Map());
    out.get(backend)!.set(server, f[status]!);
  }
  return out;
}

export interface HaproxyRun {
  /** Run as this user; undefined: the current one (root, to bind inside another network namespace). */
  user?: RunAs;
}

export class HaproxyProcess extends LocalProcess {
  readonly plan: VipHostPlan;

  constructor(plan: VipHostPlan, run: HaproxyRun, logFile: string) {
    const h = plan.haproxy;
    super({
      name: h.name,
      role: "haproxy",
      listens: [...h.listen.map((l) => l.listen), h.stats],
      // The admin socket is a file, reachable even when the listeners are in another namespace.
      probes: [],
      ready: async () => (await adminCommand(h.paths.socket, "show info", 1_000)).includes("Name: HAProxy"),
      logFile,
      ...(run.user && { user: run.user }),
      // Soft stop: listeners close, connections in flight finish (up to hard-stop-after).
      stopSignal: "SIGUSR1",
      command: () => {
        // An empty state (its format version) so the first start loads nothing, warning-free.
        if (!existsSync(h.paths.stateFile)) writeFileSync(h.paths.stateFile, "1\n");
        const [command, ...args] = haproxyForeground(h.paths.config);
        return { command: command!, args, cwd: dirname(h.paths.config), env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" } };
      },
    });
    this.plan = plan;
  }

  /** Every host's state per VIP port (backend `hosts_http`, `hosts_https`). */
  async servers(): Promise<Map<string, Map<string, ServerStatus>>> {
    return parseShowStat(await adminCommand(this.plan.haproxy.paths.socket, "show stat"));
  }

  /** Whether `host` is in service (UP, counting a failing check not yet at `fall`) on every VIP port. */
  async admits(host: string): Promise<boolean> {
    const servers = await this.servers();
    return this.plan.haproxy.listen.every(({ service }) => /^UP\b/.test(servers.get(VIP_NAMES.backend(service))?.get(host) ?? ""));
  }

  /** Whether `host` is out of service (DOWN or in maintenance) on every VIP port. */
  async excludes(host: string): Promise<boolean> {
    const servers = await this.servers();
    return this.plan.haproxy.listen.every(({ service }) => /^(DOWN|MAINT|DRAIN|NOLB)/.test(servers.get(VIP_NAMES.backend(service))?.get(host) ?? "DOWN"));
  }

  /**
   * The containers' reload: `haproxy -c` is left to the caller (the files are already
   * written), the hosts' states saved for the new processes, then SIGUSR2 to the master;
   * resolves once a new worker runs and the old ones are gone (or only finishing).
   */
  async reload(timeoutMs = 30_000): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) throw new Error(`${this.name} is not running`);
    const paths = this.plan.haproxy.paths;
    writeFileSync(paths.stateFile, await adminCommand(paths.socket, "show servers state"));
    const before = new Set(childrenOf(pid));
    process.kill(pid, "SIGUSR2");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (childrenOf(pid).some((p) => !before.has(p))) return;
      if (Date.now() > deadline) throw new LaunchError(`${this.name}: no new worker ${timeoutMs / 1000}s after SIGUSR2`, this.tail(8));
      await sleep(20);
    }
  }
}

export class KeepalivedProcess extends LocalProcess {
  readonly plan: VipHostPlan;

  constructor(plan: VipHostPlan, logFile: string) {
    const k = plan.keepalived;
    super({
      name: k.name,
      role: "keepalived",
      listens: [],
      probes: [],
      // Its VRRP process has started (and written its pid).
      ready: async () => existsSync(k.paths.vrrpPidFile) && readFileSync(k.paths.vrrpPidFile, "utf8").trim() !== "",
      logFile,
      // keepalived gives the VIP up on SIGTERM (priority 0): a peer takes it at once.
      stopSignal: "SIGTERM",
      command: () => {
        const [command, ...args] = keepalivedServe(k.paths);
        return {
          command: command!,
          args: [...args, ...(k.namespace !== undefined ? ["--namespace", k.namespace] : [])],
          cwd: dirname(k.paths.config),
          env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
        };
      },
    });
    this.plan = plan;
  }
}
