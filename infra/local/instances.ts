// The processes of a local cluster (LocalProcess): an nginx master or slave (NginxProcess)
// and a resizer replica (ResizerProcess), each started from its plan, health-checked, and
// stopped or faulted by pid. Not the Pulumi components of the same instances.
// Not pure: spawns processes and talks HTTP on loopback.
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { dirname } from "node:path";
import { PROCESS_ENV } from "../../resizer/src/settings.js";
import { HEALTH, type Listen, type MasterPlan, type OpsPlan, type ResizerPlan, type SlavePlan } from "../topology.js";
import { toOpsEnv } from "../../resizer/src/ops/config.js";
import { childrenOf, describeExit, Supervised, type Exit } from "./process.js";
import type { RunAs } from "./tools.js";

/** A failure the launcher explains in one line (the CLI prints it and exits non-zero). */
export class LaunchError extends Error {
  /** Last output lines of the process that failed, when one did. */
  readonly detail: string[];
  constructor(message: string, detail: string[] = []) {
    super(message);
    this.detail = detail;
  }
}

export interface Probe {
  /** Where the probe connects. */
  listen: Listen;
  /** HTTPS with this SNI name, verified against `ca`. */
  tls?: { servername: string; ca: string };
  /** Host header (default: the listen address). */
  host?: string;
}

