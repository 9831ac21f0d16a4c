/**
 * Sends encoded batches to the server's `POST /ingest_packets`, retrying what
 * may succeed later and sorting every other answer into an outcome the
 * delivery layer acts on (store in the outbox, dead-letter, count as sent).
 *
 * @module
 */
import type { EncodedBatch } from "./batch_codec.ts";
import { bodyFormatOf, splitEncodedBatch } from "./batch_codec.ts";
import { backoffDelayMs, parseRetryAfterMs, realSleep, type Sleep } from "./_backoff.ts";

/**
 * What became of one batch (or one part of a batch split after a 413):
 * - `delivered`: the server stored it (201) or already had it (200).
 * - `rejected`: the server will never take it (400 invalid, 409 key reused
 *   with another body, 413 for a single record, 415): dead-letter it.
 * - `unauthorized`: 401/403 or no token: keep it, alert the operator.
 * - `failed`: the server was unreachable or answered 5xx/429 through every
 *   retry, or answered something unexpected: keep it for replay. With
 *   `aborted`, the caller's signal ended the upload before the server had
 *   answered at all: the server did not fail.
 */
export type UploadOutcome =
  | { kind: "delivered"; batch: EncodedBatch; status: number }
  | ({ kind: "rejected" } & UndeliveredOutcome)
  | ({ kind: "unauthorized" } & UndeliveredOutcome)
  | ({ kind: "failed"; aborted?: boolean } & UndeliveredOutcome);

/** The fields every outcome other than `delivered` carries. */
export interface UndeliveredOutcome {
  /** The batch (or part) concerned. */
  batch: EncodedBatch;
  /** HTTP status, or null when no answer came (network error, abort, no token). */
  status: number | null;
  /** One line: the server's reason or the network error. */
  reason: string;
  /** The server's `Retry-After`, in ms, when it sent one. */
  retryAfterMs: number | null;
}

/** Something that hands out the bearer token; see `AgentToken`. */
export interface TokenSource {
  /** The token, or null when there is none yet. */
  get(): Promise<string | null>;
  /** Forgets a cached token the server refused. */
  invalidate(): void;
}

/** Options for {@link Uploader}. */
export interface UploaderOptions {
  /** SERVER_URL: the ingest endpoint. */
  serverUrl: string;
  /** Sent as `X-Agent-Id`. */
  agentId: string;
  /** Bearer token source. */
  token: TokenSource;
  /** MAX_RETRIES: retries after the first attempt before giving up. */
  maxRetries: number;
  /** RETRY_DELAY: the first retry's delay; it doubles on each retry. */
  retryDelayMs: number;
  /** Cap on one retry delay, also on an honoured `Retry-After`. @default 60_000 */
  maxRetryDelayMs?: number;
  /** Time allowed for one request. @default 30_000 */
  requestTimeoutMs?: number;
  /** HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Waits between retries. @default a timer that aborts early */
  sleep?: Sleep;
  /** Clock in epoch ms, for `Retry-After` dates. @default Date.now */
  clock?: () => number;
}

/** Per-call options of {@link Uploader.upload}. */
export interface UploadOptions {
  /** Stops retrying (and cancels the request) when aborted; the batch comes back `failed`. */
  signal?: AbortSignal;
  /** Overrides `maxRetries` for this call (the outbox replay uses its own schedule). */
  maxRetries?: number;
}

interface Answer {
  status: number | null;
  reason: string;
  retryAfterMs: number | null;
  accepted: boolean;
  /** No token to send: retrying now cannot help. */
  noToken?: boolean;
  /** The caller's signal ended the attempt before any answer. */
  aborted?: boolean;
}

const RETRYABLE_STATUSES = new Set([408, 425, 429]);
const REJECTED_STATUSES = new Set([400, 409, 413, 415]);
const MAX_REASON_CHARS = 500;

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_REASON_CHARS ? line.slice(0, MAX_REASON_CHARS) + "…" : line;
}

