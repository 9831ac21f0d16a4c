/**
 * `COPY ... FROM STDIN` through postgres.js with a failure that always
 * settles. postgres.js 3.4 never settles the writable when the server rejects
 * the COPY after the data was sent (porsager/postgres#1173, unreleased fix
 * #1183): awaiting its `finish` hangs, and inside `sql.begin()` the
 * transaction is never rolled back. The server's error does reach the query's
 * own `reject` (an instance property set in the `Query` constructor), so this
 * module listens there and fails every pending write and `end()` with it.
 *
 * Not for PGlite: its wire-protocol server does not carry COPY FROM STDIN.
 *
 * @module
 */
import type { Writable } from "node:stream";
import type postgres from "postgres";

/** Raised when a COPY cannot start or the server rejects it; carries the server's error. */
export class CopyInError extends Error {
  /** SQLSTATE of the server's error, when it gave one (e.g. `23505`). */
  readonly code: string | null;
  /** Creates the error; `cause` is the error underneath, when there is one. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "CopyInError";
    const code = (options.cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === "string" ? code : null;
  }
}

/** An open COPY FROM STDIN: send bytes, then end it. */
export interface CopyIn {
  /** Sends bytes of the COPY data stream; resolves when the socket took them. */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends the data stream; resolves once the server has stored every row. */
  end(): Promise<void>;
  /**
   * Abandons the COPY (CopyFail): nothing of it is stored and the connection
   * can run statements again (a transaction is left aborted, to roll back).
   * Resolves once the server has answered. Call it when the data cannot be
   * completed: a COPY left open blocks every later statement on `tx`.
   */
  abort(reason: Error): Promise<void>;
}

/** The part of postgres.js's Query this module relies on (checked at run time). */
interface CopyQuery {
  reject?: unknown;
  writable(): Promise<Writable>;
}

/**
 * Starts the COPY of `query` (a `COPY ... FROM STDIN` tagged template of a
 * transaction or connection) and returns its sink. Every promise it returns
 * rejects with a {@link CopyInError} once the server rejects the COPY.
 *
 * @example
 * ```ts
 * const copy = await openCopyIn(tx`copy t (a, b) from stdin (format binary)`);
 * await copy.write(bytes);
 * await copy.end();
 * ```
 */
export async function openCopyIn(query: postgres.PendingQuery<postgres.Row[]>): Promise<CopyIn> {
  const q = query as unknown as CopyQuery;
  if (typeof q.reject !== "function") {
    throw new CopyInError(
      "Cannot start COPY FROM STDIN: this postgres.js version has no Query.reject to listen on",
    );
  }
  const { promise: failed, reject: fail } = Promise.withResolvers<never>();
  failed.catch(() => {});
  const reject = q.reject as (error: unknown) => void;
  q.reject = (error: unknown) => {
    fail(new CopyInError(`COPY failed: ${(error as Error)?.message ?? error}`, { cause: error }));
    reject(error);
  };
  const stream = await Promise.race([q.writable(), failed]);
  // Failures reach `failed`; a destroyed stream's own 'error' adds nothing.
  stream.on("error", () => {});
  let ended = false;
  return {
    write(bytes) {
      if (ended) return Promise.reject(new CopyInError("Cannot write to a COPY already ended"));
      const written = new Promise<void>((resolve, rejectWrite) =>
        stream.write(bytes, (error) => error ? rejectWrite(error) : resolve())
      );
      return Promise.race([written, failed]).catch((error) => {
        throw error instanceof CopyInError
          ? error
          : new CopyInError(`COPY failed: ${error?.message ?? error}`, { cause: error });
      });
    },
    async abort(reason) {
      if (ended) return;
      ended = true;
      stream.destroy(reason);
      await failed.catch(() => {});
    },
    end() {
      ended = true;
      const finished = new Promise<void>((resolve, rejectEnd) =>
        stream.end((error?: Error | null) => error ? rejectEnd(error) : resolve())
      );
      return Promise.race([finished, failed]);
    },
  };
}
