// Transform workers: one child process per concurrency slot runs the transforms
// (transformWorker.ts), so that work can really be stopped. libvips checks its own timeout
// only between pixel regions, and an AVIF encode (libaom) runs past it for tens of seconds
// holding hundreds of MiB; a worker is killed instead, and its memory and slot are free
// once the process is gone (milliseconds). A killed or crashed worker is replaced at once.
// A side effect worth having: should a transform still exhaust the container's memory, the
// kernel's OOM killer picks the largest process, that worker, not the service.
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { Rendered } from "./engine.js";
import { ResizeError, type ErrorCode } from "./errors.js";
import type { Plan } from "./plan.js";
import type { ServiceSettings } from "./settings.js";
import type { SourceFile } from "./source.js";

/** What a worker configures libvips with (once, at start). */
export type WorkerEngine = Pick<ServiceSettings, "allowVector" | "vipsThreads">;

export interface RenderJob {
  file: SourceFile;
  plan: Plan;
  maxInputPixels: number;
}

/** Parent -> worker. */
export interface JobMessage extends RenderJob {
  id: number;
}

/** Worker -> parent. */
export type WorkerMessage =
  | { ready: true }
  | { id: number; ok: true; data: Uint8Array; width: number; height: number }
  | { id: number; ok: false; code: ErrorCode; message: string; retryAfter?: number; internal?: string };

export interface PoolHooks {
  /** A running transform was stopped: seconds from the stop to its worker being gone. */
  cancelled?(seconds: number): void;
  /** A worker died on its own (a crash, the OOM killer). */
  crashed?(detail: string): void;
}

const ENTRY = path.join(__dirname, `transformWorker${path.extname(__filename)}`);
/** Under tsx (tests, `npm run resizer`) the worker is TypeScript too. */
const EXEC_ARGV = path.extname(__filename) === ".ts" ? ["--import", "tsx"] : [];

/** Before starting again a worker that died before it was ready. */
const RESTART_PAUSE_MS = 1000;

class Worker {
  readonly child: ChildProcess;
  /** Resolves once libvips is configured; rejects if the process dies first. */
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  busy = false;
  gone = false;
  started = false;
  #nextId = 0;
  /** Killed or stopped by this side (a deadline, a shutdown), not dead on its own. */
  stopRequested = false;
  /** Settles the job running now when the process ends; one at a time, nothing kept after. */
  #onExitDuringJob: (() => void) | undefined;