/** The server's JSON error, e.g. `invalid record 3, field ttl: … (record 3, field ttl)`. */
function describeErrorBody(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (body && typeof body.error === "string") {
      const extra = Object.entries(body)
        .filter(([name, value]) => name !== "error" && value !== null && value !== undefined)
        .map(([name, value]) => `${name} ${JSON.stringify(value)}`);
      return oneLine(
        `HTTP ${status}: ${body.error}${extra.length ? ` (${extra.join(", ")})` : ""}`,
      );
    }
  } catch {
    // Not JSON: a proxy or another server answered; show the start of its text.
  }
  return oneLine(`HTTP ${status}: ${text || "(empty body)"}`);
}

/**
 * Gzip-JSON POSTs with bearer token, idempotency key and agent id; retries
 * network errors, 5xx, 408, 425 and 429 with exponential backoff (honouring
 * `Retry-After`, capped); splits a batch the server finds too large (413) in
 * halves with derived keys until each part fits or is a single record.
 *
 * @example
 * ```ts
 * const uploader = new Uploader({
 *   serverUrl: "http://127.0.0.1:8000/ingest_packets",
 *   agentId: "sensor-1",
 *   token: new AgentToken({ configured: null, dataDir: "./data" }),
 *   maxRetries: 3,
 *   retryDelayMs: 5000,
 * });
 * for (const outcome of await uploader.upload(batch)) console.log(outcome.kind);
 * ```
 */
export class Uploader {
  readonly #url: string;
  readonly #agentId: string;
  readonly #token: TokenSource;
  readonly #maxRetries: number;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #requestTimeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: Sleep;
  readonly #clock: () => number;

  /** Checks the options; nothing is sent until {@link Uploader.upload}. */
  constructor(options: UploaderOptions) {
    let url: URL;
    try {
      url = new URL(options.serverUrl);
    } catch (cause) {
      throw new RangeError(
        `Cannot create uploader as 'serverUrl' is not a URL: current value is ${
          JSON.stringify(options.serverUrl)
        }`,
        { cause },
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new RangeError(
        `Cannot create uploader as 'serverUrl' must be http or https: current value is ${url.href}`,
      );
    }
    const checkCount = (name: string, value: number) => {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(
          `Cannot create uploader as '${name}' must be an integer >= 0: current value is ${value}`,
        );
      }
    };
    checkCount("maxRetries", options.maxRetries);
    checkCount("retryDelayMs", options.retryDelayMs);
    this.#url = url.href;
    this.#agentId = options.agentId;
    this.#token = options.token;
    this.#maxRetries = options.maxRetries;
    this.#retryDelayMs = options.retryDelayMs;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#sleep = options.sleep ?? realSleep;
    this.#clock = options.clock ?? Date.now;
  }

  /** The endpoint batches go to. */
  get url(): string {
    return this.#url;
  }

  /**
   * Delivers one batch; returns one outcome per part sent (one, unless a 413
   * split it). Never throws for HTTP or network trouble: it is in the outcome.
   */
  async upload(batch: EncodedBatch, options: UploadOptions = {}): Promise<UploadOutcome[]> {
    const answer = await this.#sendWithRetries(batch, options);
    if (answer.accepted) {
      return [{ kind: "delivered", batch, status: answer.status! }];
    }
    const { status, reason, retryAfterMs } = answer;
    if (status === 413 && batch.records > 1) {
      const [first, second] = splitEncodedBatch(batch);
      return [
        ...await this.upload(first, options),
        ...await this.upload(second, options),
      ];
    }
    if (status === 401 || status === 403 || answer.noToken) {
      return [{ kind: "unauthorized", batch, status, reason, retryAfterMs }];
    }
    if (status !== null && REJECTED_STATUSES.has(status)) {
      return [{ kind: "rejected", batch, status, reason, retryAfterMs }];
    }
    return [{
      kind: "failed",
      batch,
      status,
      reason,
      retryAfterMs,
      aborted: answer.aborted === true,
    }];
  }

