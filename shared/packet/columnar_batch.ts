/**
 * A batch of packets held as columns: one typed array per field, strings as
 * indexes into a per-batch dictionary, the captured bytes as one binary
 * column. It is what the agent builds from captured frames, what an Arrow
 * batch on the wire is validated into, and what ingest writes to the
 * database from, so no step between capture and `raw_packets` needs an
 * object per packet.
 *
 * Arrays may be longer than `count` (a builder reuses them); only the first
 * `count` entries belong to the batch. Bitmaps are Arrow's: bit `i % 8` of
 * byte `i >> 3`, set for a present value.
 *
 * @module
 */
import type { PacketRecord } from "./packet_record.ts";
import { PACKET_COLUMNS } from "./packet_column_layout.ts";

/** Typed arrays of the numeric storages. */
export type NumericArray = Float64Array | Uint32Array | Uint16Array | Uint8Array;

/** A zeroed {@link NumericArray} of the typed-array kind a column's `storage` names. */
export function numericArray(storage: string, length: number): NumericArray {
  switch (storage) {
    case "f64":
      return new Float64Array(length);
    case "u32":
      return new Uint32Array(length);
    case "u16":
      return new Uint16Array(length);
    default:
      return new Uint8Array(length);
  }
}

/** A numeric column. */
export interface NumericColumn {
  /** How the column's values are stored. */
  storage: "f64" | "u32" | "u16" | "u8";
  /** One value per packet (any value where null). */
  values: NumericArray;
  /** Presence bitmap, or null when every value is present. */
  validity: Uint8Array | null;
}

/** A boolean column. */
export interface BoolColumn {
  /** How the column's values are stored. */
  storage: "bool";
  /** Value bitmap. */
  bits: Uint8Array;
  /** Presence bitmap, or null when every value is present. */
  validity: Uint8Array | null;
}

/** A dictionary-encoded string column. */
export interface StringColumn {
  /** How the column's values are stored. */
  storage: "string";
  /** Index into `dictionary` per packet (any value where null). */
  indices: Int32Array;
  /** The distinct strings of this batch. */
  dictionary: readonly string[];
  /** Presence bitmap, or null when every value is present. */
  validity: Uint8Array | null;
}

/** A binary column: packet `i` holds `bytes[offsets[i] .. offsets[i + 1]]`. */
export interface BinaryColumn {
  /** How the column's values are stored. */
  storage: "binary";
  /** `count + 1` offsets into `bytes`, non-decreasing. */
  offsets: Int32Array;
  /** The values, back to back. */
  bytes: Uint8Array;
  /** Presence bitmap, or null when every value is present. */
  validity: Uint8Array | null;
}

/** One column of a {@link ColumnarBatch}. */
export type PacketColumn = NumericColumn | BoolColumn | StringColumn | BinaryColumn;

/** Packets as columns, one per field of `PACKET_FIELDS`, in its order. */
export interface ColumnarBatch {
  /** Packets in the batch. */
  readonly count: number;
  /** The columns, in `PACKET_FIELDS` order. */
  readonly columns: readonly PacketColumn[];
}

/** Any typed array a column holds. */
export type ColumnArray = NumericArray | Int32Array;

/**
 * The batch with each of its columns' arrays replaced by `take(array,
 * length)`, `length` being what the batch's rows use of it: `count` values
 * or indices, `(count + 7) >> 3` bitmap bytes, `count + 1` offsets, and the
 * captured bytes up to the last offset. Dictionaries are kept as they are.
 * A view (`subarray`) or a copy (`slice`) of exactly the batch's part.
 */
export function mapColumnArrays(
  batch: ColumnarBatch,
  take: <T extends ColumnArray>(array: T, length: number) => T,
): ColumnarBatch {
  const count = batch.count;
  const bitmapBytes = (count + 7) >> 3;
  const columns = batch.columns.map((column): PacketColumn => {
    const validity = column.validity === null ? null : take(column.validity, bitmapBytes);
    switch (column.storage) {
      case "bool":
        return { storage: "bool", bits: take(column.bits, bitmapBytes), validity };
      case "string":
        return {
          storage: "string",
          indices: take(column.indices, count),
          dictionary: column.dictionary,
          validity,
        };
      case "binary":
        return {
          storage: "binary",
          offsets: take(column.offsets, count + 1),
          bytes: take(column.bytes, column.offsets[count]),
          validity,
        };
      default:
        return { storage: column.storage, values: take(column.values, count), validity };
    }
  });
  return { count, columns };
}

/** True when bit `i` of `bitmap` is set (a null bitmap means all set). */
export function isPresent(validity: Uint8Array | null, i: number): boolean {
  return validity === null || (validity[i >> 3] & (1 << (i & 7))) !== 0;
}

/** The value of packet `row` in `column`, as a {@link PacketRecord} holds it (`data` as base64). */
export function columnValue(
  column: PacketColumn,
  row: number,
): PacketRecord[keyof PacketRecord] {
  if (!isPresent(column.validity, row)) return null;
  switch (column.storage) {
    case "bool":
      return (column.bits[row >> 3] & (1 << (row & 7))) !== 0;
    case "string":
      return column.dictionary[column.indices[row]];
    case "binary":
      return column.bytes.subarray(column.offsets[row], column.offsets[row + 1]).toBase64();
    default:
      return column.values[row];
  }
}

/**
 * Packet `row` as a record: for tests, the JSON path's checks and the few
 * places that want objects. Never on the capture or ingest hot path.
 */
export function recordAt(batch: ColumnarBatch, row: number): PacketRecord {
  const record: Record<string, unknown> = {};
  for (const spec of PACKET_COLUMNS) {
    record[spec.name] = columnValue(batch.columns[spec.index], row);
  }
  return record as unknown as PacketRecord;
}

/** Every packet of the batch as a record (tests, and splitting a batch for a 413). */
export function batchRecords(batch: ColumnarBatch): PacketRecord[] {
  return Array.from({ length: batch.count }, (_, row) => recordAt(batch, row));
}
