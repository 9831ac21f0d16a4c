/**
 * The wire form of a batch: an Arrow IPC stream of its columns, compressed
 * with zstd, encoded once when the batch is made and kept byte for byte
 * through retries, the outbox and replays. Bodies stored by an older agent
 * (gzip JSON) are still read, sent and split as they are: the body's first
 * bytes say which it is (zstd's or gzip's magic number).
 *
 * A batch whose compressed body would be too large to store in the outbox in
 * one atomic Deno KV write is split in halves before it is ever sent, with
 * keys derived from its own (`key/0`, `key/1`). Splitting only before the
 * first attempt (or after a 413, when the server stored nothing) keeps
 * delivery exactly-once: a key the server may have seen is never re-cut.
 *
 * @module
 */
import { gunzipSync, gzipSync, zstdDecompressSync } from "node:zlib";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { zstdCompress } from "@traffic-analyzer/shared/zstd";
import {
  batchRecords,
  type ColumnarBatch,
  ColumnarBatchBuilder,
  readArrowBatch,
  withArrowBatch,
} from "@traffic-analyzer/shared/packet";
import type { PacketBatch } from "./batcher.ts";

/** The body's format, for the request's headers. */
export interface BodyFormat {
  /** Content-Type. */
  contentType: string;
  /** Content-Encoding. */
  contentEncoding: string;
}

const ARROW_ZSTD: BodyFormat = {
  contentType: "application/vnd.apache.arrow.stream",
  contentEncoding: "zstd",
};
const JSON_GZIP: BodyFormat = { contentType: "application/json", contentEncoding: "gzip" };

/** Which format a body is in, from its magic number: zstd Arrow (this agent) or gzip JSON (older). */
export function bodyFormatOf(body: Uint8Array): BodyFormat {
  return body[0] === 0x1f && body[1] === 0x8b ? JSON_GZIP : ARROW_ZSTD;
}

/**
 * Where a batch stands in the agent's capture, sent as `X-Batch-Stream` and
 * `X-Batch-Sequence`: the stream (a capture file, or the agent's live
 * capture) and the position of the batch's first packet in it. The server's
 * aggregator merges each stream's batches in this order, whatever order
 * they arrive in (an outage's batches come late from the outbox).
 */
export interface BatchOrder {
  /** `file-<file id>` for `--read`, `live-<id>` for live capture (see live_stream.ts). */
  stream: string;
  /** Position of the batch's first packet in the stream, from 0. */
  sequence: number;
}

/** A batch ready to send: its key and the exact body bytes every attempt sends. */
export interface EncodedBatch {
  /** Idempotency key. */
  key: string;
  /** Number of records in the body. */
  records: number;
  /** zstd of the Arrow IPC stream of the records (gzip JSON from an older agent). */
  body: Uint8Array;
  /** When the original batch was made, epoch ms. */
  createdAtMs: number;
  /** Its place in the capture; absent or null from an older agent's outbox. */
  order?: BatchOrder | null;
}

/** The order of the second half of a batch split at `half` (the first keeps the whole's). */
function secondHalfOrder(order: BatchOrder | null | undefined, half: number): BatchOrder | null {
  return order ? { stream: order.stream, sequence: order.sequence + half } : null;
}

/**
 * Largest compressed body kept whole: 12 chunks of 64,000 bytes, which with
 * the keys and metadata stays under Deno KV's 819,200-byte limit on one
 * atomic operation. One record (at most 262,144 captured bytes) always fits,
 * so splitting ends.
 */
export const MAX_BATCH_BODY_BYTES = 12 * 64_000;

/**
 * zstd level 1. Measured here (2 loaded cores, batches of 5,000 packets of
 * the lab captures with header bytes): Arrow + zstd 1 about 250-290k
 * packets/s at 30 bytes a packet, Arrow + gzip 1 180-230k at 41 bytes,
 * Arrow's own per-buffer ZSTD compression 180-215k at 32 bytes, and the
 * JSON + gzip it replaces 50-60k at 72 bytes. Compression runs in a worker
 * for live capture (`WorkerBatchEncoder`) and on the reading thread for a
 * file, where its speed bounds the read's packet rate.
 */
const ZSTD_LEVEL = 1;

/** WIRE_FORMAT: `arrow` (zstd Arrow IPC) or `json` (gzip JSON, for an older server). */
export type WireFormat = "arrow" | "json";

/** Options for {@link encodeBatch}. */
export interface EncodeBatchOptions {
  /** Split bodies larger than this. @default MAX_BATCH_BODY_BYTES */
  maxBodyBytes?: number;
  /** Body format. @default "arrow" */
  format?: WireFormat;
}

