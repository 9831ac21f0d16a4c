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

/**
 * Encodes a batch as an Arrow IPC stream (uncompressed; the body is
 * compressed as a whole by the caller).
 */
export function encodeArrowBatch(batch: ColumnarBatch): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.write(arrowRecordBatch(batch));
  writer.finish();
  return writer.toUint8Array(true);
}
