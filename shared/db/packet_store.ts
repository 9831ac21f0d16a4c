/**
 * Stores an ingest batch: its `ingest_batches` row, its packet column block
 * and all its `raw_packets` rows in one transaction, exactly once per
 * idempotency key.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { withPacketColumnBlock } from "../packet/packet_columns.ts";
import { compressPacketColumnBlock } from "../packet/stored_packet_columns.ts";
import type { ColumnarBatch } from "../packet/columnar_batch.ts";
import { ColumnarBatchBuilder } from "../packet/columnar_batch_builder.ts";
import { limitIdleAndHoldIngestLockShared } from "./ingest_lock.ts";
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from "./copy_binary_rows.ts";
import { embeddedPglite } from "./open_database.ts";
import {
  encodeRawPacketCopy,
  rawPacketCopyLayout,
  releaseRawPacketCopy,
} from "./raw_packet_copy.ts";
import { copyPartsIn } from "./copy_parts_in.ts";
import { storedPacketsMatch } from "./stored_packets_match.ts";

/** A validated batch to store. */
export interface PacketBatch {
  /** Name of the sending agent. */
  agentId: string;
  /** Makes the batch exactly-once: a repeat with the same key stores nothing. */
  idempotencyKey: string;
  /** SHA-256 (hex) of the body as sent, to tell a repeat from a conflict. */
  bodySha256: string;
  /** The records, already validated. */
  records: PacketRecord[];
  /** Its place in the agent's capture; null keeps the commit order. @default null */
  order?: BatchOrder | null;
}

/**
 * Where a batch stands in its agent's capture: the stream it belongs to (a
 * capture file, or the agent's live capture) and the position of its first
 * packet there. The next batch of the stream starts at `sequence` plus this
 * batch's packet count; the aggregator merges a stream's batches in that
 * order, whatever order they were stored in.
 */
export interface BatchOrder {
  /** Names the stream within the agent: 1 to 100 printable ASCII characters. */
  stream: string;
  /** Position of the batch's first packet in the stream, from 0. */
  sequence: number;
}

/** What happened to a batch. */
export type StoreResult =
  | { status: "stored"; batchId: number; stored: number }
  | { status: "duplicate"; batchId: number }
  | { status: "conflict"; batchId: number };

const ensuredDays = new WeakMap<Sql, Set<string>>();
const DAY_MS = 86_400_000;

/**
 * Makes sure the partitions for yesterday, today and tomorrow (UTC) exist.
 * Rows take `received_at = now()` from the database clock, so a small skew
 * between this process and the database around midnight is covered.
 */
export async function ensureRawPacketPartitions(
  sql: Sql,
  nowMs: number,
): Promise<void> {
  let days = ensuredDays.get(sql);
  if (!days) ensuredDays.set(sql, days = new Set());
  const today = new Date(nowMs).toISOString().slice(0, 10);
  if (days.has(today)) return;
  for (const offset of [-1, 0, 1]) {
    const day = new Date(nowMs + offset * DAY_MS).toISOString().slice(0, 10);
    await sql`select raw_packets_ensure_partition(${day}::date)`;
  }
  days.add(today);
}

/** Forgets which partitions exist, e.g. after retention dropped some. */
export function forgetRawPacketPartitions(sql: Sql): void {
  ensuredDays.delete(sql);
}

/** What ingest is doing on a database handle, for work that shares its session. */
export interface IngestActivity {
  /** Batches being stored now: encoding, waiting for the session, or in their transaction. */
  storing: number;
  /** When the last of them ended (`performance.now()`), or null before the first. */
  lastEndedMs: number | null;
}

const activities = new WeakMap<Sql, IngestActivity>();

/**
 * What ingest is doing on `sql` (the handle {@link storeColumnarBatch} was
 * given). On PGlite the aggregator in the same process reads it to let a
 * batch that waits for the single session go first (aggregator_service.ts).
 */
export function ingestActivity(sql: Sql): Readonly<IngestActivity> {
  return activities.get(sql) ?? { storing: 0, lastEndedMs: null };
}

/** Options for {@link storePacketBatch}. */
export interface StorePacketBatchOptions {
  /** Current time, for partition upkeep. @default Date.now() */
  nowMs?: number;
  /**
   * Awaited after the rows are written, before the commit; tests use it to
   * hold a batch's transaction open. @default none
   */
  beforeCommit?: () => Promise<void>;
  /**
   * Awaited once the transaction holds the ingest lock, before the batch's
   * first row; tests use it to stand for a client that stops there. @default none
   */
  afterLock?: () => Promise<void>;
  /**
   * PostgreSQL ends the batch's session when its transaction sits idle this
   * long, releasing the ingest lock (see `INGEST_LOCK_IDLE_LIMIT_MS`).
   * @default INGEST_LOCK_IDLE_LIMIT_MS (30 s)
   */
  idleLimitMs?: number;
}

/** A validated batch held as columns (the Arrow path, and JSON once converted). */
export interface ColumnarPacketBatch {
  /** Name of the sending agent. */
  agentId: string;
  /** Makes the batch exactly-once: a repeat with the same key stores nothing. */
  idempotencyKey: string;
  /** SHA-256 (hex) of the body as sent, to tell a repeat from a conflict. */
  bodySha256: string;
  /** The packets, already validated. */
  batch: ColumnarBatch;
  /** Its place in the agent's capture; null keeps the commit order. @default null */
  order?: BatchOrder | null;
}

/**
 * Stores a batch of records in one transaction and returns only after it
 * committed: {@link storeColumnarBatch} after turning the records into
 * columns.
 */
