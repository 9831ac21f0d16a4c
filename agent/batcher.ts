/**
 * Groups packet records into batches: a batch closes when it holds
 * `batchSize` records or `batchTimeoutMs` after its first record arrived,
 * whichever comes first. Each batch gets its idempotency key when it closes,
 * so every later attempt to deliver it (direct, retried, replayed from the
 * outbox after a crash) carries the same key and the server stores it once.
 *
 * Reading a file cuts by count only (`batchTimeoutMs: Infinity`) and names
 * each batch by its position in the file (`keyOf(firstIndex, count)`), so a
 * second read cuts the same batches under the same keys.
 *
 * @module
 */
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import type { BatchOrder } from "./batch_codec.ts";
import {
  type AppendHeadersOptions,
  type ColumnarBatch,
  ColumnarBatchBuilder,
  type ColumnArrays,
  type DetachedBatch,
  type PacketHeaders,
} from "@traffic-analyzer/shared/packet";

/**
 * A closed batch of packets with the key that makes its delivery
 * exactly-once. Its columns are the batcher's own arrays, reused for the next
 * batch: they are valid only until `onBatch` returns, so a receiver encodes
 * (or copies) them before then.
 */
export interface PacketBatch {
  /** Idempotency key, fixed when the batch was made: `<agentId>:<uuid>`, or from `keyOf`. */
  key: string;
  /** Index of the batch's first record among all records added (from `firstIndex`). */
  firstIndex: number;
  /** Packets in the batch. */
  count: number;
  /** The packets, in arrival order, as columns (valid during `onBatch` only). */
  columns: ColumnarBatch;
  /** When the batch's first record arrived, epoch ms. */
  openedAtMs: number;
  /** When the batch closed, epoch ms. */
  createdAtMs: number;
  /** Its place in the capture (`stream`, and `firstIndex` as the sequence); null without a stream. */
  order?: BatchOrder | null;
  /**
   * Takes the batch's arrays away from the batcher (`ColumnarBatchBuilder.detach`),
   * so a sink that keeps the batch can transfer them instead of copying
   * `columns`; the batcher goes on in `spare`'s arrays or new ones. Only
   * during `onBatch`, once; `columns` then shares the arrays taken.
   */
  detach?: (spare: ColumnArrays | null) => DetachedBatch;
}

/** Timers, injected so tests advance time by hand instead of sleeping. */
export interface Scheduler {
  /** Calls `callback` once after `delayMs`; returns a handle for {@link Scheduler.clearTimeout}. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  /** Cancels a pending callback. */
  clearTimeout(handle: unknown): void;
}

/** Options for {@link Batcher}. */
export interface BatcherOptions {
  /** Records per batch (BATCH_SIZE). */
  batchSize: number;
  /**
   * Longest time a record waits in an open batch (BATCH_TIMEOUT). `Infinity`
   * cuts by count only, so the same records always make the same batches.
   */
  batchTimeoutMs: number;
  /** Agent id, the prefix of every idempotency key. */
  agentId: string;
  /**
   * Receives each closed batch, synchronously; the batch's columns are
   * reused once it returns, unless it took them with `batch.detach`.
   */
  onBatch: (batch: PacketBatch) => void;
  /** Clock in epoch ms. @default Date.now */
  clock?: () => number;
  /** Timer source for the timeout. @default the global setTimeout/clearTimeout */
  scheduler?: Scheduler;
  /** Makes the unique part of a key. @default crypto.randomUUID */
  newId?: () => string;
  /**
   * Makes a batch's whole key from its position instead (reading a file);
   * the result must be a valid `Idempotency-Key`.
   * @default null (`<agentId>:<newId()>`)
   */
  keyOf?: ((firstIndex: number, count: number) => string) | null;
  /** Index of the first record added (a resumed file read, a live capture's next). @default 0 */
  firstIndex?: number;
  /**
   * The stream the batches belong to: each batch then carries
   * `{ stream, sequence: firstIndex }` (see `BatchOrder`). @default null
   */
  stream?: string | null;
}

const GLOBAL_SCHEDULER: Scheduler = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** Characters the server accepts in `Idempotency-Key` and `X-Agent-Id` (printable ASCII, no space). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;
/** Longest agent id: the server takes keys up to 200 characters; keep room for a uuid and split suffixes. */
export const MAX_AGENT_ID_LENGTH = 100;

/**
 * Accumulates records and emits batches by size or by age.
 *
 * @example
 * ```ts
 * const batcher = new Batcher({
 *   batchSize: 100,
 *   batchTimeoutMs: 30_000,
 *   agentId: "sensor-1",
 *   onBatch: (batch) => delivery.submit(batch),
 * });
 * batcher.add(record);
 * batcher.flush(); // on shutdown
 * ```
 */
export class Batcher {
  readonly #batchSize: number;
  readonly #batchTimeoutMs: number;
  readonly #agentId: string;
  readonly #onBatch: (batch: PacketBatch) => void;
  readonly #clock: () => number;
  readonly #scheduler: Scheduler;
  readonly #newId: () => string;
  readonly #keyOf: ((firstIndex: number, count: number) => string) | null;
  readonly #stream: string | null;
  /** Index the next added record gets. */
  #nextIndex: number;
  readonly #builder: ColumnarBatchBuilder;
  #openedAtMs = 0;
  #timer: unknown = undefined;
  #closed = false;

