// Single flight: identical requests that arrive while a transform for them is running
// share it: one transform, one result buffer, every waiter answered with it. The master
// sends every request for one variant to the same replica (it hashes its cache key), so a
// new poster asked for by thousands of players at once is resized once, and nobody waits
// on nginx's cache-lock timer.
//
// A result stays a moment after its transform ends (`lingerMs`, within `lingerBytes` in
// all): requests of the same burst that passed the master's cache check just before the
// entry was stored still share it instead of starting the transform again. Beyond that the
// master's cache answers. Memory is therefore the buffers of the transforms in flight
// (bounded by admission) plus at most `lingerBytes`. Failures are never kept.
//
// Each waiter keeps its own deadline and its own client. The work's signal aborts when
// every waiter has gone, and from that moment a new arrival starts a new flight instead of
// joining one that is being torn down. The work bounds itself otherwise: the server gives
// each shared transform its own deadline, so joiners never extend it.

interface Flight<T> {
  promise: Promise<T>;
  waiters: number;
  abandon: AbortController;
}

interface Kept<T> {
  value: T;
  bytes: number;
  until: number;
}

export interface FlightOptions<T> {
  /** How long a result is kept after its transform ends (0: not at all). */
  lingerMs: number;
  /** At most this many bytes of results are kept; the oldest go first. */
  lingerBytes: number;
  /** A result's size in bytes. */
  sizeOf: (value: T) => number;
  /** The clock (tests). */
  now?: () => number;
}

export class Flights<T> {
  readonly #flights = new Map<string, Flight<T>>();
  /** Recent results, oldest first (Map keeps insertion order). */
  readonly #kept = new Map<string, Kept<T>>();
  #keptBytes = 0;
  readonly #options: FlightOptions<T>;
  readonly #now: () => number;

  constructor(options: FlightOptions<T>) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Transforms in flight (distinct keys). */
  get size(): number {
    return this.#flights.size;
  }

  /** Bytes of results kept after their transform ended. */
  get keptBytes(): number {
    this.#expire();
    return this.#keptBytes;
  }

  /**
   * The result of `work` for `key`: kept from a transform that just ended, or from one
   * running for another request, or started now. `signal` is this caller's deadline and
   * client; `work` gets a signal that aborts only once every caller of the flight has gone.
   * `shared` is true for a caller that did not start the transform.
   */
  async run(key: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; shared: boolean }> {
    if (signal.aborted) throw signal.reason;
    this.#expire();
    const kept = this.#kept.get(key);
    if (kept !== undefined) return { value: kept.value, shared: true };
    let flight = this.#flights.get(key);
    const shared = flight !== undefined;
    if (flight === undefined) {
      const abandon = new AbortController();
      const started: Flight<T> = { promise: Promise.resolve(undefined as T), waiters: 0, abandon };
      started.promise = work(abandon.signal).then(
        (value) => {
          if (this.#flights.get(key) === started) {
            this.#flights.delete(key);
            this.#keep(key, value);
          }
          return value;
        },
        (error: unknown) => {
          if (this.#flights.get(key) === started) this.#flights.delete(key);
          throw error;
        },
      );
      // Observed here so a flight nobody waits for any more never rejects unhandled.
      started.promise.catch(() => {});
      this.#flights.set(key, started);
      flight = started;
    }
    const joined = flight;
    joined.waiters++;
    try {
      return { value: await untilAborted(joined.promise, signal), shared };
    } finally {
      joined.waiters--;
      if (joined.waiters === 0 && signal.aborted && !joined.abandon.signal.aborted) {
        // The last caller gave up: nobody will read the result. Leave the map first, so a
        // request arriving now starts afresh rather than joining a flight being aborted.
        if (this.#flights.get(key) === joined) this.#flights.delete(key);
        joined.abandon.abort(signal.reason);
      }
    }
  }

  #keep(key: string, value: T): void {
    const { lingerMs, lingerBytes, sizeOf } = this.#options;
    const bytes = sizeOf(value);
    if (lingerMs <= 0 || bytes > lingerBytes) return;
    this.#kept.set(key, { value, bytes, until: this.#now() + lingerMs });
    this.#keptBytes += bytes;
    for (const [k, v] of this.#kept) {
      if (this.#keptBytes <= lingerBytes) break;
      this.#drop(k, v);
    }
  }

  #expire(): void {
    const now = this.#now();
    for (const [k, v] of this.#kept) {
      if (v.until > now) break; // kept in order of their end: the rest are younger
      this.#drop(k, v);
    }
  }

  #drop(key: string, kept: Kept<T>): void {
    this.#kept.delete(key);
    this.#keptBytes -= kept.bytes;
  }
}

/** `promise`, or the signal's reason when it aborts first (the promise keeps running). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
