/**
 * A compact, column-oriented binary form of a batch of {@linkcode PacketRecord}s:
 * the "packet column block" that ingest stores next to a batch's raw rows and
 * the aggregator reads instead of them.
 *
 * Why: the aggregator needs every header field of every packet, and handing
 * a million rows of forty columns over the PostgreSQL protocol costs seconds
 * on both ends (each value printed by the server, parsed by the client, one
 * object per row). A block is written once, at ingest, where the records are
 * already in memory, and read back as one value per batch: the client slices
 * typed arrays out of it instead of parsing text.
 *
 * What it holds: every field of the record, except that `data` (the captured
 * bytes, for forensics) is kept only for ICMP and ICMPv6 packets, whose
 * errors quote the packet they answer; that is all flow assembly reads. The
 * full bytes stay in `raw_packets`.
 *
 * Layout (little-endian):
 *
 * | bytes         | content                                                  |
 * | ------------- | -------------------------------------------------------- |
 * | 0..4          | magic `TAPC`                                             |
 * | 4..8          | layout id: hash of the field list below                  |
 * | 8..12         | record count n                                           |
 * | 12..16        | width of a string index: 2 or 4                          |
 * | then, per field in {@link PACKET_FIELDS} order, aligned to its width:  |
 * |               | presence bitmap (nullable fields): ceil(n/8) bytes       |
 * |               | values: n × width (f64, u32, u16, u8, or string index)   |
 * | then          | string table: u32 count, u32 byte lengths, UTF-8 bytes   |
 *
 * Column widths come from each field's range in {@link PACKET_FIELDS}, so a
 * change to that table changes the layout id, and a block written by another
 * version is refused with {@linkcode PacketColumnsError} rather than misread
 * (the aggregator then reads that batch's rows).
 *
 * This file writes blocks. Reading them is in packet_columns_reader.ts, the
 * layout both follow in _packet_column_block.ts; the reader and
 * {@linkcode PacketColumnsError} are exported from here too.
 *
 * @module
 */
import type { PacketRecord } from "./packet_record.ts";
import { COLUMN_INDEX } from "./packet_column_layout.ts";
import { type ColumnarBatch, isPresent, type NumericColumn } from "./columnar_batch.ts";
import { ColumnarBatchBuilder } from "./columnar_batch_builder.ts";
import {
  assertLittleEndianHost,
  COLUMNS,
  LAYOUT_ID,
  MAGIC,
  planLayout,
  valueArray,
} from "./_packet_column_block.ts";

export * from "./packet_columns_error.ts";
export * from "./packet_columns_reader.ts";

const ICMP = 1;
const ICMPV6 = 58;
const IP_PROTO = COLUMN_INDEX.get("ip_proto")!;

/**
 * Encodes records (already validated against {@link PACKET_FIELDS}) into one
 * block. `data` is kept only for ICMP/ICMPv6 records.
 */
export function encodePacketColumns(records: readonly PacketRecord[]): Uint8Array {
  const builder = new ColumnarBatchBuilder(Math.max(1, records.length));
  for (const record of records) builder.appendRecord(record);
  return encodePacketColumnBlock(builder.build());
}

/**
 * Encodes a batch held as columns into one block: the ingest path, straight
 * from the columns it validated (typed arrays are converted natively, strings
 * are remapped from the batch's per-column dictionaries into the block's one
 * string table). `data` is kept only for ICMP/ICMPv6 packets.
 */
export function encodePacketColumnBlock(batch: ColumnarBatch): Uint8Array {
  return encodeBlock(batch, (total) => new ArrayBuffer(total));
}

/** A buffer {@link withPacketColumnBlock} writes blocks into, kept from call to call. */
let scratch: ArrayBuffer | null = null;
/** A larger block (a batch far above 5,000 packets) gets a buffer of its own. */
const MAX_SCRATCH_BYTES = 16 << 20;

/**
 * Encodes the batch's block as {@link encodePacketColumnBlock} does and hands
 * it to `use`, whose result it returns; the block is written into a buffer
 * reused by the next call, so `use` must not keep it (ingest compresses it
 * at once). A new 850 KB buffer a batch cost more in page faults than writing
 * the block.
 */
export function withPacketColumnBlock<T>(
  batch: ColumnarBatch,
  use: (block: Uint8Array) => T,
): T {
  const block = encodeBlock(batch, (total) => {
    if (total > MAX_SCRATCH_BYTES) return new ArrayBuffer(total);
    if (scratch === null || scratch.byteLength < total) {
      // With room to spare, so batches a little larger need no new one.
      scratch = new ArrayBuffer(Math.min(MAX_SCRATCH_BYTES, total + (total >> 2)));
    } else {
      // Padding, absent strings and bitmaps are written as zero nowhere else.
      new Uint8Array(scratch, 0, total).fill(0);
    }
    return scratch;
  });
  return use(block);
}