  /** `onExit` (the pool's) runs first when the process ends: the replacement is in place before the job it was running settles and frees its slot. */
  constructor(engine: WorkerEngine, onExit: (worker: Worker) => void) {
    this.child = fork(ENTRY, [JSON.stringify(engine)], {
      execArgv: EXEC_ARGV,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.exited = new Promise((resolve) =>
      this.child.once("exit", () => {
        this.gone = true;
        onExit(this);
        this.#onExitDuringJob?.();
        resolve();
      }),
    );
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if ("ready" in m) {
          this.child.off("message", onMessage);
          this.started = true;
          resolve();
        }
      };
      this.child.on("message", onMessage);
      void this.exited.then(() => reject(new ResizeError("transform_failed", "a transform worker could not start", { retryAfter: 1 })));
    });
    this.ready.catch(() => undefined); // observed by whoever waits for it
    this.child.on("error", () => undefined); // spawn failures surface as `exit`
  }

  /** Runs one job; on `signal` the process is killed and the promise settles once it is gone. */
  render(job: RenderJob, signal: AbortSignal, hooks: Pick<PoolHooks, "cancelled">): Promise<Rendered> {
    const id = ++this.#nextId;
    return new Promise<Rendered>((resolve, reject) => {
      let stoppedAt: number | undefined;
      const cleanup = () => {
        this.child.off("message", onMessage);
        signal.removeEventListener("abort", onAbort);
        this.#onExitDuringJob = undefined;
      };
      const onMessage = (m: WorkerMessage) => {
        if (!("id" in m) || m.id !== id || stoppedAt !== undefined) return;
        cleanup();
        if (m.ok) {
          resolve({ data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), width: m.width, height: m.height });
        } else {
          reject(new ResizeError(m.code, m.message, { ...(m.retryAfter !== undefined && { retryAfter: m.retryAfter }), ...(m.internal && { cause: new Error(m.internal) }) }));
        }
      };
      const onAbort = () => {
        stoppedAt = performance.now();
        this.stopRequested = true;
        this.child.kill("SIGKILL");
      };
      this.child.on("message", onMessage);
      signal.addEventListener("abort", onAbort, { once: true });
      // Not `exited.then(...)`: a reaction per job would stay on the promise for the worker's
      // whole life (memory per request), and every job it ever ran would be settled again,
      // and counted as a crash, when it ends.
      const onExit = () => {
        cleanup();
        if (stoppedAt !== undefined) {
          hooks.cancelled?.((performance.now() - stoppedAt) / 1000);
          reject(signal.reason instanceof ResizeError ? signal.reason : new ResizeError("timeout", "the request took too long", { retryAfter: 1 }));
        } else {
          reject(new ResizeError("transform_failed", "the transform's process ended unexpectedly (out of memory?)", { retryAfter: 1 }));
        }
      };
      if (this.gone) {
        reject(new ResizeError("transform_failed", "a transform worker is restarting", { retryAfter: 1 }));
        return;
      }
      this.#onExitDuringJob = onExit;
      if (signal.aborted) onAbort();
      else {
        try {
          this.child.send({ id, ...job } satisfies JobMessage);
        } catch {
          // The channel just closed: the process is exiting, and `exited` settles this job.
        }
      }
    });
  }

  stop(): Promise<void> {
    this.stopRequested = true;
    if (!this.gone) this.child.kill("SIGTERM");
    return this.exited;
  }
}

/**
 * `size` workers (the concurrency), each running one transform at a time. The caller
 * (Admission) never runs more than `size` jobs at once.
 */
export class TransformPool {
  readonly #workers: Worker[];
  #closing = false;

  private constructor(
    size: number,
    readonly engine: WorkerEngine,
    readonly hooks: PoolHooks,
  ) {
    this.#workers = Array.from({ length: size }, () => this.#spawn());
  }

  /** Starts the workers and waits until every one is ready. */
  static async start(size: number, engine: WorkerEngine, hooks: PoolHooks = {}): Promise<TransformPool> {
    const pool = new TransformPool(size, engine, hooks);
    try {
      await Promise.all(pool.#workers.map((w) => w.ready));
    } catch (err) {
      await pool.close();
      throw new Error(`transform workers did not start (${ENTRY}): ${(err as Error).message}`);
    }
    return pool;
  }

  /** Workers alive (a killed one is being replaced when this is below the size). */
  get alive(): number {
    return this.#workers.filter((w) => !w.gone).length;
  }

  #spawn(): Worker {
    const replace = (worker: Worker) => {
      const at = this.#workers.indexOf(worker);
      if (at >= 0 && !this.#closing) this.#workers[at] = this.#spawn();
    };
    return new Worker(this.engine, (worker) => {
      if (!worker.started) {
        setTimeout(() => replace(worker), RESTART_PAUSE_MS); // not in a tight loop
        return;
      }
      // Once per process that died on its own, whether or not it was running a job.
      if (!worker.stopRequested) this.hooks.crashed?.(`exit ${worker.child.exitCode ?? worker.child.signalCode}`);
      replace(worker);
    });
  }

  async run(job: RenderJob, signal: AbortSignal): Promise<Rendered> {
    const worker = this.#workers.find((w) => !w.busy && !w.gone);
    if (worker === undefined) {
      // Admission never runs more jobs than workers: the missing one is being replaced.
      throw new ResizeError("transform_failed", "a transform worker is restarting", { retryAfter: 1 });
    }
    worker.busy = true;
    try {
      await worker.ready;
      return await worker.render(job, signal, this.hooks);
    } finally {
      worker.busy = false;
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#workers.map((w) => w.stop()));
  }
}
