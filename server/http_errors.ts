/**
 * The one error type routes throw to answer with a 4xx/5xx JSON body.
 *
 * @module
 */

/** An HTTP error answer: status plus a JSON body with a human-readable `error`. */
export class HttpError extends Error {
  /** HTTP status to answer with. */
  readonly status: number;
  /** Extra JSON fields (e.g. `record`, `field`). */
  readonly details: Record<string, unknown>;
  /** Response headers to send with the answer (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;
  /** Creates the error; `cause` is the error underneath, when there is one. */
  constructor(
    status: number,
    message: string,
    options: {
      cause?: unknown;
      details?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "HttpError";
    this.status = status;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}
