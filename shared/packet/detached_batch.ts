/**
 * A batch handed over whole by `ColumnarBatchBuilder.detach`: its columns
 * in arrays no builder writes to again, so they can be transferred to a
 * worker instead of copied, and the arrays themselves, to be given back to
 * a builder for a later batch.
 *
 * @module
 */
import type { ColumnarBatch, NumericArray } from "./columnar_batch.ts";

/**
 * Every array a builder writes a batch into, at full length (`capacity`
 * rows), including those the batch's columns leave out (a validity bitmap
 * of a column without nulls). Give it back to `detach` of a builder of the
 * same capacity, which then writes its next batch into it instead of
 * allocating new arrays. Treat it as opaque.
 */
export interface ColumnArrays {
  /** Rows the arrays hold. */
  readonly capacity: number;
  /** Rows of the batch last written into them (what a builder clears before reuse). */
  readonly rows: number;
  /** Per column: a numeric column's values, else null. */
  readonly values: readonly (NumericArray | null)[];
  /** Per column: a boolean column's bits, else null. */
  readonly bits: readonly (Uint8Array | null)[];
  /** Per column: a text column's dictionary indices, else null. */
  readonly indices: readonly (Int32Array | null)[];
  /** Per column: a nullable column's validity bitmap, else null. */
  readonly validity: readonly (Uint8Array | null)[];
  /** Where each row's captured bytes start in `bytes`. */
  readonly offsets: Int32Array;
  /** Every row's captured bytes, one after another. */
  readonly bytes: Uint8Array;
}

/** What `ColumnarBatchBuilder.detach` hands over. */
export interface DetachedBatch {
  /** The batch: views of exactly its rows (and bytes) into `arrays`. */
  batch: ColumnarBatch;
  /** The arrays behind it, to reuse once the batch is done with. */
  arrays: ColumnArrays;
  /** The buffers behind `arrays`, each once: the transfer list for `postMessage`. */
  buffers: ArrayBuffer[];
}

/** The distinct buffers behind `arrays` (a transfer list for `postMessage`). */
export function columnArrayBuffers(arrays: ColumnArrays): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  const add = (array: { buffer: ArrayBufferLike } | null) => {
    if (array !== null) buffers.add(array.buffer as ArrayBuffer);
  };
  arrays.values.forEach(add);
  arrays.bits.forEach(add);
  arrays.indices.forEach(add);
  arrays.validity.forEach(add);
  add(arrays.offsets);
  add(arrays.bytes);
  return [...buffers];
}
