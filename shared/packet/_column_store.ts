/**
 * The arrays behind {@linkcode ColumnarBatchBuilder} and the writes every
 * way of appending a packet shares: rows staged side by side and turned into
 * columns by `build()`, the per-batch string dictionaries, the captured
 * bytes, and the app-layer columns written straight into their arrays. The
 * builder appends captured headers, records and rows of other batches
 * through it; the JSON ingest appends (_json_row_append.ts) write into the
 * same store, which is why its fields are open to this folder rather than
 * private to one class (the builder keeps its store private).
 *
 * @module
 */
import { COLUMN_INDEX, PACKET_COLUMNS } from "./packet_column_layout.ts";
import type { ColumnarBatch, NumericArray, PacketColumn } from "./columnar_batch.ts";
import { mapColumnArrays, numericArray } from "./columnar_batch.ts";
import { columnArrayBuffers, type ColumnArrays, type DetachedBatch } from "./detached_batch.ts";
import {
  BLOCK_ROWS,
  COLUMN_COUNT,
  grown,
  IS_STAGED,
  NUMERIC_COUNT,
  NUMERIC_SLOT,
  packValidity,
  STAGED_COUNT,
  STRING_COUNT,
  STRING_SLOT,
  unstageIndices,
  unstageNumbers,
} from "./_row_staging.ts";

const DATA = COLUMN_INDEX.get("data")!;
/** The app-layer columns (not staged), which `reset()` clears where a batch wrote to them. */
const APP_COLUMNS = Int32Array.from(IS_STAGED.flatMap((staged, c) => staged ? [] : [c]));

/**
 * A batch's columns and the writes into them. `build()` returns a view of
 * the current batch that stays valid until the next write or `reset()`.
 */
export class ColumnStore {
  /** Rows the arrays hold before they next grow (they double). */
  capacity: number;
  /** Rows in the current batch. */
  count = 0;
  /** Per column; only the arrays of its storage are set. */
  readonly values: (NumericArray | null)[] = [];
  readonly bits: (Uint8Array | null)[] = [];
  readonly indices: (Int32Array | null)[] = [];
  readonly validity: (Uint8Array | null)[] = [];
  readonly dictionaries: (Map<string, number> | null)[] = [];
  readonly dictionaryValues: string[][] = [];
  /** Per string column: the last value appended and its index (most packets repeat it). */
  readonly lastString: (string | null)[] = [];
  readonly lastIndex: number[] = [];
  /**
   * Appends write rows here, not into the columns: every numeric value of a
   * row side by side as float64 (by {@link NUMERIC_SLOT}), every dictionary
   * index (by {@link STRING_SLOT}), and a null flag per column (1 = null),
   * for every column but the app-layer ones (see `appPresent`).
   * A packet then touches a few cache lines instead of one per column (a
   * batch's columns are larger than L2), and each store has one array type.
   * `build()` turns the rows into the columns, block by block.
   */
  staged: Float64Array;
  stagedIndices: Int32Array;
  nulls: Uint8Array;
  /** Where each row's captured bytes (`data`) start in `bytes`. */
  offsets: Int32Array;
  /** Every row's captured bytes, one after another (the first `byteLength`). */
  bytes: Uint8Array;
  byteLength = 0;
  /**
   * Per column: app-layer values present in this batch. The app-layer
   * columns are written straight into their arrays, and only where a packet
   * has a value: 90 % of packets carry none, and their rows are already
   * zero (index 0, value 0, validity bit clear), because `reset()` clears
   * the arrays of every app-layer column the batch wrote to. A packet without
   * app-layer fields then costs one check instead of a null per column.
   */
  readonly appPresent: Int32Array = new Int32Array(COLUMN_COUNT);

  /** The last `build()`, until a row is added or the batch reset (every write starts with `row()`). */
  #built: ColumnarBatch | null = null;

