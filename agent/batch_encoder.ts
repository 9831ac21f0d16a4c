/**
 * Where a closed batch is encoded for the wire: on the capture thread
 * ({@linkcode encodeInline}) or in a worker ({@linkcode WorkerBatchEncoder}).
 * Live capture uses the worker, so the thread that reads libpcap only
 * decodes packets and stages rows: Arrow encoding and zstd took about a
 * quarter of its CPU (docs/performance_log.md, "Kernel ring and kernel drops").
 *
 * Either way the body is `encodeBatch`'s, byte for byte: the worker runs the
 * same code on the batch's columns, taken from the batcher (detached) or
 * copied.
 *
 * @module
 */
import {
  type ColumnarBatch,
  type ColumnArrays,
  mapColumnArrays,
} from "@traffic-analyzer/shared/packet";
import { encodeBatch, type EncodeBatchOptions, type EncodedBatch } from "./batch_codec.ts";
import type { PacketBatch } from "./batcher.ts";

/** The part of a batch its encoding needs. */
export type BatchToEncode = Pick<
  PacketBatch,
  "key" | "columns" | "createdAtMs" | "order" | "detach"
>;

/** Encodes batches; see {@linkcode encodeInline} and {@linkcode WorkerBatchEncoder}. */
export interface BatchEncoder {
  /**
   * Encodes `batch`. Whatever it keeps of the columns it copies before
   * returning (they are reused once the caller returns); the parts come in
   * the order the batches were given.
   */
  encode(batch: BatchToEncode, options: EncodeBatchOptions): Promise<EncodedBatch[]>;
}

/** Encodes on the calling thread, before returning. */
export const encodeInline: BatchEncoder = {
  encode: (batch, options) => {
    try {
      return Promise.resolve(encodeBatch(batch, options));
    } catch (error) {
      return Promise.reject(error);
    }
  },
};

/** A message to the worker. */
export interface EncodeRequest {
  /** Matches the answer to its request. */
  id: number;
  /** The batch, its columns copied or detached (without `detach`). */
  batch: Omit<BatchToEncode, "detach">;
  /** Passed to `encodeBatch`. */
  options: EncodeBatchOptions;
  /** The detached arrays behind the columns, to send back for the next batch; null when copied. */
  arrays: ColumnArrays | null;
}

/** The worker's answer: the parts, or why there are none, and the request's `arrays` back. */
export type EncodeResponse =
  | { id: number; parts: EncodedBatch[]; arrays: ColumnArrays | null }
  | { id: number; error: string; arrays: ColumnArrays | null };

/**
 * The first `count` rows of each column, in arrays of their own that can be
 * transferred: a batch's arrays are its builder's, longer than the batch
 * and reused for the next one.
 */
export function copyColumns(
  columns: ColumnarBatch,
): { batch: ColumnarBatch; buffers: ArrayBuffer[] } {
  const buffers: ArrayBuffer[] = [];
  // Dictionaries are structured-cloned with the message; the builder starts a new array per batch anyway.
  const batch = mapColumnArrays(columns, (array, length) => {
    const copy = array.slice(0, length) as typeof array;
    buffers.push(copy.buffer as ArrayBuffer);
    return copy;
  });
  return { batch, buffers };
}

/** Detached arrays kept for the batcher's next batches; more are let go. */
const MAX_SPARE_ARRAYS = 4;

/**
 * Encodes batches in a worker thread, one at a time in the order given.
 * `close()` ends the worker; batches still being encoded then fail.
 *
 * A batch that can be detached (`PacketBatch.detach`, the batcher's) goes
 * to the worker without a copy: its arrays are transferred, and come back
 * with the answer to hold a later batch: handing a batch over costs the
 * capturing thread about half what the copy did (0.08-0.15 µs a packet
 * against 0.17-0.27), and no fresh pages are faulted in and freed.
 *
 * @example
 * ```ts
 * const encoder = new WorkerBatchEncoder();
 * const parts = await encoder.encode(batch, { format: "arrow" });
 * encoder.close();
 * ```
 */
export class WorkerBatchEncoder implements BatchEncoder {
  readonly #worker: Worker;
  readonly #pending = new Map<
    number,
    { resolve: (parts: EncodedBatch[]) => void; reject: (error: Error) => void }
  >();
  /** Arrays the worker sent back, for the next batches to be detached into. */
  readonly #spares: ColumnArrays[] = [];
  #nextId = 0;
  #closed = false;
  #workerFailed = false;

  /**
   * Starts the worker (it inherits the agent's permissions).
   *
   * @param options.workerUrl the worker's module; tests give one that fails.
   */
  constructor(options: { workerUrl?: string } = {}) {
    const url = options.workerUrl ?? new URL("./batch_encode_worker.ts", import.meta.url).href;
    this.#worker = new Worker(url, { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<EncodeResponse>) => {
      const response = event.data;
      if (response.arrays !== null && this.#spares.length < MAX_SPARE_ARRAYS) {
        this.#spares.push(response.arrays);
      }
      const pending = this.#pending.get(response.id);
      if (pending === undefined) return;
      this.#pending.delete(response.id);
      if ("parts" in response) pending.resolve(response.parts);
      else pending.reject(new Error(response.error));
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      // A dead worker answers nothing: later batches are encoded inline rather
      // than waiting for ever (capture would stall) or failing (lost batches).
      this.#workerFailed = true;
      this.#worker.terminate();
      this.#failAll(new Error(`The batch encoding worker failed: ${event.message}`));
    };
  }

  /** Whether the worker died and batches are encoded inline instead. */
  get workerFailed(): boolean {
    return this.#workerFailed;
  }

  /** Hands the batch's columns to the worker: detached where the batch allows, else copied. */
  encode(batch: BatchToEncode, options: EncodeBatchOptions): Promise<EncodedBatch[]> {
    if (this.#closed) {
      return Promise.reject(new Error(`Cannot encode batch ${batch.key}: the encoder is closed`));
    }
    if (this.#workerFailed) return encodeInline.encode(batch, options);
    let columns: ColumnarBatch;
    let buffers: ArrayBuffer[];
    let arrays: ColumnArrays | null = null;
    if (batch.detach !== undefined) {
      ({ batch: columns, buffers, arrays } = batch.detach(this.#spares.pop() ?? null));
    } else {
      ({ batch: columns, buffers } = copyColumns(batch.columns));
    }
    const id = this.#nextId++;
    const request: EncodeRequest = {
      id,
      batch: {
        key: batch.key,
        columns,
        createdAtMs: batch.createdAtMs,
        order: batch.order ?? null,
      },
      options,
      arrays,
    };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(request, buffers);
    });
  }

  /** Ends the worker; batches not yet answered fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
    this.#failAll(new Error("The batch encoder was closed before the batch was encoded"));
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
