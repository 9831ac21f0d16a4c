/**
 * A few {@linkcode ColumnarBatchBuilder}s kept from request to request, so
 * JSON ingest does not make a new one (about 1 MB of new typed arrays for a
 * 1,024-row start) for every batch: that constructor was 4.6 % of the JSON
 * ingest server's busy time, most of it page faults and zeroing of arrays
 * an earlier request had just dropped.
 *
 * @module
 */
import { ColumnarBatchBuilder } from "./columnar_batch_builder.ts";

/** Options for {@link ColumnarBatchBuilderPool}. */
export interface ColumnarBatchBuilderPoolOptions {
  /** Builders kept for reuse (one for each batch in flight at once). @default 4 */
  maxBuilders?: number;
  /** Rows a new builder has room for before it grows. @default 1024 */
  initialCapacity?: number;
  /** A builder grown past this many rows is left to the collector. @default 16384 */
  maxCapacity?: number;
}

/**
 * Hands out builders and takes them back once nothing reads the batch they
 * built. A builder given back while its batch is still read would let the
 * next request overwrite that batch's columns, so a caller that cannot tell
 * (a store that failed part way) does not give it back.
 *
 * @example
 * ```ts
 * const pool = new ColumnarBatchBuilderPool();
 * const builder = pool.take();
 * const batch = scanJsonBatch(body, { maxRecords: 50_000, builder });
 * if (batch !== null) await storeColumnarBatch(sql, { ...input, batch });
 * pool.give(builder);
 * ```
 */
export class ColumnarBatchBuilderPool {
  readonly #spare: ColumnarBatchBuilder[] = [];
  readonly #maxBuilders: number;
  readonly #initialCapacity: number;
  readonly #maxCapacity: number;

  /** Creates an empty pool. */
  constructor(options: ColumnarBatchBuilderPoolOptions = {}) {
    const { maxBuilders = 4, initialCapacity = 1024, maxCapacity = 16_384 } = options;
    if (!Number.isInteger(maxBuilders) || maxBuilders < 0) {
      throw new RangeError(
        `Cannot create a builder pool as 'maxBuilders' must be an integer >= 0: current value is ${maxBuilders}`,
      );
    }
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1) {
      throw new RangeError(
        `Cannot create a builder pool as 'initialCapacity' must be an integer >= 1: current value is ${initialCapacity}`,
      );
    }
    if (!Number.isInteger(maxCapacity) || maxCapacity < initialCapacity) {
      throw new RangeError(
        `Cannot create a builder pool as 'maxCapacity' must be an integer >= initialCapacity: current value is ${maxCapacity}`,
      );
    }
    this.#maxBuilders = maxBuilders;
    this.#initialCapacity = initialCapacity;
    this.#maxCapacity = maxCapacity;
  }

  /** Builders waiting to be taken. */
  get spare(): number {
    return this.#spare.length;
  }

  /** An empty builder: one given back earlier, or a new one. */
  take(): ColumnarBatchBuilder {
    return this.#spare.pop() ?? new ColumnarBatchBuilder(this.#initialCapacity);
  }

  /**
   * Takes `builder` back (emptied) for a later {@link take}, once nothing
   * reads the batch it built; kept only while the pool has room and the
   * builder is not over `maxCapacity`.
   */
  give(builder: ColumnarBatchBuilder): void {
    if (
      this.#spare.length >= this.#maxBuilders || builder.capacity > this.#maxCapacity ||
      this.#spare.includes(builder)
    ) return;
    builder.reset();
    this.#spare.push(builder);
  }
}