  /** Checks the options; nothing is scheduled until the first record. */
  constructor(options: BatcherOptions) {
    const { batchSize, batchTimeoutMs, agentId } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(
        `Cannot create batcher as 'batchSize' must be an integer >= 1: current value is ${batchSize}`,
      );
    }
    if (!(batchTimeoutMs > 0)) {
      throw new RangeError(
        `Cannot create batcher as 'batchTimeoutMs' must be a positive number or Infinity: current value is ${batchTimeoutMs}`,
      );
    }
    const firstIndex = options.firstIndex ?? 0;
    if (!Number.isSafeInteger(firstIndex) || firstIndex < 0) {
      throw new RangeError(
        `Cannot create batcher as 'firstIndex' must be an integer >= 0: current value is ${firstIndex}`,
      );
    }
    if (!Batcher.isValidAgentId(agentId)) {
      throw new RangeError(
        `Cannot create batcher as 'agentId' must be 1 to ${MAX_AGENT_ID_LENGTH} printable ASCII characters without spaces: current value is ${
          JSON.stringify(agentId)
        }`,
      );
    }
    this.#batchSize = batchSize;
    this.#batchTimeoutMs = batchTimeoutMs;
    this.#agentId = agentId;
    this.#onBatch = options.onBatch;
    this.#clock = options.clock ?? Date.now;
    this.#scheduler = options.scheduler ?? GLOBAL_SCHEDULER;
    this.#newId = options.newId ?? (() => crypto.randomUUID());
    this.#keyOf = options.keyOf ?? null;
    this.#stream = options.stream ?? null;
    this.#nextIndex = firstIndex;
    this.#builder = new ColumnarBatchBuilder(Math.min(batchSize, 65_536));
  }

  /**
   * True when `agentId` can prefix idempotency keys and travel in
   * `X-Agent-Id`: 1 to {@link MAX_AGENT_ID_LENGTH} printable ASCII
   * characters without spaces.
   */
  static isValidAgentId(agentId: string): boolean {
    return typeof agentId === "string" && HEADER_SAFE.test(agentId) &&
      agentId.length <= MAX_AGENT_ID_LENGTH;
  }

  /** Records waiting in the open batch. */
  get pending(): number {
    return this.#builder.count;
  }

  /** When the open batch times out, epoch ms; null when no batch is open. */
  get deadlineMs(): number | null {
    return this.#builder.count === 0 ? null : this.#openedAtMs + this.#batchTimeoutMs;
  }

  /** Adds one record; emits the batch when it reaches `batchSize`. */
  add(record: PacketRecord): void {
    this.#beforeAdd();
    this.#builder.appendRecord(record);
    this.#afterAdd();
  }

  /**
   * Adds one packet from its decoded headers and frame (the capture path: no
   * record object is made); emits the batch when it reaches `batchSize`.
   */
  addFrame(frame: Uint8Array, headers: PacketHeaders, options: AppendHeadersOptions): void {
    this.#beforeAdd();
    this.#builder.appendHeaders(frame, headers, options);
    this.#afterAdd();
  }

  #beforeAdd(): void {
    if (this.#closed) {
      throw new Error("Cannot add a record to a closed batcher");
    }
    if (this.#builder.count === 0) {
      this.#openedAtMs = this.#clock();
      // The timer belongs to the open batch: armed by its first record, disarmed when it closes.
      if (Number.isFinite(this.#batchTimeoutMs)) {
        this.#timer = this.#scheduler.setTimeout(
          () => this.#onTimeout(),
          this.#batchTimeoutMs,
        );
      }
    }
  }

  #afterAdd(): void {
    this.#nextIndex++;
    if (this.#builder.count >= this.#batchSize) this.#emit();
  }

  /** Emits the open batch now, if there is one (shutdown, end of file). */
  flush(): void {
    if (this.#builder.count > 0) this.#emit();
  }

  /** Flushes and refuses further records; the timer is gone afterwards. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  /**
   * Refuses further records and forgets the open batch instead of emitting
   * it: a stopped file read leaves it to the next run, which cuts it whole
   * (a short batch now would overlap a full one under another key later).
   * Returns how many records were dropped.
   */
  abandon(): number {
    const dropped = this.#builder.count;
    if (this.#timer !== undefined) {
      this.#scheduler.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#builder.reset();
    this.#closed = true;
    return dropped;
  }

  #onTimeout(): void {
    this.#timer = undefined;
    // A late timer from a batch that already closed by size must not cut the next one short.
    if (this.#builder.count > 0 && this.#clock() >= this.#openedAtMs + this.#batchTimeoutMs) {
      this.#emit();
    } else if (this.#builder.count > 0) {
      this.#timer = this.#scheduler.setTimeout(
        () => this.#onTimeout(),
        this.#openedAtMs + this.#batchTimeoutMs - this.#clock(),
      );
    }
  }

  #emit(): void {
    if (this.#timer !== undefined) {
      this.#scheduler.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const count = this.#builder.count;
    const firstIndex = this.#nextIndex - count;
    let open = true;
    try {
      this.#onBatch({
        key: this.#keyOf === null
          ? `${this.#agentId}:${this.#newId()}`
          : this.#keyOf(firstIndex, count),
        firstIndex,
        count,
        columns: this.#builder.build(),
        openedAtMs: this.#openedAtMs,
        createdAtMs: this.#clock(),
        order: this.#stream === null ? null : { stream: this.#stream, sequence: firstIndex },
        detach: (spare) => {
          if (!open) throw new Error("A batch's arrays can be detached once, during onBatch");
          open = false;
          return this.#builder.detach(spare);
        },
      });
    } finally {
      // A detached batch left the builder empty already.
      if (open) this.#builder.reset();
      open = false;
    }
  }
}
