/**
 * A batch's `raw_packets` rows as one binary COPY stream, written straight
 * from its columns: each dictionary entry is encoded once (text as UTF-8,
 * addresses as `inet` bytes), the stream's size is known before it is
 * written, and rows go into one buffer with no object per packet.
 *
 * The column types come from the database (`pg_attribute`), not from a list
 * here: binary COPY needs each value in its column's exact send format, and a
 * field added to the table and to `raw_packets` by a migration is written
 * without a change to this file.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from "./copy_binary_rows.ts";
import { parseIpInto } from "../packet/address_parse.ts";
import { PACKET_COLUMNS } from "../packet/packet_column_layout.ts";
import {
  addBinaryBytes,
  addEntryBytes,
  addFixedBytes,
  writeBool,
  writeBytea,
  writeEntries,
  writeFloat8,
  writeInt2,
  writeInt4,
  writeInt8,
} from "./_raw_packet_cells.ts";
import {
  type BinaryColumn,
  type BoolColumn,
  type ColumnarBatch,
  isPresent,
  type NumericColumn,
  type PacketColumn,
  type StringColumn,
} from "../packet/columnar_batch.ts";

/** Raised when a value cannot be written to its column; names the field and row. */
export class RawPacketCopyError extends Error {
  /** The field. */
  readonly field: string;
  /** The packet's index in the batch. */
  readonly record: number;
  /** Creates the error; `cause` is the error underneath, when there is one. */
  constructor(message: string, options: { field: string; record: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "RawPacketCopyError";
    this.field = options.field;
    this.record = options.record;
  }
}

/** PostgreSQL types a packet field can be stored as. */
export type PgType =
  | "smallint"
  | "integer"
  | "bigint"
  | "double precision"
  | "boolean"
  | "text"
  | "inet"
  | "bytea";

/** The `raw_packets` column type of every field, in `PACKET_FIELDS` order. */
export interface RawPacketCopyLayout {
  /** Column names for the COPY statement, in order. */
  readonly columns: readonly string[];
  /** Their types. */
  readonly types: readonly PgType[];
}

const layouts = new WeakMap<Sql, Promise<RawPacketCopyLayout>>();
const SUPPORTED = new Set<string>([
  "smallint",
  "integer",
  "bigint",
  "double precision",
  "boolean",
  "text",
  "inet",
  "bytea",
]);

/**
 * Reads the types of `raw_packets`' packet columns (once per handle). Throws
 * when a field has no column, or a column a type this writer cannot send.
 */
export function rawPacketCopyLayout(sql: Sql): Promise<RawPacketCopyLayout> {
  let layout = layouts.get(sql);
  if (!layout) {
    layout = (async () => {
      const rows = await sql<{ name: string; type: string }[]>`
        select attname as name, format_type(atttypid, atttypmod) as type
        from pg_attribute
        where attrelid = to_regclass('raw_packets') and attnum > 0 and not attisdropped`;
      const typeOf = new Map(rows.map((row) => [row.name, row.type]));
      const types = PACKET_COLUMNS.map((column) => {
        const type = typeOf.get(column.name);
        if (type === undefined) throw new Error(`raw_packets has no column ${column.name}`);
        if (!SUPPORTED.has(type)) {
          throw new Error(
            `raw_packets.${column.name} is ${type}, which binary COPY here cannot write`,
          );
        }
        return type as PgType;
      });
      return { columns: PACKET_COLUMNS.map((column) => column.name), types };
    })();
    layout.catch(() => layouts.delete(sql));
    layouts.set(sql, layout);
  }
  return layout;
}

// What each column's values cost and how they are written, decided once per batch.
const KIND_INT2 = 0, KIND_INT4 = 1, KIND_INT8 = 2, KIND_FLOAT8 = 3, KIND_BOOL = 4;
const KIND_ENTRY = 5, KIND_BYTEA = 6;

const PGSQL_AF_INET = 2;
const PGSQL_AF_INET6 = 3;
const encoder = new TextEncoder();

/** Entries encoded before, most that a map keeps before it starts over. */
const MAX_ENCODED_ENTRIES = 4096;
/**
 * COPY value bytes of `inet` and `text` entries encoded before, by value
 * (never written to: rows copy them). Each batch's dictionaries hold mostly
 * the addresses and names of the batch before, and parsing an IPv6 address
 * alone took about 4 µs (0.2 µs a record on the ingest bench, where one packet
 * in twenty is IPv6). The bytes depend on the value and the type only.
 */
const encodedEntries: Record<"inet" | "text", Map<string, Uint8Array>> = {
  inet: new Map(),
  text: new Map(),
};

/** Each dictionary entry of a string column, as its COPY value bytes (length prefix included). */
function encodeEntries(
  column: StringColumn,
  type: PgType,
  field: string,
  firstRowOf: (entry: number) => number,
): Uint8Array[] {
  const address = new Uint8Array(16);
  const encoded = encodedEntries[type === "inet" ? "inet" : "text"];
  return column.dictionary.map((value, entry) => {
    const known = encoded.get(value);
    if (known !== undefined) return known;
    const out = encodeEntry(value, type, field, address, () => firstRowOf(entry));
    if (encoded.size >= MAX_ENCODED_ENTRIES) encoded.clear();
    encoded.set(value, out);
    return out;
  });
}

/** One entry's COPY value bytes; throws {@link RawPacketCopyError} for a value the type cannot hold. */
function encodeEntry(
  value: string,
  type: PgType,
  field: string,
  address: Uint8Array,
  firstRow: () => number,
): Uint8Array {
  if (type === "inet") {
    const length = parseIpInto(value, address, 0);
    if (length === 0) {
      throw new RawPacketCopyError(`${field}: '${value}' is not an IP address`, {
        field,
        record: firstRow(),
      });
    }
    const out = new Uint8Array(8 + length);
    const view = new DataView(out.buffer);
    view.setInt32(0, 4 + length);
    out[4] = length === 4 ? PGSQL_AF_INET : PGSQL_AF_INET6;
    out[5] = length * 8;
    out[6] = 0;
    out[7] = length;
    out.set(address.subarray(0, length), 8);
    return out;
  }
  if (value.includes("\0")) {
    throw new RawPacketCopyError(`${field}: text cannot hold a NUL character`, {
      field,
      record: firstRow(),
    });
  }
  const utf8 = encoder.encode(value);
  const out = new Uint8Array(4 + utf8.length);
  new DataView(out.buffer).setInt32(0, utf8.length);
  out.set(utf8, 4);
  return out;
}

function fixedKind(type: PgType): number {
  switch (type) {
    case "smallint":
      return KIND_INT2;
    case "integer":
      return KIND_INT4;
    case "bigint":
      return KIND_INT8;
    case "double precision":
      return KIND_FLOAT8;
    case "boolean":
      return KIND_BOOL;
    default:
      return -1;
  }
}

const FIXED_BYTES = [4 + 2, 4 + 4, 4 + 8, 4 + 8, 4 + 1];
const INT_RANGE: [number, number][] = [[-32768, 32767], [-2147483648, 2147483647]];
/** Whether every value of a storage fits a smallint (KIND_INT2) or an integer (KIND_INT4). */
function fitsAlways(storage: string, kind: number): boolean {
  return storage === "u8" || (storage === "u16" && kind === KIND_INT4);
}

/**
 * Rows written column by column at a time: enough to keep each column's loop
 * long, few enough that their bytes (about 500 a row) stay in the CPU's cache
 * while every column is written into them.
 */
const ROWS_PER_PASS = 256;

/**
 * Buffers of COPY data handed back by {@link releaseRawPacketCopy}, for the
 * next batches to write into. A fresh buffer of a batch's 2.5 MB cost more
 * than writing the rows into it (page faults and zeroing: 42 batches' worth
 * took 150-400 ms of CPU fresh against 4 ms reused, measured on the 2-core
 * VM), and ingest made one a batch.
 */
const spareBuffers: ArrayBuffer[] = [];
/** Every buffer this module handed out (a released view of any other is ignored). */
const ownBuffers = new WeakSet<ArrayBuffer>();
/** Spare buffers kept: one for each upload a default agent has in flight. */
const MAX_SPARE_BUFFERS = 4;
/** A larger buffer (a batch far above 5,000 packets) is left to the collector. */
const MAX_SPARE_BUFFER_BYTES = 16 << 20;
/** New buffers are sized up to a multiple of this, so slightly larger batches fit. */
const BUFFER_GRANULE_BYTES = 256 << 10;

function takeBuffer(size: number): Uint8Array {
  let best = -1;
  for (let i = 0; i < spareBuffers.length; i++) {
    const length = spareBuffers[i].byteLength;
    if (length >= size && (best < 0 || length < spareBuffers[best].byteLength)) best = i;
  }
  if (best >= 0) {
    const buffer = spareBuffers[best];
    spareBuffers.splice(best, 1);
    return new Uint8Array(buffer, 0, size);
  }
  const buffer = new ArrayBuffer(Math.ceil(size / BUFFER_GRANULE_BYTES) * BUFFER_GRANULE_BYTES);
  ownBuffers.add(buffer);
  return new Uint8Array(buffer, 0, size);
}

/**
 * Hands back the COPY data of {@link encodeRawPacketCopy} once nothing will
 * read it again (its COPY ended and no write of it is pending), so that a
 * later batch is written into the same memory. Optional: data never released
 * is collected as any other. Releasing bytes still read (by a socket write in
 * flight, say) would let a later batch overwrite them.
 */
export function releaseRawPacketCopy(copy: Uint8Array): void {
  const buffer = copy.buffer as ArrayBuffer;
  if (
    !ownBuffers.has(buffer) || buffer.byteLength > MAX_SPARE_BUFFER_BYTES ||
    spareBuffers.length >= MAX_SPARE_BUFFERS || spareBuffers.includes(buffer)
  ) return;
  spareBuffers.push(buffer);
}

/**
 * Encodes the batch's rows as a complete binary COPY stream (header, rows,
 * trailer) for `COPY raw_packets (<layout.columns>) FROM ... (FORMAT
 * binary)`. Throws {@link RawPacketCopyError} for a value its column cannot
 * hold (a port in a smallint, text with NUL), before anything is sent. The
 * bytes may be written into a buffer an earlier batch's data released
 * ({@link releaseRawPacketCopy}).
 *
 * Each row's size is summed first, column by column, so each row's place in
 * the output is known; then the rows are written a pass of
 * {@link ROWS_PER_PASS} at a time, one column after the other, each column by
 * a loop of its own kind, in `_raw_packet_cells.ts` (a loop over rows that
 * switched on each cell's kind took 2-3 times as long).
 */
export function encodeRawPacketCopy(batch: ColumnarBatch, layout: RawPacketCopyLayout): Uint8Array {
  const count = batch.count;
  const fields = PACKET_COLUMNS.length;
  const kinds = new Int8Array(fields);
  const entries: (Uint8Array[] | null)[] = new Array(fields).fill(null);
  // Bytes of each row (its field count, then each cell), and of every row alike.
  const rowBytes = new Int32Array(count);
  let sameInEveryRow = 2;

  for (let c = 0; c < fields; c++) {
    const spec = PACKET_COLUMNS[c];
    const column: PacketColumn = batch.columns[c];
    const type = layout.types[c];
    const field = spec.name;
    const validity = column.validity;
    const mismatch = () => {
      throw new Error(
        `raw_packets.${field} is ${type}, which cannot hold a ${column.storage} column`,
      );
    };
    if (column.storage === "string") {
      if (type !== "text" && type !== "inet") mismatch();
      kinds[c] = KIND_ENTRY;
      const firstRowOf = (entry: number) => {
        for (let i = 0; i < count; i++) {
          if (isPresent(validity, i) && column.indices[i] === entry) return i;
        }
        return 0;
      };
      const encoded = encodeEntries(column, type, field, firstRowOf);
      entries[c] = encoded;
      const lengths = new Int32Array(encoded.length);
      for (let e = 0; e < encoded.length; e++) lengths[e] = encoded[e].length;
      addEntryBytes(rowBytes, column.indices, lengths, validity, count);
      continue;
    }
    if (column.storage === "binary") {
      if (type !== "bytea") mismatch();
      kinds[c] = KIND_BYTEA;
      addBinaryBytes(rowBytes, column.offsets, validity, count);
      continue;
    }
    const kind = fixedKind(type);
    if (kind < 0 || (column.storage === "bool") !== (kind === KIND_BOOL)) mismatch();
    kinds[c] = kind;
    if (column.storage !== "bool" && kind <= KIND_INT4 && !fitsAlways(column.storage, kind)) {
      // A field whose range is wider than its column: check the values.
      const [min, max] = INT_RANGE[kind];
      const values = column.values;
      for (let i = 0; i < count; i++) {
        if (isPresent(validity, i) && !(values[i] >= min && values[i] <= max)) {
          throw new RawPacketCopyError(
            `${field}: ${values[i]} does not fit raw_packets' ${type} column`,
            { field, record: i },
          );
        }
      }
    }
    if (validity === null) sameInEveryRow += FIXED_BYTES[kind];
    else addFixedBytes(rowBytes, FIXED_BYTES[kind], validity, count);
  }

  // Where each row starts (kept in `at`, which then follows each row's cells).
  const at = new Int32Array(count);
  let size = COPY_BINARY_HEADER.length;
  for (let i = 0; i < count; i++) {
    at[i] = size;
    size += rowBytes[i] + sameInEveryRow;
  }
  size += COPY_BINARY_TRAILER.length;

  // Every byte of it is written below: a released buffer's old bytes never show.
  const out = takeBuffer(size);
  const view = new DataView(out.buffer, 0, size);
  out.set(COPY_BINARY_HEADER, 0);
  for (let i = 0; i < count; i++) {
    view.setInt16(at[i], fields);
    at[i] += 2;
  }
  const columns = batch.columns;
  for (let from = 0; from < count; from += ROWS_PER_PASS) {
    const to = Math.min(count, from + ROWS_PER_PASS);
    for (let c = 0; c < fields; c++) {
      const column = columns[c];
      const validity = column.validity;
      switch (kinds[c]) {
        case KIND_INT2:
          writeInt2(view, at, (column as NumericColumn).values, validity, from, to);
          break;
        case KIND_INT4:
          writeInt4(view, at, (column as NumericColumn).values, validity, from, to);
          break;
        case KIND_INT8:
          writeInt8(view, at, (column as NumericColumn).values, validity, from, to);
          break;
        case KIND_FLOAT8:
          writeFloat8(view, at, (column as NumericColumn).values, validity, from, to);
          break;
        case KIND_BOOL:
          writeBool(out, view, at, (column as BoolColumn).bits, validity, from, to);
          break;
        case KIND_ENTRY:
          writeEntries(
            out,
            view,
            at,
            (column as StringColumn).indices,
            entries[c]!,
            validity,
            from,
            to,
          );
          break;
        default: {
          const { offsets, bytes } = column as BinaryColumn;
          writeBytea(out, view, at, offsets, bytes, validity, from, to);
        }
      }
    }
  }
  out.set(COPY_BINARY_TRAILER, size - COPY_BINARY_TRAILER.length);
  return out;
}