  /** Allocates arrays for `capacity` rows (an integer >= 1, checked by the builder). */
  constructor(capacity: number) {
    this.capacity = capacity;
    for (const spec of PACKET_COLUMNS) {
      this.dictionaries.push(spec.storage === "string" ? new Map() : null);
      this.dictionaryValues.push([]);
      this.lastString.push(null);
      this.lastIndex.push(0);
    }
    const arrays = newColumnArrays(capacity, capacity * 128);
    this.values.push(...arrays.values);
    this.bits.push(...arrays.bits);
    this.indices.push(...arrays.indices);
    this.validity.push(...arrays.validity);
    this.offsets = arrays.offsets;
    this.bytes = arrays.bytes;
    this.staged = new Float64Array(NUMERIC_COUNT * capacity);
    this.stagedIndices = new Int32Array(STRING_COUNT * capacity);
    this.nulls = new Uint8Array(STAGED_COUNT * capacity);
  }

  /**
   * Hands over the current batch with the arrays it is in, and goes on
   * empty in `spare`'s arrays (cleared where the batch before wrote
   * app-layer values) when they fit, or in new ones: the batch's arrays are
   * never written again, so they can be transferred instead of copied.
   */
  detach(spare: ColumnArrays | null): DetachedBatch {
    const count = this.count;
    // The batcher built the batch for its callback already; building is the costly part.
    const batch = mapColumnArrays(
      this.#built ?? this.build(),
      (array, length) => array.subarray(0, length) as typeof array,
    );
    const arrays: ColumnArrays = {
      capacity: this.capacity,
      rows: count,
      values: [...this.values],
      bits: [...this.bits],
      indices: [...this.indices],
      validity: [...this.validity],
      offsets: this.offsets,
      bytes: this.bytes,
    };
    const next = spare !== null && fits(spare, this.capacity)
      ? cleared(spare)
      : newColumnArrays(this.capacity, this.bytes.length);
    for (let c = 0; c < COLUMN_COUNT; c++) {
      this.values[c] = next.values[c];
      this.bits[c] = next.bits[c];
      this.indices[c] = next.indices[c];
      this.validity[c] = next.validity[c];
    }
    this.offsets = next.offsets;
    this.bytes = next.bytes.length >= this.bytes.length
      ? next.bytes
      : new Uint8Array(this.bytes.length);
    // The new arrays hold no app-layer values: nothing for reset() to clear.
    this.appPresent.fill(0);
    this.reset();
    return { batch, arrays, buffers: columnArrayBuffers(arrays) };
  }

  /** Forgets the current batch, keeping the arrays for the next. */
  reset(): void {
    this.#built = null;
    const count = this.count;
    for (let i = 0; i < APP_COLUMNS.length; i++) {
      const c = APP_COLUMNS[i];
      if (this.appPresent[c] === 0) continue;
      this.appPresent[c] = 0;
      clearAppColumn(this, c, count);
    }
    this.count = 0;
    this.byteLength = 0;
    for (let c = 0; c < PACKET_COLUMNS.length; c++) {
      this.dictionaries[c]?.clear();
      this.dictionaryValues[c] = [];
      this.lastString[c] = null;
    }
  }

  /** The current batch: a view valid until the next write or `reset()`. */
  build(): ColumnarBatch {
    const count = this.count;
    const anyNull = new Int32Array(COLUMN_COUNT);
    for (let from = 0; from < count; from += BLOCK_ROWS) {
      const to = Math.min(count, from + BLOCK_ROWS);
      for (let c = 0; c < STAGED_COUNT; c++) {
        const bitmap = this.validity[c];
        if (bitmap !== null) anyNull[c] |= packValidity(this.nulls, c, from, to, bitmap);
        const values = this.values[c];
        if (values !== null) {
          unstageNumbers(this.staged, NUMERIC_COUNT, NUMERIC_SLOT[c], from, to, values);
        }
        const indices = this.indices[c];
        if (indices !== null) {
          unstageIndices(this.stagedIndices, STRING_COUNT, STRING_SLOT[c], from, to, indices);
        }
      }
    }
    for (let i = 0; i < APP_COLUMNS.length; i++) {
      const c = APP_COLUMNS[i];
      anyNull[c] = this.appPresent[c] < count ? 1 : 0;
    }
    const columns: PacketColumn[] = PACKET_COLUMNS.map((spec, c) => {
      const validity = anyNull[c] !== 0 ? this.validity[c] : null;
      switch (spec.storage) {
        case "bool":
          return { storage: "bool", bits: this.bits[c]!, validity };
        case "string":
          return {
            storage: "string",
            indices: this.indices[c]!,
            dictionary: this.dictionaryValues[c],
            validity,
          };
        case "binary":
          return {
            storage: "binary",
            offsets: this.offsets,
            bytes: this.bytes,
            validity,
          };
        default:
          return { storage: spec.storage, values: this.values[c]!, validity };
      }
    });
    return this.#built = { count, columns };
  }

