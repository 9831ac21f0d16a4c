/**
 * Raw-packet retention: drops whole day partitions of `raw_packets` once the
 * day lies entirely before the retention cut-off, and only when every batch
 * received that day has been aggregated.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";

/** Options for {@link dropExpiredRawPackets}. */
export interface DropExpiredRawPacketsOptions {
  /** Days raw packets are kept after they were received. */
  retentionDays: number;
  /** Current time, epoch ms. */
  nowMs: number;
}

/** What retention did. */
export interface RetentionResult {
  /** Partitions dropped. */
  dropped: string[];
  /** Expired partitions kept, and why. */
  kept: { partition: string; reason: string }[];
  /** ingest_batches rows removed with their packets. */
  batchesRemoved: number;
}

const DAY_MS = 86_400_000;
const PARTITION_NAME = /^raw_packets_(\d{4})(\d{2})(\d{2})$/;

/**
 * Drops expired partitions. A partition is expired when its whole day (UTC,
 * by ingestion time) ends at or before `now - retentionDays`. One still
 * holding a batch the aggregator has not passed is kept, so retention never
 * deletes packets that were not aggregated. Runs under a transaction-scoped
 * advisory lock, so concurrent runs from several aggregators are safe.
 */
export async function dropExpiredRawPackets(
  sql: Sql,
  options: DropExpiredRawPacketsOptions,
): Promise<RetentionResult> {
  if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) {
    throw new RangeError(
      `Cannot enforce retention as 'retentionDays' must be a whole number of days >= 1: ` +
        `current value is ${options.retentionDays}`,
    );
  }
  const cutoffMs = options.nowMs - options.retentionDays * DAY_MS;
  return await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('traffic_analyzer_retention:' || current_schema()))`;
    const partitions = await tx<{ name: string }[]>`
      select c.relname as name
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = to_regclass(format('%I.raw_packets', current_schema()))
      order by c.relname`;
    const result: RetentionResult = { dropped: [], kept: [], batchesRemoved: 0 };
    for (const { name } of partitions) {
      const match = PARTITION_NAME.exec(name);
      if (!match) continue;
      const dayEndMs = Date.UTC(+match[1], +match[2] - 1, +match[3]) + DAY_MS;
      if (dayEndMs > cutoffMs) continue;
      const dayEnd = new Date(dayEndMs);
      const [pending]: [{ n: number }] = await tx`
        select count(*)::int8 as n
        from ingest_batches b, aggregator_progress p
        where b.received_at < ${dayEnd}
          and b.id > p.last_batch_id and not b.aggregated`;
      if (pending.n > 0) {
        result.kept.push({ partition: name, reason: `${pending.n} batches not yet aggregated` });
        continue;
      }
      await tx`select raw_packets_drop_partition(${name})`;
      const removed = await tx`delete from ingest_batches where received_at < ${dayEnd}`;
      result.batchesRemoved += removed.count;
      result.dropped.push(name);
    }
    return result;
  }) as RetentionResult;
}