function encodeColumns(columns: ColumnarBatch, format: WireFormat = "arrow"): Uint8Array {
  const compressed = format === "json"
    // A record object per packet: only for servers that cannot read Arrow.
    ? gzipSync(JSON.stringify(batchRecords(columns)), { level: 1 })
    // Compressed inside: the stream's buffer is reused by the next batch. The
    // frame declares its size, so the server decompresses it into one buffer of
    // that size instead of 16 KiB chunks it then joins.
    : withArrowBatch(columns, (stream) => zstdCompress(stream, ZSTD_LEVEL));
  return new Uint8Array(compressed.buffer, compressed.byteOffset, compressed.byteLength);
}

/** Rows `from..to` of a batch as a batch of their own (splitting only, so it may allocate). */
function sliceColumns(columns: ColumnarBatch, from: number, to: number): ColumnarBatch {
  const builder = new ColumnarBatchBuilder(Math.max(1, to - from));
  for (let i = from; i < to; i++) builder.appendRow(columns, i);
  return builder.build();
}

function encodeParts(
  key: string,
  columns: ColumnarBatch,
  createdAtMs: number,
  order: BatchOrder | null,
  options: Required<EncodeBatchOptions>,
  out: EncodedBatch[],
): void {
  const body = encodeColumns(columns, options.format);
  if (body.length <= options.maxBodyBytes || columns.count === 1) {
    out.push({ key, records: columns.count, body, createdAtMs, order });
    return;
  }
  const half = Math.floor(columns.count / 2);
  const first = sliceColumns(columns, 0, half);
  const second = sliceColumns(columns, half, columns.count);
  encodeParts(`${key}/0`, first, createdAtMs, order, options, out);
  encodeParts(`${key}/1`, second, createdAtMs, secondHalfOrder(order, half), options, out);
}

/**
 * Encodes a batch (synchronously: its columns are reused once the caller
 * returns); returns one part, or several with derived keys when the body is
 * over `maxBodyBytes`.
 */
export function encodeBatch(
  batch: Pick<PacketBatch, "key" | "columns" | "createdAtMs"> & { order?: BatchOrder | null },
  options: EncodeBatchOptions = {},
): EncodedBatch[] {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BATCH_BODY_BYTES;
  if (!(maxBodyBytes > 0)) {
    throw new RangeError(
      `Cannot encode batch as 'maxBodyBytes' must be positive: current value is ${maxBodyBytes}`,
    );
  }
  if (batch.columns.count === 0) {
    throw new RangeError(`Cannot encode batch ${batch.key} as it has no records`);
  }
  const out: EncodedBatch[] = [];
  const format = options.format ?? "arrow";
  encodeParts(batch.key, batch.columns, batch.createdAtMs, batch.order ?? null, {
    maxBodyBytes,
    format,
  }, out);
  return out;
}

/** The columns of a body, whichever format it is in. */
function decodeColumns(body: Uint8Array): ColumnarBatch {
  if (bodyFormatOf(body) === JSON_GZIP) {
    const records = JSON.parse(new TextDecoder().decode(gunzipSync(body))) as PacketRecord[];
    const builder = new ColumnarBatchBuilder(Math.max(1, records.length));
    for (const record of records) builder.appendRecord(record);
    return builder.build();
  }
  const result = readArrowBatch(new Uint8Array(zstdDecompressSync(body)), {
    maxRecords: Number.MAX_SAFE_INTEGER,
    maxDecompressedBytes: Number.MAX_SAFE_INTEGER,
  });
  if (!result.ok) throw new RangeError(`Cannot read a stored batch body: ${result.issue.message}`);
  return result.batch;
}

/** The records of an encoded body. */
export function decodeBatchBody(body: Uint8Array): PacketRecord[] {
  return batchRecords(decodeColumns(body));
}

/**
 * Splits an encoded batch of two or more records into halves with keys
 * `key/0` and `key/1`. Deterministic, so a batch split again after a crash
 * yields the same keys and bodies and the server recognises the repeats.
 */
export function splitEncodedBatch(batch: EncodedBatch): [EncodedBatch, EncodedBatch] {
  const columns = decodeColumns(batch.body);
  if (columns.count < 2) {
    throw new RangeError(`Cannot split batch ${batch.key} as it holds ${columns.count} record`);
  }
  const half = Math.floor(columns.count / 2);
  const parts = [sliceColumns(columns, 0, half), sliceColumns(columns, half, columns.count)];
  // The halves keep the whole's format: the server that refused it in size reads that one.
  const format: WireFormat = bodyFormatOf(batch.body) === JSON_GZIP ? "json" : "arrow";
  return parts.map((part, i) => ({
    key: `${batch.key}/${i}`,
    records: part.count,
    body: encodeColumns(part, format),
    createdAtMs: batch.createdAtMs,
    order: i === 0 ? batch.order ?? null : secondHalfOrder(batch.order, half),
  })) as [EncodedBatch, EncodedBatch];
}