  #grow(): void {
    const capacity = this.capacity * 2;
    for (let c = 0; c < PACKET_COLUMNS.length; c++) {
      const values = this.values[c];
      if (values) this.values[c] = grown(values, capacity);
      const indices = this.indices[c];
      if (indices) this.indices[c] = grown(indices, capacity);
      const bits = this.bits[c];
      if (bits) this.bits[c] = grown(bits, (capacity + 7) >> 3);
      const validity = this.validity[c];
      if (validity) this.validity[c] = grown(validity, (capacity + 7) >> 3);
    }
    this.offsets = grown(this.offsets, capacity + 1);
    this.staged = grown(this.staged, NUMERIC_COUNT * capacity);
    this.stagedIndices = grown(this.stagedIndices, STRING_COUNT * capacity);
    this.nulls = grown(this.nulls, STAGED_COUNT * capacity);
    this.capacity = capacity;
  }

  /** Makes room for `length` more captured bytes. */
  reserveBytes(length: number): void {
    const need = this.byteLength + length;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const bytes = new Uint8Array(size);
    bytes.set(this.bytes.subarray(0, this.byteLength));
    this.bytes = bytes;
  }

  /** Sets the null flag of staged column `c` in `row`. */
  present(c: number, row: number, present: boolean): void {
    this.nulls[row * STAGED_COUNT + c] = present ? 0 : 1;
  }

  /** A number that is never null. */
  set(c: number, row: number, value: number): void {
    this.staged[row * NUMERIC_COUNT + NUMERIC_SLOT[c]] = value;
  }

  /** A number, or null when `value` is negative (PacketHeaders' "absent"). */
  num(c: number, row: number, value: number): void {
    const present = value >= 0;
    this.staged[row * NUMERIC_COUNT + NUMERIC_SLOT[c]] = present ? value : 0;
    this.nulls[row * STAGED_COUNT + c] = present ? 0 : 1;
  }

  /** A boolean's bit (its null flag is set apart, with `present`). */
  bool(c: number, row: number, value: boolean): void {
    const bits = this.bits[c]!;
    if (value) bits[row >> 3] |= 1 << (row & 7);
    else bits[row >> 3] &= ~(1 << (row & 7));
  }

  /** A staged text, or null. */
  str(c: number, row: number, value: string | null): void {
    if (value === null) {
      this.stagedIndices[row * STRING_COUNT + STRING_SLOT[c]] = 0;
      this.nulls[row * STAGED_COUNT + c] = 1;
      return;
    }
    this.stagedIndices[row * STRING_COUNT + STRING_SLOT[c]] = this.index(c, value);
    this.nulls[row * STAGED_COUNT + c] = 0;
  }

  /** The index of `value` in column `c`'s dictionary of this batch (added when new). */
  index(c: number, value: string): number {
    if (value === this.lastString[c]) return this.lastIndex[c];
    const dictionary = this.dictionaries[c]!;
    let index = dictionary.get(value);
    if (index === undefined) {
      index = dictionary.size;
      dictionary.set(value, index);
      this.dictionaryValues[c].push(value);
    }
    this.lastString[c] = value;
    this.lastIndex[c] = index;
    return index;
  }

  /** An app-layer text, straight into its column; null leaves the row's zeros as they are. */
  appStr(c: number, row: number, value: string | null): void {
    if (value === null) return;
    this.indices[c]![row] = this.index(c, value);
    this.validity[c]![row >> 3] |= 1 << (row & 7);
    this.appPresent[c]++;
  }

  /** An app-layer number (present), straight into its column. */
  appNum(c: number, row: number, value: number): void {
    this.values[c]![row] = value;
    this.validity[c]![row >> 3] |= 1 << (row & 7);
    this.appPresent[c]++;
  }

  /** Starts a row, its captured bytes where the last row's end; returns its index. */
  row(): number {
    this.#built = null;
    if (this.count === this.capacity) this.#grow();
    const row = this.count++;
    this.offsets[row] = this.byteLength;
    return row;
  }

  /** Appends `bytes` as the captured bytes of `row` and ends them. */
  binary(row: number, bytes: Uint8Array): void {
    this.reserveBytes(bytes.length);
    this.bytes.set(bytes, this.byteLength);
    this.byteLength += bytes.length;
    this.endBinary(row, true);
  }

  /** Ends the binary value of `row` (an empty one when nothing was written). */
  endBinary(row: number, present: boolean): void {
    this.offsets[row + 1] = this.byteLength;
    this.present(DATA, row, present);
  }
}

