// The HTTP service: routing, the resize flow (parse -> [revalidation: resolve -> 304] ->
// [join an identical transform in flight] -> resolve -> [probe] -> plan and its memory
// estimate -> admission -> render in a worker -> respond), storyboards
// (storyboard/service.ts), the one place where errors become responses, metrics, one log
// line per request, and graceful shutdown.
import { KEEP_ALIVE_TIMEOUT_MS, MAX_HEADER_BYTES, PROCESS_ENV } from "./settings.js";
import { randomUUID } from "node:crypto";
import { access, constants } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { Admission } from "./admission.js";
import { REDIRECT_CACHE_CONTROL, urlVerdict } from "./canonical.js";
import { ENGINE, configureEngine, probe, type Rendered } from "./engine.js";
import { ResizeError, isResizeError } from "./errors.js";
import { Flights } from "./flights.js";
import { CONTENT_TYPES, outputFormats, requestedOutputs, SNIFF_BYTES, sniffFormat, variantFor } from "./format.js";
import { budgetBytes } from "./memory.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { parseResizeQuery, parseTimthumbQuery, type ResizeRequest } from "./params.js";
import { planTransform, planWithoutHeader, type Plan, type PlanSettings } from "./plan.js";
import { NOT_FOUND_STATUS_HEADER, routeFor, UNROUTED, type RouteHandler, type RouteLabel } from "./routes.js";
import type { ProcessSettings, ServiceSettings } from "./settings.js";
import { openSource, realRoot, type Source } from "./source.js";
import { createStoryboardService, type StoryboardReply } from "./storyboard/service.js";
import { httpDate, notModified, strongEtag } from "./validators.js";
import { TransformPool } from "./workers.js";

/**
 * A result is kept this long after its transform ends, for the requests of the same burst
 * that passed the master's cache check just before the entry was stored (flights.ts)...
 */
const FLIGHT_LINGER_MS = 1_000;
/** ...and at most this many bytes of such results at once. */
const FLIGHT_LINGER_BYTES = 8 * 1024 * 1024;

/**
 * How long a running transform goes on once every client waiting for it has gone. Starting
 * a transform worker costs ~0.1 s of CPU (~0.4 s under tsx); a thumbnail ends long before
 * this, so its worker is kept, while a heavy encode nobody will read is stopped soon after.
 */
const ABANDONED_WORK_GRACE_MS = 1_000;

/** Longer request targets are refused (414) before any parsing. */
export const MAX_URL_LENGTH = 2048;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The running HTTP service of one resizer replica. */
export interface ResizerService {
  server: Server;
  metrics: Metrics;
  /** What transforms may need together (bytes): the setting, or derived from the memory limit. */
  memoryBudgetBytes: number;
  /** Stops accepting, lets in-flight requests finish (bounded by timeoutMs), closes sockets. */
  close(): Promise<void>;
}

/** What one request leaves for its log line. */
interface Outcome {
  route: RouteLabel;
  canonical?: string;
  variant?: string;
  sourceBytes?: number;
  /** A storyboard sheet's memory estimate (bytes). */
  estimatedBytes?: number;
  /** Answered with the result of an identical request's transform (see flights.ts). */
  shared?: boolean;
  error?: string;
}

/** One transform's result and the identity of the source it was made from, shared by every request of its flight. */
type Transformed = Rendered & { plan: Plan; etag: string; mtimeMs: number };

/** What a route's handler gets besides the request and response. */
interface Routed {
  query: string;
  legacy: boolean;
}

/**
 * `memoryLimitMb`: the container's memory limit when known (main.ts reads the cgroup's),
 * from which the budget is derived when `memoryBudgetMb` is 0.
 */