export async function storePacketBatch(
  sql: Sql,
  batch: PacketBatch,
  options: StorePacketBatchOptions = {},
): Promise<StoreResult> {
  const builder = new ColumnarBatchBuilder(Math.max(1, batch.records.length));
  for (const record of batch.records) builder.appendRecord(record);
  return await storeColumnarBatch(sql, {
    agentId: batch.agentId,
    idempotencyKey: batch.idempotencyKey,
    bodySha256: batch.bodySha256,
    batch: builder.build(),
    order: batch.order ?? null,
  }, options);
}

/**
 * Stores a batch in one transaction and returns only after it committed: its
 * `ingest_batches` row, its packet column block and its `raw_packets` rows,
 * the rows by binary COPY (on PGlite through its own `COPY FROM
 * '/dev/blob'`, inside the same transaction). A repeated key is a
 * `duplicate` (nothing stored) when the body as sent is the same (its
 * SHA-256), or else when the packets it holds are those stored under the key
 * (compared by {@link storedPacketsMatch}: an agent that switched wire
 * formats or compression between attempts); otherwise a `conflict`. Throws
 * `RawPacketCopyError` for a value `raw_packets` cannot hold, before the
 * transaction starts.
 */
export async function storeColumnarBatch(
  sql: Sql,
  input: ColumnarPacketBatch,
  options: StorePacketBatchOptions = {},
): Promise<StoreResult> {
  let activity = activities.get(sql);
  if (!activity) activities.set(sql, activity = { storing: 0, lastEndedMs: null });
  activity.storing++;
  try {
    return await storeInTransaction(sql, input, options);
  } finally {
    activity.storing--;
    activity.lastEndedMs = performance.now();
  }
}

async function storeInTransaction(
  sql: Sql,
  input: ColumnarPacketBatch,
  options: StorePacketBatchOptions,
): Promise<StoreResult> {
  await ensureRawPacketPartitions(sql, options.nowMs ?? Date.now());
  const layout = await rawPacketCopyLayout(sql);
  // Encoded before the transaction, which holds the ingest lock.
  const copy = encodeRawPacketCopy(input.batch, layout);
  // Compressed here, not by PostgreSQL: its CPU is what limits ingest.
  const block = withPacketColumnBlock(input.batch, compressPacketColumnBlock);
  const pglite = embeddedPglite(sql);
  return await sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    // A transaction its client abandoned must not hold the lock below forever.
    // (PostgreSQL arms this timer only after a statement's Sync, so not while a
    // COPY's end waits for the next message; the lock statement is where the
    // abandoned transactions were found.) The lock is held until commit: the
    // aggregator's horizon waits for batches in flight. One statement, one
    // round trip.
    await limitIdleAndHoldIngestLockShared(tx, options.idleLimitMs);
    await options.afterLock?.();
    // The batch row; a repeated key inserts nothing. raw_packets takes
    // batch_id and agent_id from the two settings (migration 013), set by the
    // same statement for the rest of the transaction.
    const [created]: [{ id: number }?] = await tx`
      insert into ingest_batches
        (agent_id, idempotency_key, record_count, body_sha256, stream, sequence)
      values (${input.agentId}, ${input.idempotencyKey}, ${input.batch.count},
        ${input.bodySha256}, ${input.order?.stream ?? null},
        ${input.order?.sequence ?? null})
      on conflict (idempotency_key) do nothing
      returning id,
        set_config('traffic.ingest_batch_id', id::text, true) as batch_setting,
        set_config('traffic.ingest_agent_id', agent_id, true) as agent_setting`;
    if (!created) {
      const [existing]: [{ id: number; body_sha256: string }] = await tx`
        select id, body_sha256 from ingest_batches
        where idempotency_key = ${input.idempotencyKey}`;
      const same = existing.body_sha256 === input.bodySha256 ||
        await storedPacketsMatch(tx, {
          batchId: existing.id,
          count: input.batch.count,
          copy,
          layout,
          pglite,
        });
      return { status: same ? "duplicate" : "conflict", batchId: existing.id } as StoreResult;
    }
    // The packet column block (what the aggregator reads) and the rows, both by
    // binary COPY: a bytea parameter travels as hex text, twice its size, and
    // inserting a block of 5,000 packets that way took 3-4 times as long.
    // On PGlite both run in its one session, so inside this open transaction.
    await copyPartsIn(tx, {
      pglite,
      table: "batch_packet_columns",
      columns: ["batch_id", "block"],
      parts: packetColumnBlockCopy(created.id, block),
    });
    await copyPartsIn(tx, { pglite, table: "raw_packets", columns: layout.columns, parts: [copy] });
    await options.beforeCommit?.();
    return { status: "stored", batchId: created.id, stored: input.batch.count };
  }).then((result) => {
    // Its COPY has ended, so the next batch can write into its buffer; after
    // a failure a write of it may still be pending, so it is left to the GC.
    releaseRawPacketCopy(copy);
    return result;
  }) as StoreResult;
}

/**
 * The binary COPY data of one `batch_packet_columns` row, in three parts so
 * the block itself is not copied: the header with the batch id and the
 * block's length, the block, the trailer.
 */
function packetColumnBlockCopy(batchId: number, block: Uint8Array): Uint8Array[] {
  const head = new Uint8Array(COPY_BINARY_HEADER.length + 2 + 4 + 8 + 4);
  const view = new DataView(head.buffer);
  head.set(COPY_BINARY_HEADER, 0);
  const at = COPY_BINARY_HEADER.length;
  view.setInt16(at, 2);
  view.setInt32(at + 2, 8);
  view.setBigInt64(at + 6, BigInt(batchId));
  view.setInt32(at + 14, block.length);
  return [head, block, COPY_BINARY_TRAILER];
}