type NumericArrayConstructor = new (length: number) => NumericArray;

/** Each numeric column's array type (null for the others). */
const NUMERIC_TYPES: readonly (NumericArrayConstructor | null)[] = PACKET_COLUMNS.map((
  { storage },
) =>
  storage !== "bool" && storage !== "string" && storage !== "binary"
    ? numericArray(storage, 0).constructor as NumericArrayConstructor
    : null
);

/** New arrays for `capacity` rows and `byteLength` captured bytes. */
function newColumnArrays(capacity: number, byteLength: number): ColumnArrays {
  const arrays = {
    capacity,
    rows: 0,
    values: [] as (NumericArray | null)[],
    bits: [] as (Uint8Array | null)[],
    indices: [] as (Int32Array | null)[],
    validity: [] as (Uint8Array | null)[],
    offsets: new Int32Array(capacity + 1),
    bytes: new Uint8Array(byteLength),
  };
  PACKET_COLUMNS.forEach(({ storage, nullable }, c) => {
    const Values = NUMERIC_TYPES[c];
    arrays.values.push(Values === null ? null : new Values(capacity));
    arrays.bits.push(storage === "bool" ? new Uint8Array((capacity + 7) >> 3) : null);
    arrays.indices.push(storage === "string" ? new Int32Array(capacity) : null);
    arrays.validity.push(nullable ? new Uint8Array((capacity + 7) >> 3) : null);
  });
  return arrays;
}

/**
 * Whether `arrays` can hold a store's batch of `capacity` rows: the same
 * capacity, every array in place at its full length (none detached by a
 * transfer) and of its column's kind.
 */
function fits(arrays: ColumnArrays, capacity: number): boolean {
  if (arrays.capacity !== capacity || arrays.values.length !== COLUMN_COUNT) return false;
  const bitmapBytes = (capacity + 7) >> 3;
  const sized = (array: { length: number } | null, length: number, wanted: boolean) =>
    wanted ? array !== null && array.length === length : array === null;
  for (let c = 0; c < COLUMN_COUNT; c++) {
    const { storage, nullable } = PACKET_COLUMNS[c];
    const values = arrays.values[c];
    if (
      !sized(values, capacity, NUMERIC_TYPES[c] !== null) ||
      (values !== null && values.constructor !== NUMERIC_TYPES[c]) ||
      !sized(arrays.bits[c], bitmapBytes, storage === "bool") ||
      !sized(arrays.indices[c], capacity, storage === "string") ||
      !sized(arrays.validity[c], bitmapBytes, nullable)
    ) {
      return false;
    }
  }
  return arrays.offsets.length === capacity + 1 && arrays.bytes.length > 0;
}

/** `arrays` with the app-layer values of their last batch cleared (the store relies on zeros there). */
function cleared(arrays: ColumnArrays): ColumnArrays {
  const rows = Math.min(arrays.rows, arrays.capacity);
  for (let i = 0; i < APP_COLUMNS.length; i++) clearAppColumn(arrays, APP_COLUMNS[i], rows);
  return arrays;
}

/**
 * Zeroes app-layer column `c` of the first `rows` rows (its values or
 * indices and its validity bits): what `reset()` does for the columns a batch
 * wrote, and `cleared()` for every one of given-back arrays.
 */
function clearAppColumn(
  arrays: Pick<ColumnArrays, "values" | "indices" | "validity">,
  c: number,
  rows: number,
): void {
  arrays.values[c]?.fill(0, 0, rows);
  arrays.indices[c]?.fill(0, 0, rows);
  arrays.validity[c]?.fill(0, 0, (rows + 7) >> 3);
}
