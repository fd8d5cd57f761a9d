// A request kept in flight on purpose: a client that reads the first bytes of a large
// answer and then stops reading, so the server still holds the response when a stop
// signal arrives. Resuming lets it finish; the outcome says whether every byte came.
import { createHash } from "node:crypto";
import { request } from "node:http";

export interface InFlightResult {
  status: number;
  bytes: number;
  sha256: string;
  /** performance.now() when the answer ended (or broke). */
  endedAt: number;
  /** Why the answer broke before its end, if it did. */
  error?: string;
}

export interface InFlight {
  /** Resolves once the answer has begun and reading is paused. */
  started: Promise<void>;
  resume(): void;
  /** Never rejects: a broken answer resolves with `error`. */
  done: Promise<InFlightResult>;
}

/**
 * GET `path` from `address:port` (Host `host`), pausing after the first chunk. Once resumed,
 * an answer that stalls for `stallMs` counts as broken: a server killed without closing its
 * connection (a container whose network namespace vanished) sends no FIN or RST at all.
 */
export function pausedDownload(address: string, port: number, path: string, host: string, stallMs = 15_000): InFlight {
  let markStarted!: () => void;
  let failStart!: (err: Error) => void;
  const started = new Promise<void>((resolve, reject) => ((markStarted = resolve), (failStart = reject)));
  let paused: import("node:http").IncomingMessage | undefined;
  const done = new Promise<InFlightResult>((resolve) => {
    const hash = createHash("sha256");
    let bytes = 0;
    let status = 0;
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      resolve({ status, bytes, sha256: hash.digest("hex"), endedAt: performance.now(), ...(error !== undefined && { error }) });
    };
    const req = request({ host: address, port, path, headers: { host }, agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
        if (paused === undefined) {
          paused = res;
          res.pause();
          markStarted();
        }
      });
      res.on("end", () => finish());
      res.on("error", (err) => finish(err.message));
      res.on("close", () => finish(res.complete ? undefined : "connection closed before the end of the answer"));
    });
    req.on("error", (err) => {
      failStart(err);
      finish(err.message);
    });
    req.end();
  });
  const resume = () => {
    if (paused === undefined) return;
    const stream = paused;
    stream.setTimeout(stallMs, () => stream.destroy(new Error(`no data for ${stallMs / 1000} s`)));
    stream.resume();
  };
  return { started, resume, done };
}

export const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