export async function createResizerService(settings: ServiceSettings & ProcessSettings, logger: Logger, memoryLimitMb?: number): Promise<ResizerService> {
  if (settings.signing.required && settings.signingKeys.length === 0) {
    throw new Error(`${PROCESS_ENV.signingKeys}: signing.required needs at least one key`);
  }
  const root = await realRoot(settings.root);
  configureEngine(settings); // this process probes headers and composes storyboard sheets; workers resize
  const admission = new Admission(settings.concurrency, settings.queue, budgetBytes(settings, memoryLimitMb));
  const metrics = createMetrics(admission);
  const pool = await TransformPool.start(settings.concurrency, { allowVector: settings.allowVector, vipsThreads: settings.vipsThreads }, {
    cancelled: (seconds) => metrics.cancelSeconds.observe(seconds),
    crashed: (detail) => {
      metrics.workerCrashes.inc();
      logger.error({ detail }, "a transform worker died; replaced");
    },
  });
  // Sheets share the resizes' admission: a slot each, and their memory estimate against the budget.
  const storyboards = createStoryboardService({ root, storyboard: settings.storyboard, resizer: settings, admission });
  const planSettings: PlanSettings = { ...settings, budgetBytes: admission.budgetBytes };
  const flights = new Flights<Transformed>({ lingerMs: FLIGHT_LINGER_MS, lingerBytes: FLIGHT_LINGER_BYTES, sizeOf: (t) => t.data.length });
  const storyboardFlights = new Flights<StoryboardReply>({ lingerMs: FLIGHT_LINGER_MS, lingerBytes: FLIGHT_LINGER_BYTES, sizeOf: (r) => r.body.length });
  /** Output-affecting settings beyond the engine's versions: part of every ETag. */
  const engineIdentity = `${ENGINE} avif-effort=${settings.avifEffort}`;
  let closing = false;

  const server = createServer(
    {
      // Slow clients: headers must arrive within clientTimeoutMs (else 408), checked often.
      headersTimeout: settings.clientTimeoutMs,
      requestTimeout: settings.clientTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(settings.clientTimeoutMs / 4))),
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    (req, res) => void handle(req, res),
  );
  // A socket idle for longer than a whole transform plus the client budget is dropped:
  // a client that stopped reading its response does not pin its buffer forever.
  server.timeout = settings.timeoutMs + settings.clientTimeoutMs;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const header = req.headers["x-request-id"];
    const id = typeof header === "string" && REQUEST_ID.test(header) ? header : randomUUID();
    const outcome: Outcome = { route: UNROUTED };
    res.setHeader("X-Request-Id", id);
    if (closing) res.setHeader("Connection", "close");
    metrics.inFlight.inc();
    res.once("close", () => {
      metrics.inFlight.dec();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.statusCode;
      metrics.requests.inc({ route: outcome.route, status: String(status) });
      metrics.duration.observe({ route: outcome.route }, seconds);
      logger.info(
        {
          id,
          method: req.method,
          route: outcome.route,
          status,
          ms: Math.round(seconds * 1e4) / 10,
          bytes: Number(res.getHeader("Content-Length") ?? 0),
          ...(outcome.canonical !== undefined && { params: outcome.canonical }),
          ...(outcome.variant !== undefined && { variant: outcome.variant }),
          ...(outcome.sourceBytes !== undefined && { sourceBytes: outcome.sourceBytes }),
          ...(outcome.estimatedBytes !== undefined && { estimatedBytes: outcome.estimatedBytes }),
          ...(outcome.shared === true && { shared: true }),
          ...(outcome.error !== undefined && { error: outcome.error }),
          ...(!res.writableFinished && { aborted: true }),
        },
        "request",
      );
    });

    // A missing resource answers the domain's status on domainNotFound routes (routes.ts).
    let notFoundStatus = 404;
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        throw new ResizeError("method_not_allowed", "only GET and HEAD are served");
      }
      const url = req.url ?? "/";
      if (url.length > MAX_URL_LENGTH) throw new ResizeError("uri_too_long", `URLs are limited to ${MAX_URL_LENGTH} characters`);
      const q = url.indexOf("?");
      const path = q < 0 ? url : url.slice(0, q);
      const query = q < 0 ? "" : url.slice(q + 1);
      const route = routeFor(path, settings);
      if (route === undefined) throw new ResizeError("not_found", "no such endpoint");
      outcome.route = route.label;
      if (route.domainNotFound) notFoundStatus = domainNotFoundStatus(req.headers[NOT_FOUND_STATUS_HEADER.toLowerCase()]);
      await handlers[route.handler](req, res, { query, legacy: route.legacy }, outcome);
    } catch (error) {
      outcome.error = isResizeError(error) ? error.code : "internal";
      sendError(res, error, id, notFoundStatus);
    }
  }

  /** One per kind of route in routes.ts. */
  const handlers: Record<RouteHandler, (req: IncomingMessage, res: ServerResponse, request: Routed, outcome: Outcome) => Promise<void>> = {
    healthz: (_req, res) => health(res),
    metrics: async (_req, res) => {
      const text = await metrics.registry.metrics();
      send(res, 200, { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" }, Buffer.from(text));
    },
    resize: (req, res, { query, legacy }, outcome) => {
      const request = (legacy ? parseTimthumbQuery : parseResizeQuery)(query, settings);
      const verdict = urlVerdict(request, query, legacy, settings.signing, settings.signingKeys);
      if (verdict.kind === "redirect") {
        // Before any file is touched: another spelling costs a parse, never a resize.
        outcome.canonical = request.canonical;
        send(res, 301, { Location: verdict.location, "Cache-Control": REDIRECT_CACHE_CONTROL });
        return Promise.resolve();
      }
      return resize(req, res, request, outcome);
    },
    storyboard: (req, res, _routed, outcome) => storyboard(req, res, outcome),
  };

  /**
   * One controller per request for both ends of its life: the deadline (queueing + work)
   * and the client hanging up. Not AbortSignal.any/timeout: in node 20 those composed
   * signals are retained (nodejs/node#54614, #55328), a leak per request.
   */
  function requestDeadline(res: ServerResponse): AbortSignal {
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new ResizeError("timeout", "the request took too long", { retryAfter: 1 })),
      settings.timeoutMs,
    );
    res.once("close", () => {
      clearTimeout(timer);
      abort.abort(new ResizeError("timeout", "client went away"));
    });
    return abort.signal;
  }

  async function health(res: ServerResponse): Promise<void> {
    let ok = !closing;
    if (ok) ok = await access(root, constants.R_OK | constants.X_OK).then(() => true, () => false);
    const body = Buffer.from(JSON.stringify({ status: ok ? "ok" : closing ? "shutting down" : "images root unavailable" }));
    send(res, ok ? 200 : 503, { "Content-Type": "application/json", "Cache-Control": "no-store" }, body);
  }

  async function resize(req: IncomingMessage, res: ServerResponse, request: ResizeRequest, outcome: Outcome): Promise<void> {
    const { src, transform, canonical } = request;
    outcome.canonical = canonical;
    const accept = req.headers.accept;
    const variant = variantFor(transform.fmt, accept);
    if (variant !== undefined) outcome.variant = variant;

    const deadline = requestDeadline(res);
    const identify = (source: Source) => ({
      etag: strongEtag({ src, mtimeNs: source.mtimeNs, size: source.size, canonical, variant, engine: engineIdentity }),
      mtimeMs: source.mtimeMs,
    });
    const validators = (id: { etag: string; mtimeMs: number }): Record<string, string> => ({
      ETag: id.etag,
      "Last-Modified": httpDate(id.mtimeMs),
      "Cache-Control": settings.cacheControl,
      "X-Resize-Params": canonical,
      "X-Resize-Engine": ENGINE,
      ...(transform.fmt === "auto" && { Vary: "Accept" }),
    });

    // A revalidation (the master's If-None-Match) is answered from the source's identity
    // alone, before any transform: one open + fstat.
    let opened: Source | undefined;
    let flightKey = `${canonical}|${variant ?? ""}`;
    if (req.headers["if-none-match"] !== undefined || req.headers["if-modified-since"] !== undefined) {
      opened = await openSource(root, src, settings.maxInputBytes);
      const id = identify(opened);
      // The source's identity is known here: only a transform of this very version will do.
      flightKey += `|${id.etag}`;
      if (notModified(req.headers, id.etag, id.mtimeMs)) {
        await opened.close();
        metrics.notModified.inc();
        send(res, 304, validators(id));
        return;
      }
    }

    // Only the request that starts a transform opens the source, plans, takes an admission
    // slot and the plan's memory; joiners wait on its result (or its refusal) and hold nothing.
    const transformOnce = async (stop: AbortSignal, leave: AbortSignal): Promise<Transformed> => {
      const source = opened ?? (await openSource(root, src, settings.maxInputBytes));
      try {
        // Planned before admission: the plan's memory estimate is what admission counts, and
        // a plan no replica could run is refused here, before anything is decoded.
        // Without `fmt` the answer keeps the source's format: its first bytes say which, where
        // they are unambiguous, so a box needs no probe of the header either.
        const requested = requestedOutputs(transform.fmt, accept);
        const sniffed = requested === undefined ? sniffFormat(await source.head(SNIFF_BYTES)) : undefined;
        const formats = requested ?? (sniffed !== undefined ? outputFormats(undefined, sniffed, accept) : undefined);
        const planned =
          planWithoutHeader(transform, formats, planSettings) ??
          (await (async () => {
            const info = await probe(await source.input(), settings);
            return planTransform(info, transform, outputFormats(transform.fmt, info.format, accept), planSettings);
          })());
        outcome.sourceBytes = source.size;
        metrics.sourceBytes.inc(source.size);
        const rendered = await admission.run(
          { bytes: planned.estimatedBytes, what: `this ${planned.format.toUpperCase()} result` },
          () => {
            leave.throwIfAborted();
            metrics.transforms.inc();
            return pool.run({ file: source.file, plan: planned, maxInputPixels: settings.maxInputPixels }, stop);
          },
          leave,
        );
        return { ...rendered, plan: planned, ...identify(source) };
      } finally {
        await source.close(); // once the worker is done with it, whoever still waits
      }
    };
    // Requests with the same canonical transform and variant (the same bytes) that arrive
    // while one is being resized (or just after) share it, without touching the filesystem.
    let transforming = false;
    const flight = await flights
      .run(flightKey, deadline, (abandoned) => {
        transforming = true;
        return withFlightDeadline(abandoned, transformOnce);
      })
      .finally(() => (opened !== undefined && !transforming ? opened.close() : undefined));
    const result = flight.value;
    if (flight.shared) {
      outcome.shared = true;
      metrics.coalesced.inc();
    }
    metrics.responseBytes.inc(result.data.length);
    send(res, 200, { ...validators(result), "Content-Type": CONTENT_TYPES[result.plan.format], "X-Content-Type-Options": "nosniff" }, result.data);
  }

  /**
   * A shared transform's own deadline: RESIZER_TIMEOUT_MS from its start (queueing + work),
   * however many wait for it and whenever they came. When it passes, the worker is stopped
   * and every waiter is answered 503 at once. A joiner's own deadline is later than this
   * one: it never extends the work.
   *
   * When every waiter has gone (`abandoned`), `leave` aborts at once: work still queued
   * leaves the queue. Work already running is stopped only ABANDONED_WORK_GRACE_MS later
   * (`stop`): a thumbnail ends well within it and its worker lives on, where killing the
   * worker would cost a new one's start, far more CPU than the rest of the resize.
   */
  async function withFlightDeadline<T>(abandoned: AbortSignal, work: (stop: AbortSignal, leave: AbortSignal) => Promise<T>): Promise<T> {
    const stop = new AbortController();
    const leave = new AbortController();
    const stopNow = (reason: unknown) => {
      leave.abort(reason);
      stop.abort(reason);
    };
    const timer = setTimeout(() => stopNow(new ResizeError("timeout", "the request took too long", { retryAfter: 1 })), settings.timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    const onAbandoned = () => {
      leave.abort(abandoned.reason);
      grace = setTimeout(() => stop.abort(abandoned.reason), ABANDONED_WORK_GRACE_MS);
    };
    if (abandoned.aborted) onAbandoned();
    else abandoned.addEventListener("abort", onAbandoned, { once: true });
    const running = work(stop.signal, leave.signal);
    // The timers go when the work itself has ended, not when its answer went out: an
    // abandoned transform is answered at once and still has to be stopped after the grace.
    const ended = () => {
      clearTimeout(timer);
      clearTimeout(grace);
      abandoned.removeEventListener("abort", onAbandoned);
    };
    running.then(ended, ended);
    return untilDeadline(running, leave.signal);
  }

  /**
   * A track or a sheet. The service answers 200, 301 or 304 as it is and throws everything
   * else; its work is bounded by a deadline like a resize's.
   */
  async function storyboard(req: IncomingMessage, res: ServerResponse, outcome: Outcome): Promise<void> {
    const deadline = requestDeadline(res);
    // Identical requests at once share one reply, as resizes do: the master sends them all to
    // the replica the cache key hashes to, and a sheet costs far more than a resize.
    const h = req.headers;
    const key = JSON.stringify([req.url ?? "/", h.accept ?? "", h["if-none-match"] ?? "", h["if-modified-since"] ?? ""]);
    // The shared work is bounded like a resize's: its own deadline, stopped when all have gone.
    const flight = await storyboardFlights.run(key, deadline, (abandoned) =>
      // In this process (nothing to kill), so it stops as soon as all have gone.
      withFlightDeadline(abandoned, (_stop, leave) => storyboards.handle(req.url ?? "/", h, leave)),
    );
    const reply = flight.value;
    if (flight.shared) {
      outcome.shared = true;
      metrics.coalesced.inc();
    }
    outcome.canonical = reply.canonical;
    if (reply.variant !== undefined) outcome.variant = reply.variant;
    if (reply.estimatedBytes !== undefined) outcome.estimatedBytes = reply.estimatedBytes;
    if (reply.status === 304) metrics.notModified.inc();
    if (reply.status === 200 && reply.kind === "sheet") metrics.responseBytes.inc(reply.body.length);
    send(res, reply.status, reply.headers, reply.status === 304 ? undefined : reply.body);
  }

  /** The one place where a failure becomes a response. */
  function sendError(res: ServerResponse, error: unknown, id: string, notFoundStatus = 404): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (res.destroyed) return; // the client is gone: nobody to answer
    const known = isResizeError(error) ? error : undefined;
    if (known === undefined) {
      logger.error({ id, err: error }, "internal error");
    }
    const status = known?.status === 404 ? notFoundStatus : (known?.status ?? 500);
    metrics.errors.inc({ code: known?.code ?? "internal" });
    const body = Buffer.from(JSON.stringify({ error: known?.code ?? "internal", message: known?.message ?? "internal error" }));
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      // Transient states must not be cached; client mistakes only briefly.
      "Cache-Control": status >= 500 ? "no-store" : settings.errorCacheControl,
      "X-Content-Type-Options": "nosniff",
    };
    if (known?.retryAfter !== undefined) headers["Retry-After"] = String(known.retryAfter);
    if (status === 405) headers.Allow = "GET, HEAD";
    send(res, status, headers, body);
  }

  function send(res: ServerResponse, status: number, headers: Record<string, string>, body?: Buffer): void {
    if (closing) headers.Connection = "close";
    if (body !== undefined) headers["Content-Length"] = String(body.length);
    res.writeHead(status, headers);
    res.end(body);
  }

  async function close(): Promise<void> {
    if (closing) return;
    closing = true;
    const drained = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = setTimeout(() => server.closeAllConnections(), settings.timeoutMs + 1_000);
    await drained;
    clearTimeout(grace);
    await pool.close();
  }

  return { server, metrics, memoryBudgetBytes: admission.budgetBytes, close };
}

/** The domain's not-found status from NOT_FOUND_STATUS_HEADER: 400-499, else 404. */
function domainNotFoundStatus(header: string | string[] | undefined): number {
  return typeof header === "string" && /^4[0-9]{2}$/.test(header) ? Number(header) : 404;
}

/**
 * Resolves with `work`, or rejects when `signal` aborts first: the answer goes out at the
 * deadline, while a resize's slot is freed once its worker is gone (workers.ts).
 */
function untilDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(signal.reason instanceof ResizeError ? signal.reason : new ResizeError("timeout", "the request took too long", { retryAfter: 1 }));
    signal.addEventListener("abort", onAbort, { once: true });
    // Always observe `work`, even when already aborted: its rejection must never go unhandled.
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    if (signal.aborted) onAbort();
  });
}
