// Bounded concurrency with a bounded queue. Beyond `concurrency` running tasks, up to
// `maxQueue` callers wait; the next one is refused at once (503 + Retry-After) instead
// of piling up buffers in memory. A waiter whose signal aborts (deadline, client gone)
// leaves the queue. A running task keeps its slot until it really settles, even if its
// caller stopped waiting: abandoned work still holds memory and CPU.
import { ResizeError } from "./errors.js";

interface Waiter {
  start: () => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class Limiter {
  #active = 0;
  readonly #waiting: Waiter[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {}

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (this.#active < this.concurrency) {
      this.#active++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.maxQueue) {
      return Promise.reject(new ResizeError("busy", "the resizer is saturated, retry shortly", { retryAfter: 1 }));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        signal,
        start: () => {
          signal.removeEventListener("abort", waiter.onAbort);
          resolve();
        },
        onAbort: () => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(abortError(signal));
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#active--;
    else next.start(); // the slot passes straight to the next waiter
  }
}

/** The signal's reason when it is a ResizeError (the caller's deadline), else a timeout. */
function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof ResizeError
    ? signal.reason
    : new ResizeError("timeout", "the request took too long", { retryAfter: 1 });
}
