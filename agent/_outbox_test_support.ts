/**
 * What the outbox tests share: a KV store in a temporary directory, records
 * that do not compress, a batch of records, an upload failure and an outbox
 * whose queue stays quiet. Nothing here spawns a process. Private to this
 * folder.
 *
 * @module
 */
import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { encodeBatch, type EncodedBatch } from "./batch_codec.ts";
import { Outbox, type OutboxOptions } from "./outbox.ts";
import { columnsOf } from "./_test_support.ts";

/** Runs `fn` with a KV store of its own (and its path, to reopen it), removed afterwards. */
export async function withKv(fn: (kv: Deno.Kv, path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ta-outbox-" });
  const path = `${dir}/agent.kv`;
  const kv = await Deno.openKv(path);
  try {
    await fn(kv, path);
  } finally {
    try {
      kv.close();
    } catch {
      // A test that reopens the store has closed this handle already.
    }
    await Deno.remove(dir, { recursive: true });
  }
}

/** Records whose captured bytes do not compress. */
export function incompressible(count: number, dataBytes: number, seed = 1): PacketRecord[] {
  return sampleRecords(count, { seed }).map((r) => ({
    ...r,
    data: crypto.getRandomValues(new Uint8Array(dataBytes)).toBase64(),
  }));
}

/** The records as one encoded batch under `key`. */
export function batch(key: string, records: PacketRecord[]): EncodedBatch {
  const parts = encodeBatch({ key, columns: columnsOf(records), createdAtMs: 1 });
  assert.equal(parts.length, 1);
  return parts[0];
}

/** Why a batch is stored: its upload failed as a server without its database fails it. */
export const failed = { status: 503, reason: "HTTP 503: database unavailable" };

/** An outbox on `kv` with a cap of 1 GiB unless `options` say otherwise. */
export function outbox(kv: Deno.Kv, options: Partial<OutboxOptions> = {}): Outbox {
  // A long replay delay keeps the queue quiet unless a test listens.
  return new Outbox({ kv, maxBytes: 1 << 30, replayDelayMs: 3_600_000, ...options });
}