  async #sendWithRetries(batch: EncodedBatch, options: UploadOptions): Promise<Answer> {
    const maxRetries = options.maxRetries ?? this.#maxRetries;
    for (let attempt = 0;; attempt++) {
      if (options.signal?.aborted) {
        return {
          status: null,
          reason: "aborted (shutting down)",
          retryAfterMs: null,
          accepted: false,
          aborted: attempt === 0,
        };
      }
      const answer = await this.#sendOnce(batch, options.signal);
      const retryable = answer.status === null
        ? !options.signal?.aborted && !answer.noToken
        : answer.status >= 500 || RETRYABLE_STATUSES.has(answer.status);
      if (answer.accepted || !retryable || attempt >= maxRetries) return answer;
      const delayMs = Math.min(
        answer.retryAfterMs ?? backoffDelayMs(attempt, this.#retryDelayMs, this.#maxRetryDelayMs),
        this.#maxRetryDelayMs,
      );
      if (!await this.#sleep(delayMs, options.signal)) {
        return { ...answer, reason: `${answer.reason}; then aborted (shutting down)` };
      }
    }
  }

  async #sendOnce(batch: EncodedBatch, signal: AbortSignal | undefined): Promise<Answer> {
    let token: string | null;
    try {
      token = await this.#token.get();
    } catch (error) {
      return {
        status: null,
        reason: oneLine(`no token: cannot read it (${(error as Error).message})`),
        retryAfterMs: null,
        accepted: false,
        noToken: true,
      };
    }
    if (token === null) {
      return {
        status: null,
        reason: "no token: set AGENT_TOKEN, or start the server so it writes DATA_DIR/ingest_token",
        retryAfterMs: null,
        accepted: false,
        noToken: true,
      };
    }
    const timeout = AbortSignal.timeout(this.#requestTimeoutMs);
    const format = bodyFormatOf(batch.body);
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: "POST",
        headers: {
          "authorization": `Bearer ${token}`,
          "content-type": format.contentType,
          "content-encoding": format.contentEncoding,
          "idempotency-key": batch.key,
          "x-agent-id": this.#agentId,
          ...(batch.order
            ? {
              "x-batch-stream": batch.order.stream,
              "x-batch-sequence": String(batch.order.sequence),
            }
            : {}),
        },
        body: batch.body as Uint8Array<ArrayBuffer>,
        // A followed 301/302 turns the POST into a GET whose 200 would look like a delivery.
        redirect: "manual",
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      const reason = timeout.aborted
        ? `no answer within ${this.#requestTimeoutMs} ms`
        : signal?.aborted
        ? "aborted (shutting down)"
        : oneLine(`network error: ${(error as Error).message}`);
      const aborted = !timeout.aborted && signal?.aborted === true;
      return { status: null, reason, retryAfterMs: null, accepted: false, aborted };
    }
    let text = "";
    try {
      text = await response.text();
    } catch {
      // The status line already says what matters; a cut body only loses detail.
    }
    const status = response.status;
    const retryAfterMs = parseRetryAfterMs(response.headers.get("retry-after"), this.#clock());
    if (status === 200 || status === 201) {
      // Only our server's answer counts as delivered: a proxy's or web page's 200 does not.
      let outcome: unknown;
      try {
        outcome = (JSON.parse(text) as { status?: unknown }).status;
      } catch {
        outcome = undefined;
      }
      if (outcome === "stored" || outcome === "duplicate") {
        return { status, reason: String(outcome), retryAfterMs, accepted: true };
      }
      return {
        status,
        reason: oneLine(`HTTP ${status} without an ingest answer (is SERVER_URL right?): ${text}`),
        retryAfterMs,
        accepted: false,
      };
    }
    if (status === 401 || status === 403) this.#token.invalidate();
    if (status >= 300 && status < 400) {
      return {
        status,
        reason: `HTTP ${status} redirect to ${
          response.headers.get("location") ?? "?"
        }: set SERVER_URL to the final URL`,
        retryAfterMs,
        accepted: false,
      };
    }
    // The server's base URL (what `serve` prints) answers a POST 405, another path 404.
    const hint = status === 404 || status === 405
      ? ": is SERVER_URL the ingest URL, such as http://127.0.0.1:8000/ingest_packets?"
      : "";
    return {
      status,
      reason: describeErrorBody(status, text) + hint,
      retryAfterMs,
      accepted: false,
    };
  }
}
