// One supervised child process of the local cluster: spawned in its own process group
// (so a terminal's Ctrl-C reaches only the launcher, which then stops everything in the
// seeds' order), its output appended to a log file with the last lines kept for error
// messages, and stopped by pid: a signal, then SIGKILL to the whole group after a grace.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from "node:fs";
import type { RunAs } from "./tools.js";

export interface SpawnSpec {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Run as this user (the launcher runs as root): production runs everything unprivileged. */
  user?: RunAs;
  /** stdout and stderr are appended here. */
  logFile: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const TAIL_LINES = 20;

export class Supervised {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #tail: string[] = [];
  #partial = "";

  private constructor(child: ChildProcess, log: WriteStream) {
    this.child = child;
    this.pid = child.pid!;
    this.exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    const keep = (chunk: Buffer) => {
      log.write(chunk);
      const lines = (this.#partial + chunk.toString("utf8")).split("\n");
      this.#partial = lines.pop() ?? "";
      this.#tail.push(...lines.filter((l) => l.trim() !== ""));
      if (this.#tail.length > TAIL_LINES) this.#tail.splice(0, this.#tail.length - TAIL_LINES);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.once("close", () => log.end());
  }

  /** Starts the process; rejects if it cannot be spawned at all (ENOENT, EACCES). */
  static async start(spec: SpawnSpec): Promise<Supervised> {
    const log = createWriteStream(spec.logFile, { flags: "a" });
    await new Promise<void>((resolve, reject) => {
      log.once("open", () => resolve());
      log.once("error", reject);
    });
    // Low ports: setpriv switches to the user keeping CAP_NET_BIND_SERVICE alone, then execs
    // the program (same pid); otherwise node switches the user itself.
    const user = spec.user;
    const viaSetpriv = user?.lowPorts === true;
    const [command, args] = viaSetpriv
      ? ["setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service", "--", spec.command, ...spec.args]]
      : [spec.command, spec.args];
    const child = spawn(command, args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      ...(user && !viaSetpriv && { uid: user.uid, gid: user.gid }),
    });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (err) => {
        log.end();
        reject(err);
      });
    });
    return new Supervised(child, log);
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** The last lines the process wrote (stdout and stderr), oldest first. */
  tail(lines = 5): string[] {
    const pending = this.#partial.trim() !== "" ? [this.#partial] : [];
    return [...this.#tail, ...pending].slice(-lines);
  }

  /** Sends `signal` to the process only (nginx's master passes it on to its workers). */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }

  /**
   * Sends `signal` to every process of this one's group (an nginx master and its workers,
   * or workers left behind by a killed master), each by its pid.
   */
  signalGroup(signal: NodeJS.Signals): void {
    for (const pid of groupMembers(this.pid)) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }

  /**
   * Graceful stop: `signal`, then SIGKILL to the group after `graceMs`. Resolves when the
   * process has exited; the group is killed either way, so no orphaned worker survives.
   */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<Exit> {
    if (this.alive) {
      this.signal(signal);
      const timer = setTimeout(() => this.signalGroup("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Workers orphaned by a master killed earlier (a fault test) are still in the group.
    this.signalGroup("SIGKILL");
    return this.#exit!;
  }
}

export function describeExit(exit: Exit): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/** Live (non-zombie) pids whose /proc stat matches, given its fields after "(comm)". */
function scanProc(match: (fields: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && match(fields)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Pids whose process group is `pgid`. */
export const groupMembers = (pgid: number): number[] => scanProc((f) => Number(f[2]) === pgid);

/** Pids whose parent is `ppid` (nginx workers of a master). */
export const childrenOf = (ppid: number): number[] => scanProc((f) => Number(f[1]) === ppid);
