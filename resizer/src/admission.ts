// Admission of work by count and by memory. A replica runs at most `slots` tasks at once,
// and only while the memory they are estimated to need together fits its budget; up to
// `maxQueue` callers wait (first come, first served: a large task at the head is not
// overtaken, so it cannot starve), the next one is refused at once (503 + Retry-After)
// instead of piling up buffers. A task whose estimate alone exceeds the budget is refused
// before it queues (400: it could never run). A waiter whose signal aborts (deadline,
// client gone) leaves the queue. A running task keeps its slot and its bytes until it
// really settles, even if its caller stopped waiting: abandoned work still holds memory.
//
// Any kind of work can be admitted: a resize passes its plan's estimate
// (`estimateTransformBytes`), other work (e.g. a storyboard's sprite sheet) its own.
import { ResizeError } from "./errors.js";
import { mib, overBudget } from "./memory.js";

/** What a task costs while it runs. */
export interface Cost {
  /** Estimated peak memory (bytes). */
  bytes: number;
  /** Named in the refusal when `bytes` alone exceeds the budget, e.g. "this storyboard sheet". */
  what?: string;
}

interface Waiter {
  cost: Cost;
  start: () => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class Admission {
  #active = 0;
  #bytes = 0;
  readonly #waiting: Waiter[] = [];

  constructor(
    readonly slots: number,
    readonly maxQueue: number,
    /** Memory (bytes) all running tasks may need together. */
    readonly budgetBytes: number,
  ) {}

  /** Tasks running. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Estimated bytes of the tasks running. */
  get admittedBytes(): number {
    return this.#bytes;
  }

  async run<T>(cost: Cost, task: () => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.#acquire(cost, signal);
    try {
      return await task();
    } finally {
      this.#release(cost);
    }
  }

  #fits(cost: Cost): boolean {
    return this.#active < this.slots && this.#bytes + cost.bytes <= this.budgetBytes;
  }

  #acquire(cost: Cost, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (cost.bytes > this.budgetBytes) return Promise.reject(overBudget(cost.bytes, this.budgetBytes, cost.what ?? "this work"));
    if (this.#waiting.length === 0 && this.#fits(cost)) {
      this.#take(cost);
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.maxQueue) {
      return Promise.reject(new ResizeError("busy", "the resizer is saturated, retry shortly", { retryAfter: 1 }));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        cost,
        signal,
        start: () => {
          signal.removeEventListener("abort", waiter.onAbort);
          resolve();
        },
        onAbort: () => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(abortError(signal));
          this.#startWaiting(); // the head may have been what blocked the others
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #take(cost: Cost): void {
    this.#active++;
    this.#bytes += cost.bytes;
  }

  #release(cost: Cost): void {
    this.#active--;
    this.#bytes -= cost.bytes;
    this.#startWaiting();
  }

  /** Starts waiters from the head while they fit. */
  #startWaiting(): void {
    for (let next = this.#waiting[0]; next !== undefined && this.#fits(next.cost); next = this.#waiting[0]) {
      this.#waiting.shift();
      this.#take(next.cost);
      next.start();
    }
  }

  toString(): string {
    return `${this.#active}/${this.slots} running, ${mib(this.#bytes)}/${mib(this.budgetBytes)} MiB, ${this.#waiting.length} waiting`;
  }
}

/** The signal's reason when it is a ResizeError (the caller's deadline), else a timeout. */
function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof ResizeError
    ? signal.reason
    : new ResizeError("timeout", "the request took too long", { retryAfter: 1 });
}
