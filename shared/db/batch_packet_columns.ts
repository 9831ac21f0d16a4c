/**
 * The aggregator's side of `batch_packet_columns` (migrations/004): the
 * packet column blocks of the batches a pass takes, and their deletion once
 * the pass that aggregated them commits.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Sql } from "./open_database.ts";
import { pgArrayLiteral } from "./pg_array_literal.ts";

/** The smallest and largest of some ids (they bound the scan). */
function idRange(batchIds: readonly number[]): { min: number; max: number } {
  let min = batchIds[0];
  let max = batchIds[0];
  for (const id of batchIds) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  return { min, max };
}

/**
 * The blocks of the given batches that have one, by batch id, as stored
 * (compressed, see stored_packet_columns.ts): a pass keeps these, a few
 * kilobytes a batch, and decompresses each batch only while it merges it, so
 * its memory does not grow with the packets it takes (issue 15). Batches
 * stored without a block (before migration 004) are absent: the aggregator
 * reads their rows, as it does for a block that does not decompress.
 *
 * The blocks travel as base64 text: postgres.js receives bytea as hex, twice
 * the size, and parsing that took twice as long (1.1 s against 0.5 s for
 * 1.25 M packets). Binary COPY would be faster still, but postgres.js can
 * leave the connection stalled after a COPY TO STDOUT (porsager/postgres#917),
 * and PGlite's socket server stalled on it too.
 */
export async function readStoredBatchPacketColumns(
  tx: Sql,
  batchIds: readonly number[],
): Promise<Map<number, Uint8Array>> {
  const blocks = new Map<number, Uint8Array>();
  if (batchIds.length === 0) return blocks;
  const { min, max } = idRange(batchIds);
  // PostgreSQL breaks base64 into 76-character lines; Buffer skips the line breaks.
  // The range lets the primary key narrow the scan; the set picks the ids in it
  // (a pass can leave batches of the range for later, see aggregator/batch_selection.ts).
  await tx<{ batch_id: number; block: string }[]>`
    select batch_id, encode(block, 'base64') as block from batch_packet_columns
    where batch_id between ${min} and ${max}
      and batch_id in (select unnest(${pgArrayLiteral(batchIds)}::text::int8[]))`
    .forEach((row) => blocks.set(row.batch_id, Buffer.from(row.block, "base64")));
  return blocks;
}

/** Deletes the blocks of the given batches: the pass that read them commits them done. */
export async function deleteBatchPacketColumns(
  tx: Sql,
  batchIds: readonly number[],
): Promise<void> {
  if (batchIds.length === 0) return;
  const { min, max } = idRange(batchIds);
  await tx`
    delete from batch_packet_columns
    where batch_id between ${min} and ${max}
      and batch_id in (select unnest(${pgArrayLiteral(batchIds)}::text::int8[]))`;
}
