/**
 * A stored batch's gzip body: written in chunks of at most
 * {@link CHUNK_BYTES} under `["body", target, key, i]` (KV caps a value at
 * 65,536 bytes), shared by a pending batch and its dead letter, and read
 * back whole or refused as damaged. A batch stored before per-target keys
 * keeps its body where it was (`bodyKey` says where).
 *
 * @module
 */
import { concatBytes } from "@traffic-analyzer/shared";
import type { EncodedBatch } from "./batch_codec.ts";
import { OutboxError } from "./outbox_error.ts";
import { BODY } from "./outbox_keys.ts";
import type { StoredBatchInfo } from "./outbox_types.ts";

/** Bytes per chunk entry: under KV's 65,536-byte value cap with room for encoding overhead. */
export const CHUNK_BYTES = 64_000;

/** Chunk entries a body of `bytes` takes (one at least, an empty body too). */
export function chunkCount(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / CHUNK_BYTES));
}

/** Where a batch's (or dead letter's) body chunks are: `[...bodyPrefix, i]`. */
export function bodyPrefix(
  target: string,
  info: Pick<StoredBatchInfo, "key" | "bodyKey">,
): Deno.KvKey {
  return info.bodyKey ?? [BODY, target, info.key];
}

/** Adds a fresh body under `part` to `op`: `["body", part, key, i]`. */
export function writeBody(op: Deno.AtomicOperation, part: string, batch: EncodedBatch): void {
  const chunks = chunkCount(batch.body.length);
  for (let i = 0; i < chunks; i++) {
    op.set(
      [BODY, part, batch.key, i],
      batch.body.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
    );
  }
}

/**
 * Reads a stored body whole; throws an {@link OutboxError} when chunks or
 * bytes are missing (the metadata says how many there must be).
 */
export async function readBody(
  kv: Deno.Kv,
  part: string,
  info: Pick<StoredBatchInfo, "key" | "bodyKey" | "chunks" | "bodyBytes">,
): Promise<Uint8Array> {
  const { key, chunks, bodyBytes } = info;
  const parts: Uint8Array[] = [];
  for await (const entry of kv.list<Uint8Array>({ prefix: bodyPrefix(part, info) })) {
    parts.push(entry.value);
  }
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  if (parts.length !== chunks || total !== bodyBytes) {
    throw new OutboxError(
      `Stored batch ${key} is damaged: ${parts.length} of ${chunks} chunks, ${total} of ${bodyBytes} bytes`,
      { key },
    );
  }
  return concatBytes(parts);
}