/** One GET of /healthz: the status, or the error text when there is no answer. */
export function probeHealth(probe: Probe, timeoutMs = 2000): Promise<{ status?: number; body: string; error?: string }> {
  const { listen, tls } = probe;
  const options = {
    host: listen.address,
    port: listen.port,
    path: HEALTH.path,
    headers: { host: probe.host ?? tls?.servername ?? listen.address },
    agent: false as const,
    timeout: timeoutMs,
    ...(tls && { servername: tls.servername, ca: tls.ca }),
  };
  return new Promise((resolve) => {
    const req = (tls ? httpsRequest : httpRequest)(options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (err) => resolve({ body, error: err.message }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => resolve({ body: "", error: err.message }));
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Role = "master" | "slave" | "resizer" | "ops" | "haproxy" | "keepalived";

/** How long an instance may take to answer its first /healthz with 200 (or be ready). */
const HEALTH_TIMEOUT_MS: Record<Role, number> = { slave: 10_000, master: 10_000, resizer: 30_000, ops: 30_000, haproxy: 10_000, keepalived: 10_000 };
/** Graceful stop before SIGKILL for nginx, which finishes the requests in flight. */
const STOP_GRACE_MS = 15_000;

export interface LocalProcessOptions {
  name: string;
  role: Role;
  /** Listening sockets, for messages. */
  listens: Listen[];
  probes: Probe[];
  logFile: string;
  user?: RunAs;
  command: () => { command: string; args: string[]; cwd: string; env: Record<string, string> };
  /** SIGQUIT for nginx (graceful), SIGTERM for the resizer (graceful drain). */
  stopSignal: NodeJS.Signals;
  /** Grace before SIGKILL (default STOP_GRACE_MS; the resizer's comes from its plan). */
  stopGraceMs?: number;
  /** Ready besides the probes (a program without an HTTP listener the launcher can reach). */
  ready?: () => Promise<boolean>;
}

/** One process of the cluster; `start` again after a stop or kill restarts it. */
export class LocalProcess {
  readonly name: string;
  readonly role: Role;
  readonly listens: Listen[];
  /** stdout and stderr of the process (nginx's own logs are in its plan's paths). */
  readonly logFile: string;
  protected readonly opts: LocalProcessOptions;
  #proc: Supervised | undefined;
  /** Called when the process exits without being asked to (the launcher reports it). */
  onUnexpectedExit: ((instance: LocalProcess, exit: Exit) => void) | undefined;
  #expectingExit = false;

  constructor(opts: LocalProcessOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.role = opts.role;
    this.listens = opts.listens;
    this.logFile = opts.logFile;
  }

  /** The running process's pid (undefined when stopped). */
  get pid(): number | undefined {
    return this.#proc?.alive ? this.#proc.pid : undefined;
  }

  get alive(): boolean {
    return this.#proc?.alive ?? false;
  }

  get process(): Supervised | undefined {
    return this.#proc;
  }

  /** Last output lines (stderr/stdout) of the current or last process. */
  tail(lines = 5): string[] {
    return this.#proc?.tail(lines) ?? [];
  }

  /** Spawns the process and waits until every probe answers /healthz with 200. */
  async start(): Promise<void> {
    if (this.alive) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    const { command, args, cwd, env } = this.opts.command();
    let proc: Supervised;
    try {
      proc = await Supervised.start({ command, args, cwd, env, logFile: this.logFile, ...(this.opts.user && { user: this.opts.user }) });
    } catch (err) {
      throw new LaunchError(`${this.name}: cannot run ${command}: ${(err as Error).message}`);
    }
    this.#proc = proc;
    this.#expectingExit = false;
    void proc.exited.then((exit) => {
      if (!this.#expectingExit && this.#proc === proc) this.onUnexpectedExit?.(this, exit);
    });
    await this.#waitHealthy(proc);
  }

  async #waitHealthy(proc: Supervised): Promise<void> {
    const timeoutMs = HEALTH_TIMEOUT_MS[this.role];
    const deadline = Date.now() + timeoutMs;
    const ready = this.opts.ready;
    while (ready !== undefined && !(await ready().catch(() => false))) {
      if (!proc.alive) {
        this.#expectingExit = true;
        throw new LaunchError(`${this.name} exited during start-up (${describeExit(proc.exit!)})`, proc.tail(8));
      }
      if (Date.now() > deadline) throw new LaunchError(`${this.name} was not ready within ${timeoutMs / 1000}s`, proc.tail(8));
      await sleep(50);
    }
    for (const probe of this.opts.probes) {
      for (;;) {
        if (!proc.alive) {
          this.#expectingExit = true;
          throw new LaunchError(`${this.name} exited during start-up (${describeExit(proc.exit!)})`, proc.tail(8));
        }
        const r = await probeHealth(probe, 1000);
        if (r.status === 200) break;
        if (Date.now() > deadline) {
          const last = r.status !== undefined ? `/healthz answered ${r.status} ${r.body.trim().slice(0, 120)}` : r.error;
          throw new LaunchError(`${this.name} did not become healthy within ${timeoutMs / 1000}s (${probeName(probe)}: ${last})`, proc.tail(8));
        }
        await sleep(50);
      }
    }
  }

  /** Graceful stop (SIGQUIT for nginx, SIGTERM for a resizer); SIGKILL after a grace. */
  async stop(graceMs = this.opts.stopGraceMs ?? STOP_GRACE_MS): Promise<Exit | undefined> {
    const proc = this.#proc;
    if (proc === undefined) return undefined;
    this.#expectingExit = true;
    return proc.stop(this.opts.stopSignal, graceMs);
  }

  /**
   * A crash: `signal` (default SIGKILL) to every process of the instance (an nginx master
   * and its workers) at once; resolves when the main process has exited.
   */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.#proc;
    if (proc === undefined || !proc.alive) return;
    this.#expectingExit = true;
    proc.signalGroup(signal);
    await proc.exited;
  }

  /** SIGSTOP to every process of the instance: it keeps its sockets but answers nothing. */
  pause(): void {
    this.#proc?.signalGroup("SIGSTOP");
  }

  /** SIGCONT after `pause`. */
  resume(): void {
    this.#proc?.signalGroup("SIGCONT");
  }
}

function probeName(p: Probe): string {
  return `${p.tls ? "https" : "http"}://${p.listen.address}:${p.listen.port}/healthz`;
}

// ---------------------------------------------------------------------------------------
// nginx

export interface NginxRun {
  nginx: string;
  user?: RunAs;
}

/** `nginx -p <dir of config>/ -c <config> -e stderr`: the instance's files, errors before the config's error_log on stderr. */
function nginxArgs(config: string): string[] {
  return ["-p", `${dirname(config)}/`, "-c", config, "-e", "stderr"];
}

export class NginxProcess extends LocalProcess {
  readonly plan: MasterPlan | SlavePlan;
  readonly run: NginxRun;

  constructor(plan: MasterPlan | SlavePlan, run: NginxRun, probes: Probe[], logFile: string) {
    const listens = plan.role === "master" ? [plan.http, ...(plan.https ? [plan.https] : [])] : [plan.listen];
    super({
      name: plan.name,
      role: plan.role,
      listens,
      probes,
      logFile,
      ...(run.user && { user: run.user }),
      stopSignal: "SIGQUIT",
      command: () => ({
        command: run.nginx,
        args: [...nginxArgs(plan.paths.config), "-g", "daemon off;"],
        cwd: dirname(plan.paths.config),
        env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
      }),
    });
    this.plan = plan;
    this.run = run;
  }

  get accessLog(): string {
    return this.plan.paths.accessLog;
  }

  get errorLog(): string {
    return this.plan.paths.errorLog;
  }

  /** `nginx -t` on the instance's config, as the user it runs as. */
  test(): Promise<{ ok: boolean; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.run.nginx, ["-t", "-q", ...nginxArgs(this.plan.paths.config)], {
        stdio: ["ignore", "pipe", "pipe"],
        ...(this.run.user && { uid: this.run.user.uid, gid: this.run.user.gid }),
      });
      let output = "";
      child.stdout.on("data", (b: Buffer) => (output += b.toString()));
      child.stderr.on("data", (b: Buffer) => (output += b.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ ok: code === 0, output: output.trim() }));
    });
  }

  /**
   * Graceful reload, as `nginx -s reload` does: checks the config with `nginx -t` first
   * (a bad config throws and the running one stays), then SIGHUP to the master process,
   * and resolves once the new generation of workers runs and the old one has exited.
   */
  async reload(timeoutMs = 30_000): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) throw new Error(`${this.name} is not running`);
    const check = await this.test();
    if (!check.ok) throw new LaunchError(`${this.name}: nginx -t rejected the new config; still running the old one`, check.output.split("\n"));
    const before = new Set(childrenOf(pid));
    process.kill(pid, "SIGHUP");
    const deadline = Date.now() + timeoutMs;
    // Done when the new generation runs and the old one is gone: until old workers exit
    // (after the requests they hold), kept-alive connections may still see the old config.
    for (;;) {
      const now = childrenOf(pid);
      if (now.some((p) => !before.has(p)) && !now.some((p) => before.has(p))) return;
      if (Date.now() > deadline) throw new LaunchError(`${this.name}: the reload did not complete ${timeoutMs / 1000}s after SIGHUP`, this.tail(8));
      await sleep(20);
    }
  }
}