/** The block, written into the buffer `allocate` gives: zeroed, at least `total` bytes. */
function encodeBlock(
  batch: ColumnarBatch,
  allocate: (total: number) => ArrayBuffer,
): Uint8Array {
  assertLittleEndianHost();
  const count = batch.count;
  const strings = new Map<string, number>();
  const intern = (value: string) => {
    let index = strings.get(value);
    if (index === undefined) {
      index = strings.size;
      strings.set(value, index);
    }
    return index;
  };
  // The string table lists strings in the order they are first met: column by
  // column, a string column's dictionary in its order, `data` packet by packet.
  // A string column keeps its per-batch indexes, mapped through its entries'
  // block indexes as it is written.
  const remaps: (Int32Array | null)[] = new Array(COLUMNS.length).fill(null);
  let dataIndexes: Int32Array | null = null;
  COLUMNS.forEach((_, c) => {
    const column = batch.columns[c];
    if (column.storage === "string") {
      remaps[c] = Int32Array.from(column.dictionary, intern);
    } else if (column.storage === "binary") {
      const ipProto = batch.columns[IP_PROTO] as NumericColumn;
      const out = new Int32Array(count).fill(-1);
      for (let i = 0; i < count; i++) {
        const proto = isPresent(ipProto.validity, i) ? ipProto.values[i] : -1;
        if ((proto === ICMP || proto === ICMPV6) && isPresent(column.validity, i)) {
          out[i] = intern(
            column.bytes.subarray(column.offsets[i], column.offsets[i + 1]).toBase64(),
          );
        }
      }
      dataIndexes = out;
    }
  });
  const stringWidth = strings.size <= 0xffff ? 2 : 4;
  const layout = planLayout(count, stringWidth);

  const table = stringTable([...strings.keys()]);
  const total = layout.stringsAt + 4 + 4 * table.lengths.length + table.bytes.length;
  const buffer = allocate(total);
  const bytes = new Uint8Array(buffer, 0, total);
  const view = new DataView(buffer, 0, total);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, LAYOUT_ID, true);
  view.setUint32(8, count, true);
  view.setUint32(12, stringWidth, true);

  COLUMNS.forEach((blockColumn, c) => {
    const column = batch.columns[c];
    const bitmap = layout.bitmaps[c];
    const target = valueArray(buffer, blockColumn.storage, stringWidth, layout.values[c], count);
    if (column.storage === "binary") {
      const indexes = dataIndexes!;
      for (let i = 0; i < count; i++) {
        if (indexes[i] >= 0) {
          target[i] = indexes[i];
          if (bitmap >= 0) bytes[bitmap + (i >> 3)] |= 1 << (i & 7);
        }
      }
      return;
    }
    // A present value's bit is set; those past `count` in the last byte stay clear.
    if (bitmap >= 0) copyPresence(bytes, bitmap, column.validity, count);
    if (column.storage === "string") {
      writeStringIndexes(target, remaps[c]!, column.indices, column.validity, count);
    } else if (column.storage === "bool") {
      for (let i = 0; i < count; i++) target[i] = (column.bits[i >> 3] >> (i & 7)) & 1;
    } else {
      // Converts to the column's type natively; absent values are left as they are.
      target.set(column.values.subarray(0, count));
    }
  });

  let at = layout.stringsAt;
  view.setUint32(at, table.lengths.length, true);
  at += 4;
  for (const length of table.lengths) {
    view.setUint32(at, length, true);
    at += 4;
  }
  bytes.set(table.bytes, at);
  return bytes;
}

const encoder = new TextEncoder();

/**
 * The block's strings as UTF-8, one after the other, and each one's length
 * in bytes. All ASCII (what packets carry: names, addresses, ICMP payloads
 * in base64), they are encoded by one call into the encoder, where one a
 * string was 1-2 % of the server's ingest CPU.
 */
function stringTable(strings: readonly string[]): { bytes: Uint8Array; lengths: number[] } {
  const joined = strings.join("");
  const all = encoder.encode(joined);
  // Any other character takes more than one byte.
  if (all.length === joined.length) return { bytes: all, lengths: strings.map((s) => s.length) };
  const encoded = strings.map((s) => encoder.encode(s));
  const bytes = new Uint8Array(encoded.reduce((sum, piece) => sum + piece.length, 0));
  let at = 0;
  for (const piece of encoded) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return { bytes, lengths: encoded.map((piece) => piece.length) };
}

/**
 * The presence bits of the first `count` packets into the block at `at`, a
 * byte at a time: the batch's own bitmap (the same bit order), or every bit
 * when it has none. The block's buffer is zeroed, so its bitmap bytes are zero.
 */
function copyPresence(
  bytes: Uint8Array,
  at: number,
  validity: Uint8Array | null,
  count: number,
): void {
  const whole = count >> 3;
  const rest = count & 7;
  if (validity === null) {
    bytes.fill(0xff, at, at + whole);
    if (rest !== 0) bytes[at + whole] = (1 << rest) - 1;
    return;
  }
  bytes.set(validity.subarray(0, whole), at);
  if (rest !== 0) bytes[at + whole] = validity[whole] & ((1 << rest) - 1);
}

/**
 * Each present packet's string as its block index, skipping a byte of the
 * presence bitmap at a time where eight packets in a row have none (most app
 * columns); an absent packet's value stays 0.
 */
function writeStringIndexes(
  target: Float64Array | Uint32Array | Uint16Array | Uint8Array,
  remap: Int32Array,
  indices: Int32Array,
  validity: Uint8Array | null,
  count: number,
): void {
  if (validity === null) {
    for (let i = 0; i < count; i++) target[i] = remap[indices[i]];
    return;
  }
  for (let from = 0; from < count; from += 8) {
    const present = validity[from >> 3];
    if (present === 0) continue;
    const to = Math.min(count, from + 8);
    for (let i = from; i < to; i++) {
      if ((present & (1 << (i - from))) !== 0) target[i] = remap[indices[i]];
    }
  }
}
