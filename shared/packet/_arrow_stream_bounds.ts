/**
 * Checks the framing and metadata of an Arrow IPC stream before apache-arrow
 * reads it. apache-arrow trusts its input: its flatbuffers reads return 0
 * past the end instead of failing, so a vector length changed in transit
 * makes it build billions of objects, and a column length changed makes it
 * pad every other column to that length (a fuzz test ran it out of memory in
 * seconds). This walks every message the way flatbuffers' own verifier does,
 * for the tables Arrow's metadata uses, and checks that every table, vector
 * and string lies inside the metadata, every body inside the stream, every
 * buffer inside its body, and every length within the row limit. After it,
 * apache-arrow's work is bounded by the size of the body.
 *
 * @module
 */

/** What {@link checkArrowStreamBounds} found. */
export type StreamBounds =
  | { ok: true; rows: number }
  | { ok: false; message: string; rows?: number };

class BoundsError extends Error {}

const MESSAGE_HEADER_SCHEMA = 1;
const MESSAGE_HEADER_DICTIONARY_BATCH = 2;
const MESSAGE_HEADER_RECORD_BATCH = 3;
const TYPE_TIMESTAMP = 10;
const MAX_FIELDS = 1024;
const MAX_DICTIONARY_ENTRIES = 1 << 24;
const MAX_DEPTH = 4;

/** A bounds-checked reader over one flatbuffer (a message's metadata). */
class Flatbuffer {
  readonly #view: DataView;
  readonly length: number;
  constructor(bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
  }
  #need(at: number, size: number): void {
    if (!(at >= 0 && at + size <= this.length)) {
      throw new BoundsError(`metadata reference at ${at} runs past its ${this.length} bytes`);
    }
  }
  u8(at: number): number {
    this.#need(at, 1);
    return this.#view.getUint8(at);
  }
  u16(at: number): number {
    this.#need(at, 2);
    return this.#view.getUint16(at, true);
  }
  i32(at: number): number {
    this.#need(at, 4);
    return this.#view.getInt32(at, true);
  }
  u32(at: number): number {
    this.#need(at, 4);
    return this.#view.getUint32(at, true);
  }
  i64(at: number): number {
    this.#need(at, 8);
    return Number(this.#view.getBigInt64(at, true));
  }
  /** Checks the table at `at` and its vtable; returns a field accessor. */
  table(at: number): Table {
    this.#need(at, 4);
    const vtable = at - this.i32(at);
    const vtableSize = this.u16(vtable);
    const tableSize = this.u16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new BoundsError("bad vtable size");
    this.#need(vtable, vtableSize);
    this.#need(at, tableSize);
    return new Table(this, at, vtable, vtableSize, tableSize);
  }
  /** Follows the offset stored at `at`. */
  deref(at: number): number {
    return at + this.u32(at);
  }
  /** Checks a vector of `elementSize`-byte elements at `at`; returns its length. */
  vector(at: number, elementSize: number): number {
    const length = this.u32(at);
    this.#need(at + 4, length * elementSize);
    return length;
  }
}

class Table {
  constructor(
    readonly fb: Flatbuffer,
    readonly at: number,
    readonly vtable: number,
    readonly vtableSize: number,
    readonly tableSize: number,
  ) {}
  /** Position of field `slot`, or -1 when absent; checks `size` bytes are inside the table. */
  field(slot: number, size: number): number {
    const entry = 4 + 2 * slot;
    if (entry >= this.vtableSize) return -1;
    const offset = this.fb.u16(this.vtable + entry);
    if (offset === 0) return -1;
    if (offset + size > this.tableSize) throw new BoundsError("field runs past its table");
    return this.at + offset;
  }
  scalar(slot: number, size: 1 | 2 | 4 | 8): number {
    const at = this.field(slot, size);
    if (at < 0) return 0;
    switch (size) {
      case 1:
        return this.fb.u8(at);
      case 2:
        return this.fb.u16(at);
      case 4:
        return this.fb.i32(at);
      case 8:
        return this.fb.i64(at);
    }
  }
  /** The table referenced by field `slot`, or null. */
  child(slot: number): Table | null {
    const at = this.field(slot, 4);
    return at < 0 ? null : this.fb.table(this.fb.deref(at));
  }
  /** Checks the vector of field `slot`; returns its position and length (0 when absent). */
  vector(slot: number, elementSize: number): { at: number; length: number } {
    const at = this.field(slot, 4);
    if (at < 0) return { at: -1, length: 0 };
    const start = this.fb.deref(at);
    return { at: start + 4, length: this.fb.vector(start, elementSize) };
  }
  string(slot: number): void {
    this.vector(slot, 1);
  }
  /** Checks each table of a vector of tables with `check`. */
  tables(slot: number, check: (table: Table) => void, max = Infinity): number {
    const { at, length } = this.vector(slot, 4);
    if (length > max) throw new BoundsError(`a list of ${length} entries is too long`);
    for (let i = 0; i < length; i++) check(this.fb.table(this.fb.deref(at + 4 * i)));
    return length;
  }
}

function checkKeyValues(table: Table, slot: number): void {
  table.tables(slot, (kv) => {
    kv.string(0);
    kv.string(1);
  }, MAX_FIELDS);
}

