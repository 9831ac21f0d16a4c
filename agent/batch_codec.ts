/**
 * The wire form of a batch: gzip-compressed JSON, encoded once when the batch
 * is made and kept byte for byte through retries, the outbox and replays.
 *
 * A batch whose compressed body would be too large to store in the outbox in
 * one atomic Deno KV write is split in halves before it is ever sent, with
 * keys derived from its own (`key/0`, `key/1`). Splitting only before the
 * first attempt (or after a 413, when the server stored nothing) keeps
 * delivery exactly-once: a key the server may have seen is never re-cut.
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import type { PacketBatch } from "./batcher.ts";

/** A batch ready to send: its key and the exact body bytes every attempt sends. */
export interface EncodedBatch {
  /** Idempotency key. */
  key: string;
  /** Number of records in the body. */
  records: number;
  /** gzip of the JSON array of records. */
  body: Uint8Array;
  /** When the original batch was made, epoch ms. */
  createdAtMs: number;
}

/**
 * Largest compressed body kept whole: 12 chunks of 64,000 bytes, which with
 * the keys and metadata stays under Deno KV's 819,200-byte limit on one
 * atomic operation. One record (at most 262,144 captured bytes, base64) always
 * fits, so splitting ends.
 */
export const MAX_BATCH_BODY_BYTES = 12 * 64_000;

/**
 * zlib level 1. Measured here on decoded packet records (100 per batch):
 * level 1 compresses about 400-600k records/s at a ratio of 9-10, level 3
 * about 270-350k at 13-17, the default level 6 about 155-180k at 15-22.
 * Compression runs on the capture thread, so its speed bounds the agent's
 * packet rate; the server's link rarely does.
 */
const GZIP_LEVEL = 1;

/** Options for {@link encodeBatch}. */
export interface EncodeBatchOptions {
  /** Split bodies larger than this. @default MAX_BATCH_BODY_BYTES */
  maxBodyBytes?: number;
}

function encodeRecords(records: readonly PacketRecord[]): Uint8Array {
  return new Uint8Array(gzipSync(JSON.stringify(records), { level: GZIP_LEVEL }));
}

function encodeParts(
  key: string,
  records: PacketRecord[],
  createdAtMs: number,
  maxBodyBytes: number,
  out: EncodedBatch[],
): void {
  const body = encodeRecords(records);
  if (body.length <= maxBodyBytes || records.length === 1) {
    out.push({ key, records: records.length, body, createdAtMs });
    return;
  }
  const half = Math.floor(records.length / 2);
  encodeParts(`${key}/0`, records.slice(0, half), createdAtMs, maxBodyBytes, out);
  encodeParts(`${key}/1`, records.slice(half), createdAtMs, maxBodyBytes, out);
}

/**
 * Compresses a batch; returns one part, or several with derived keys when
 * the body is over `maxBodyBytes`.
 */
export function encodeBatch(
  batch: Pick<PacketBatch, "key" | "records" | "createdAtMs">,
  options: EncodeBatchOptions = {},
): EncodedBatch[] {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BATCH_BODY_BYTES;
  if (!(maxBodyBytes > 0)) {
    throw new RangeError(
      `Cannot encode batch as 'maxBodyBytes' must be positive: current value is ${maxBodyBytes}`,
    );
  }
  if (batch.records.length === 0) {
    throw new RangeError(`Cannot encode batch ${batch.key} as it has no records`);
  }
  const out: EncodedBatch[] = [];
  encodeParts(batch.key, batch.records, batch.createdAtMs, maxBodyBytes, out);
  return out;
}

/** The records of an encoded body. */
export function decodeBatchBody(body: Uint8Array): PacketRecord[] {
  return JSON.parse(new TextDecoder().decode(gunzipSync(body))) as PacketRecord[];
}

/**
 * Splits an encoded batch of two or more records into halves with keys
 * `key/0` and `key/1`. Deterministic, so a batch split again after a crash
 * yields the same keys and bodies and the server recognises the repeats.
 */
export function splitEncodedBatch(batch: EncodedBatch): [EncodedBatch, EncodedBatch] {
  const records = decodeBatchBody(batch.body);
  if (records.length < 2) {
    throw new RangeError(`Cannot split batch ${batch.key} as it holds ${records.length} record`);
  }
  const half = Math.floor(records.length / 2);
  const parts = [records.slice(0, half), records.slice(half)];
  return parts.map((part, i) => ({
    key: `${batch.key}/${i}`,
    records: part.length,
    body: encodeRecords(part),
    createdAtMs: batch.createdAtMs,
  })) as [EncodedBatch, EncodedBatch];
}
