// Single flight: identical requests that arrive while a transform for them is running
// share it: one transform, one result buffer, every waiter answered with it. The master
// sends every request for one variant to the same replica (it hashes its cache key), so a
// new poster asked for by thousands of players at once is resized once, and nobody waits
// on nginx's cache-lock timer.
//
// Nothing outlives the flight: once the transform settles its entry is gone (the master
// caches results; this spans only the time the transform runs), so memory is one shared
// buffer per transform in flight, and those are bounded by the limiter.
//
// Each waiter keeps its own deadline and its own client. The transform is abandoned only
// when every waiter has gone (its signal aborts then), and from that moment a new arrival
// starts a new flight instead of joining one that is being torn down.

interface Flight<T> {
  promise: Promise<T>;
  waiters: number;
  abandon: AbortController;
}

export class Flights<T> {
  readonly #flights = new Map<string, Flight<T>>();

  /** Transforms in flight (distinct keys). */
  get size(): number {
    return this.#flights.size;
  }

  /**
   * The result of `work` for `key`, started now or already running for another request.
   * `signal` is this caller's deadline and client; `work` gets a signal that aborts only
   * once every caller of the flight has gone. `shared` is true for a caller that joined.
   */
  async run(key: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; shared: boolean }> {
    if (signal.aborted) throw signal.reason;
    let flight = this.#flights.get(key);
    const shared = flight !== undefined;
    if (flight === undefined) {
      const abandon = new AbortController();
      const started: Flight<T> = { promise: Promise.resolve(undefined as T), waiters: 0, abandon };
      started.promise = work(abandon.signal).finally(() => {
        if (this.#flights.get(key) === started) this.#flights.delete(key);
      });
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
}

/** `promise`, or the signal's reason when it aborts first (the promise keeps running). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