// ---------------------------------------------------------------------------------------
// resizer

export interface ResizerRun {
  projectRoot: string;
  user?: RunAs;
  /** The process's temp directory (tsx's compile cache, libvips spill files). */
  tmpDir: string;
  jemalloc?: string;
  /** Signing keys (a secret: passed in the environment, never written to the plan). */
  signingKeys?: string[];
}

/** A Node service of the resizer image run from its TypeScript source, with nothing of
 *  the launcher's environment but PATH: what it needs comes in `env`, as in its container. */
function nodeService(script: string, run: Pick<ResizerRun, "projectRoot" | "tmpDir">, env: Record<string, string>) {
  return {
    command: process.execPath,
    args: ["--import", "tsx", script],
    cwd: run.projectRoot,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: run.tmpDir, TMPDIR: run.tmpDir, NODE_ENV: "production", ...env },
  };
}

export class ResizerProcess extends LocalProcess {
  readonly plan: ResizerPlan;

  constructor(plan: ResizerPlan, run: ResizerRun, logFile: string) {
    super({
      name: plan.name,
      role: "resizer",
      listens: [plan.listen],
      probes: [{ listen: plan.listen }],
      logFile,
      ...(run.user && { user: run.user }),
      stopSignal: "SIGTERM",
      stopGraceMs: plan.stopGraceSeconds * 1000,
      command: () =>
        nodeService("resizer/src/main.ts", run, {
          ...(run.jemalloc && { LD_PRELOAD: run.jemalloc }),
          // The whole configuration, exactly as the container gets it.
          ...plan.env,
          ...(run.signingKeys && { [PROCESS_ENV.signingKeys]: JSON.stringify(run.signingKeys) }),
        }),
    });
    this.plan = plan;
  }
}

// ---------------------------------------------------------------------------------------
// ops agent

export class OpsProcess extends LocalProcess {
  readonly plan: OpsPlan;

  constructor(plan: OpsPlan, run: Omit<ResizerRun, "jemalloc">, logFile: string) {
    super({
      name: plan.name,
      role: "ops",
      listens: [plan.listen],
      probes: [{ listen: plan.listen }],
      logFile,
      ...(run.user && { user: run.user }),
      stopSignal: "SIGTERM",
      // The agent's whole configuration, exactly as its container gets it.
      command: () => nodeService("resizer/src/ops/main.ts", run, toOpsEnv(plan.config)),
    });
    this.plan = plan;
  }
}
