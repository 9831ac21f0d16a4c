/**
 * Writes a {@linkcode ColumnarBatch} as one Arrow IPC stream (schema,
 * dictionaries, one record batch): the agent's body on the wire. The Arrow
 * vectors are made straight over the batch's typed arrays, so the writer
 * copies each buffer once into the stream and touches no value one by one;
 * only the dictionaries (the distinct strings of the batch) are encoded here.
 *
 * @module
 */
import {
  makeData,
  makeVector,
  RecordBatch,
  RecordBatchStreamWriter,
  Struct,
  Utf8,
} from "apache-arrow";
import type { Data, DataType, Dictionary } from "apache-arrow";
import type { ArrayBufferViewInput } from "apache-arrow/util/buffer";
import type { ColumnarBatch } from "./columnar_batch.ts";
import { PACKET_ARROW_SCHEMA } from "./arrow_schema.ts";

const encoder = new TextEncoder();
const UTF8 = new Utf8();

/** Set bits of each byte value. */
const BITS_SET = Uint8Array.from({ length: 256 }, (_, byte) => {
  let set = 0;
  for (let b = byte; b !== 0; b >>= 1) set += b & 1;
  return set;
});

/**
 * Set bits among the first `count` of `bitmap`: a byte at a time, then the
 * last byte's bits one by one. Every nullable column of every batch is
 * counted (23 app columns among them), so a bit at a time was a loop of
 * five thousand steps per column.
 */
function popcount(bitmap: Uint8Array, count: number): number {
  let set = 0;
  const whole = count >> 3;
  for (let b = 0; b < whole; b++) set += BITS_SET[bitmap[b]];
  for (let i = whole << 3; i < count; i++) set += (bitmap[i >> 3] >> (i & 7)) & 1;
  return set;
}

/**
 * The first `count` bits of `bitmap`, with the rest of the last byte cleared:
 * a builder reuses its bitmaps, and bits left from an earlier batch must not
 * make the same packets encode to different bytes (a rerun of a file would
 * then send another body under the same idempotency key).
 */
function bitmapOf(bitmap: Uint8Array, count: number): Uint8Array {
  const bytes = (count + 7) >> 3;
  if (count & 7) bitmap[bytes - 1] &= (1 << (count & 7)) - 1;
  return bitmap.subarray(0, bytes);
}

function utf8Vector(strings: readonly string[]) {
  const offsets = new Int32Array(strings.length + 1);
  let size = 0;
  for (const s of strings) size += s.length * 3;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < strings.length; i++) {
    at += encoder.encodeInto(strings[i], bytes.subarray(at)).written;
    offsets[i + 1] = at;
  }
  return makeVector(
    makeData({
      type: UTF8,
      length: strings.length,
      valueOffsets: offsets,
      data: bytes.subarray(0, at),
    }),
  );
}

/** Builds the record batch over the columns' arrays (no copy of their values). */
export function arrowRecordBatch(batch: ColumnarBatch): RecordBatch {
  const count = batch.count;
  const children: Data[] = PACKET_ARROW_SCHEMA.fields.map((field, c) => {
    const column = batch.columns[c];
    const type = field.type as DataType;
    const validity = column.validity;
    const nullBitmap = validity === null ? undefined : bitmapOf(validity, count);
    const nullCount = validity === null ? 0 : count - popcount(validity, count);
    switch (column.storage) {
      case "bool":
        return makeData({
          type,
          length: count,
          nullCount,
          nullBitmap,
          data: bitmapOf(column.bits, count),
        } as never);
      case "string":
        return makeData({
          type: type as Dictionary,
          length: count,
          nullCount,
          nullBitmap,
          data: column.indices.subarray(0, count),
          dictionary: utf8Vector(column.dictionary),
        } as never);
      case "binary":
        return makeData({
          type,
          length: count,
          nullCount,
          nullBitmap,
          valueOffsets: column.offsets.subarray(0, count + 1),
          data: column.bytes.subarray(0, column.offsets[count]),
        } as never);
      default:
        return makeData({
          type,
          length: count,
          nullCount,
          nullBitmap,
          data: column.values.subarray(0, count),
        } as never);
    }
  });
  return new RecordBatch(
    PACKET_ARROW_SCHEMA,
    makeData({
      type: new Struct(PACKET_ARROW_SCHEMA.fields),
      length: count,
      nullCount: 0,
      children,
    }),
  );
}

/** A buffer {@link withArrowBatch} writes streams into, kept from call to call. */
let scratch: Uint8Array | null = null;
/** Whether a {@link withArrowBatch} call is using {@link scratch} (a nested call gets its own). */
let scratchInUse = false;
/** A larger stream (a batch far above 5,000 packets) is written into a buffer of its own. */
const MAX_SCRATCH_BYTES = 16 << 20;
/** The first buffer's size; it doubles as a stream needs. */
const FIRST_BUFFER_BYTES = 256 << 10;

/**
 * The stream writer of Arrow, but writing each chunk (message headers, the
 * columns' buffers, padding) straight into one buffer rather than queueing
 * them to be joined into a new one at the end. Every byte up to `length` is
 * written by a chunk, so nothing is left of what the buffer held before.
 */
class BufferStreamWriter extends RecordBatchStreamWriter {
  bytes: Uint8Array;
  length = 0;

  constructor(bytes: Uint8Array) {
    super();
    this.bytes = bytes;
  }

  protected override _write(chunk: ArrayBufferViewInput): this {
    if (!this._started) return this;
    if (!ArrayBuffer.isView(chunk)) {
      throw new TypeError(`Cannot write an Arrow stream chunk that is not bytes: ${typeof chunk}`);
    }
    const size = chunk.byteLength;
    if (size === 0) return this;
    const end = this.length + size;
    if (end > this.bytes.length) {
      let grown = this.bytes.length * 2;
      while (grown < end) grown *= 2;
      const bytes = new Uint8Array(grown);
      bytes.set(this.bytes.subarray(0, this.length));
      this.bytes = bytes;
    }
    this.bytes.set(new Uint8Array(chunk.buffer, chunk.byteOffset, size), this.length);
    this.length = end;
    this._position += size;
    return this;
  }
}

function writeStream(batch: ColumnarBatch, into: Uint8Array): BufferStreamWriter {
  const writer = new BufferStreamWriter(into);
  writer.write(arrowRecordBatch(batch));
  writer.finish();
  return writer;
}

/**
 * Encodes a batch as an Arrow IPC stream (uncompressed; the body is
 * compressed as a whole by the caller).
 */
export function encodeArrowBatch(batch: ColumnarBatch): Uint8Array {
  const writer = writeStream(batch, new Uint8Array(FIRST_BUFFER_BYTES));
  return writer.bytes.slice(0, writer.length);
}

/**
 * Encodes the batch's stream as {@link encodeArrowBatch} does and hands it
 * to `use`, whose result it returns; the stream is written into a buffer
 * reused by the next call, so `use` must be done with it when it returns
 * (the agent compresses it at once). A new 1.5 MB buffer a batch cost page
 * faults and zeroing on top of writing it.
 */
export function withArrowBatch<T>(batch: ColumnarBatch, use: (stream: Uint8Array) => T): T {
  if (scratchInUse) {
    const stream = encodeArrowBatch(batch);
    return use(stream);
  }
  scratchInUse = true;
  try {
    const writer = writeStream(batch, scratch ?? new Uint8Array(FIRST_BUFFER_BYTES));
    if (writer.bytes.length <= MAX_SCRATCH_BYTES) scratch = writer.bytes;
    return use(writer.bytes.subarray(0, writer.length));
  } finally {
    scratchInUse = false;
  }
}