function checkField(field: Table, depth: number): void {
  field.string(0);
  field.scalar(1, 1);
  const typeType = field.scalar(2, 1);
  const type = field.child(3);
  if (type && typeType === TYPE_TIMESTAMP) type.string(1);
  const dictionary = field.child(4);
  if (dictionary) {
    dictionary.scalar(0, 8);
    const indexType = dictionary.child(1);
    if (indexType) {
      indexType.scalar(0, 4);
      indexType.scalar(1, 1);
    }
  }
  const children = field.tables(5, (child) => {
    if (depth >= MAX_DEPTH) throw new BoundsError("fields nest too deep");
    checkField(child, depth + 1);
  }, MAX_FIELDS);
  if (children > 0) throw new BoundsError("nested types are not accepted");
  checkKeyValues(field, 6);
}

/** Checks a RecordBatch table against its body; returns its row count. */
function checkRecordBatch(batch: Table, bodyLength: number, maxRows: number): number {
  const rows = batch.scalar(0, 8);
  if (!(rows >= 0)) throw new BoundsError(`a batch claims ${rows} rows`);
  if (rows > maxRows) return rows;
  const nodes = batch.vector(1, 16);
  for (let i = 0; i < nodes.length; i++) {
    const length = batch.fb.i64(nodes.at + 16 * i);
    const nulls = batch.fb.i64(nodes.at + 16 * i + 8);
    if (!(length >= 0 && length <= rows && nulls >= 0 && nulls <= length)) {
      throw new BoundsError(`column ${i} claims ${length} values (${nulls} null) in ${rows} rows`);
    }
  }
  const buffers = batch.vector(2, 16);
  for (let i = 0; i < buffers.length; i++) {
    const offset = batch.fb.i64(buffers.at + 16 * i);
    const length = batch.fb.i64(buffers.at + 16 * i + 8);
    if (!(offset >= 0 && length >= 0 && offset + length <= bodyLength)) {
      throw new BoundsError(
        `buffer ${i} (${offset}+${length}) lies outside its ${bodyLength}-byte body`,
      );
    }
  }
  const compression = batch.child(3);
  if (compression) {
    compression.scalar(0, 1);
    compression.scalar(1, 1);
  }
  batch.vector(4, 8);
  return rows;
}

/**
 * Walks every message of the stream. Returns the total number of record
 * batch rows, or what is wrong (with the rows counted so far when the
 * problem is the row limit).
 */
export function checkArrowStreamBounds(bytes: Uint8Array, maxRows: number): StreamBounds {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let rows = 0;
  let messages = 0;
  try {
    if (bytes.length >= 6 && new TextDecoder().decode(bytes.subarray(0, 6)) === "ARROW1") {
      throw new BoundsError("this is the Arrow file format: send the stream format");
    }
    while (at + 4 <= bytes.length) {
      let metadataLength = view.getInt32(at, true);
      at += 4;
      if (metadataLength === -1) {
        if (at + 4 > bytes.length) break;
        metadataLength = view.getInt32(at, true);
        at += 4;
      }
      if (metadataLength === 0) break; // end of stream
      if (metadataLength < 0 || at + metadataLength > bytes.length) {
        throw new BoundsError(
          `message ${messages} claims ${metadataLength} metadata bytes, ${
            bytes.length - at
          } remain`,
        );
      }
      const fb = new Flatbuffer(bytes.subarray(at, at + metadataLength));
      at += metadataLength;
      const message = fb.table(fb.u32(0));
      message.scalar(0, 2);
      const headerType = message.scalar(1, 1);
      const header = message.child(2);
      const bodyLength = message.scalar(3, 8);
      checkKeyValues(message, 4);
      if (!(bodyLength >= 0 && at + bodyLength <= bytes.length)) {
        throw new BoundsError(
          `message ${messages} claims a ${bodyLength}-byte body, ${bytes.length - at} remain`,
        );
      }
      if (!header) throw new BoundsError(`message ${messages} has no header`);
      switch (headerType) {
        case MESSAGE_HEADER_SCHEMA:
          header.scalar(0, 2);
          header.tables(1, (field) => checkField(field, 0), MAX_FIELDS);
          checkKeyValues(header, 2);
          header.vector(3, 8);
          break;
        case MESSAGE_HEADER_DICTIONARY_BATCH: {
          header.scalar(0, 8);
          const data = header.child(1);
          if (!data) throw new BoundsError(`dictionary message ${messages} has no data`);
          // A dictionary may hold more entries than one request's row limit (a
          // batch split after a 413 keeps its whole dictionary): it is bounded
          // only against absurd lengths, and its buffers are checked later.
          const maxEntries = Math.max(maxRows, MAX_DICTIONARY_ENTRIES);
          const entries = checkRecordBatch(data, bodyLength, maxEntries);
          if (entries > maxEntries) {
            throw new BoundsError(`a dictionary of ${entries} entries is over ${maxEntries}`);
          }
          header.scalar(2, 1);
          break;
        }
        case MESSAGE_HEADER_RECORD_BATCH: {
          const batchRows = checkRecordBatch(header, bodyLength, maxRows);
          rows += batchRows;
          if (rows > maxRows) {
            return { ok: false, rows, message: `the stream holds over ${maxRows} rows` };
          }
          break;
        }
        default:
          throw new BoundsError(
            `message ${messages} is of type ${headerType}, not a schema or a batch`,
          );
      }
      at += bodyLength;
      messages++;
    }
    if (messages === 0) throw new BoundsError("the stream holds no message");
  } catch (error) {
    if (error instanceof BoundsError) return { ok: false, message: error.message };
    throw error;
  }
  return { ok: true, rows };
}
