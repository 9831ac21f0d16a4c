/**
 * The staging rows of {@linkcode ColumnarBatchBuilder}: a packet is appended
 * as one row (numbers side by side as float64, dictionary indices, a null
 * flag per column) and the rows become typed columns once per batch. Written
 * straight into the columns, a packet touched a cache line per column (about
 * 70, and a 5,000-packet batch's columns are larger than L2) through stores
 * to four typed-array kinds; see the README's Agent section for the figures.
 *
 * @module
 */
import { PACKET_COLUMNS } from "./packet_column_layout.ts";
import type { NumericArray } from "./columnar_batch.ts";
import { APP_RECORD_FIELD_NAMES } from "../app_layer/app_record_fields.ts";

/**
 * Whether each column is staged: all but the app-layer ones, which the
 * builder writes straight into their columns (most packets have none), so
 * a staged row carries no slot for them.
 */
export const IS_STAGED: readonly boolean[] = PACKET_COLUMNS.map(({ name }) =>
  !(APP_RECORD_FIELD_NAMES as readonly string[]).includes(name)
);
/** Staged columns; they come first, so a column's index is its place in a row of null flags. */
export const STAGED_COUNT = IS_STAGED.filter((staged) => staged).length;
if (IS_STAGED.some((staged, c) => staged !== (c < STAGED_COUNT))) {
  throw new Error("_row_staging: the app-layer columns must come after every staged column");
}

/** Each staged column's place in a staged row of its kind (numeric or string); -1 otherwise. */
function slotsOf(kind: (storage: string) => boolean): number[] {
  let next = 0;
  return PACKET_COLUMNS.map(({ storage }, c) => IS_STAGED[c] && kind(storage) ? next++ : -1);
}
export const NUMERIC_SLOT = slotsOf((storage) =>
  storage !== "bool" && storage !== "string" && storage !== "binary"
);
export const NUMERIC_COUNT = NUMERIC_SLOT.filter((slot) => slot >= 0).length;
export const STRING_SLOT = slotsOf((storage) => storage === "string");
export const STRING_COUNT = STRING_SLOT.filter((slot) => slot >= 0).length;
export const COLUMN_COUNT = PACKET_COLUMNS.length;
/**
 * Rows `build()` turns into columns at a time: a block of staged rows stays
 * in L1 while each of its columns is copied out.
 */
export const BLOCK_ROWS = 64;

export function grown<T extends NumericArray | Int32Array>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}

/** Copies rows `from..to` of column `slot` out of row-major `staged` (rows `stride` wide). */
export function unstageNumbers(
  staged: Float64Array,
  stride: number,
  slot: number,
  from: number,
  to: number,
  values: NumericArray,
): void {
  for (let row = from, at = from * stride + slot; row < to; row++, at += stride) {
    values[row] = staged[at];
  }
}

/** {@link unstageNumbers} for dictionary indices (one array type, so one store). */
export function unstageIndices(
  staged: Int32Array,
  stride: number,
  slot: number,
  from: number,
  to: number,
  indices: Int32Array,
): void {
  for (let row = from, at = from * stride + slot; row < to; row++, at += stride) {
    indices[row] = staged[at];
  }
}

/**
 * Packs the null flags (1 = null) of staged column `c` for rows `from..to`
 * (`from` a multiple of 8) out of row-major `nulls` ({@link STAGED_COUNT}
 * flags a row) into `bitmap` as Arrow validity
 * bits; returns the flags seen, or-ed (non-zero when a value was null).
 */
export function packValidity(
  nulls: Uint8Array,
  c: number,
  from: number,
  to: number,
  bitmap: Uint8Array,
): number {
  let anyNull = 0;
  let at = from * STAGED_COUNT + c;
  for (let row = from; row < to; row += 8) {
    const bits = Math.min(8, to - row);
    let flags = 0;
    for (let k = 0; k < bits; k++, at += STAGED_COUNT) flags |= nulls[at] << k;
    anyNull |= flags;
    bitmap[row >> 3] = ~flags & ((1 << bits) - 1);
  }
  return anyNull;
}
