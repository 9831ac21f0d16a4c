/**
 * The error the outbox raises when Deno KV fails or holds something it
 * cannot use (a stored batch with chunks missing).
 *
 * @module
 */

/** Options for {@link OutboxError}. */
export interface OutboxErrorOptions {
  /** Idempotency key of the batch concerned, when there is one. */
  key?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A Deno KV operation of the outbox failed, or a stored batch is damaged.
 *
 * @example
 * ```ts
 * try {
 *   await outbox.store(batch, { status: 503, reason: "database down" });
 * } catch (error) {
 *   if (error instanceof OutboxError) log.error(`outbox: ${error.message}`);
 * }
 * ```
 */
export class OutboxError extends Error {
  /** Idempotency key of the batch concerned, when there is one. */
  readonly key?: string;

  /** Builds the error; pass the KV error as `cause`. */
  constructor(message: string, options: OutboxErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "OutboxError";
    this.key = options.key;
  }
}
