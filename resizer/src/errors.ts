// The one error type of the service. Everything that can go wrong because of a request
// (its parameters, its source file, the load it adds) is a ResizeError carrying its HTTP
// status and a short reason that is safe to show: it never contains a filesystem path.
// The server maps it to a response in one place; anything else is a bug and answers 500.

export const ERROR_CODES = {
  bad_param: 400,
  output_too_large: 400,
  over_memory_budget: 400,
  signature_required: 403,
  bad_signature: 403,
  not_found: 404,
  /** A storyboard episode whose stills skip or repeat a number (storyboard/stills.ts). */
  still_numbering: 404,
  method_not_allowed: 405,
  client_timeout: 408,
  source_too_large: 413,
  pixel_limit: 413,
  uri_too_long: 414,
  not_an_image: 422,
  busy: 503,
  /** A storyboard still changed between its listing (the ETag) and its decoding. */
  source_changed: 503,
  timeout: 503,
  transform_failed: 503,
  shutting_down: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class ResizeError extends Error {
  readonly status: number;
  /** Seconds, for 503: when the client (or the master) may try again. */
  readonly retryAfter: number | undefined;

  constructor(
    readonly code: ErrorCode,
    reason: string,
    options: { retryAfter?: number; cause?: unknown } = {},
  ) {
    super(reason, { cause: options.cause });
    this.name = "ResizeError";
    this.status = ERROR_CODES[code];
    this.retryAfter = options.retryAfter;
  }
}

export const isResizeError = (e: unknown): e is ResizeError => e instanceof ResizeError;
