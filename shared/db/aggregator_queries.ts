/**
 * The aggregator's reads and writes: batches past the watermark (in commit
 * order, with their place in their agent's capture), their packets, the
 * watermark itself and the status shown by `/health`. Where each stream
 * stands (stream_positions.ts), the flow upserts (upsert_flows.ts) and the
 * ingest lock (ingest_lock.ts) have modules of their own, re-exported here.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { rawPacketColumns, type RawPacketRow } from "./raw_packet_queries.ts";

// The ingest lock, the stream positions and the flow upserts, for importers
// of this module.
export * from "./ingest_lock.ts";
export * from "./stream_positions.ts";
export * from "./upsert_flows.ts";

/**
 * The aggregator's persisted progress, without the flow table (see
 * {@link readFlowTableState}: an instance that kept its table in memory
 * does not need it).
 */
export interface AggregatorProgress {
  /** Highest ingest batch id aggregated so far. */
  lastBatchId: number;
  /** Bumped whenever the saved flow table changes, so a cached table can be reused. */
  stateVersion: number;
  /** Packet time (epoch seconds) the flow table has reached, or null before the first packet. */
  flowClock: number | null;
  /** Wall time at which `flowClock` was reached, or null. */
  flowClockWall: Date | null;
  /** When the last pass finished, or null before the first. */
  lastPassAt: Date | null;
  /** Wall time of the last pass, ms, or null before the first. */
  lastPassDurationMs: number | null;
  /** The instance that ran the last pass, if it said. */
  lastPassBy: string | null;
  /** Milliseconds since the last pass by the database's clock; null before the first. */
  lastPassAgeMs: number | null;
  /** Packets aggregated since the start. */
  packetsAggregated: number;
  /** Flow rows written since the start. */
  flowsWritten: number;
}

/**
 * Takes the aggregator's transaction-scoped lock. Returns false when another
 * instance is inside a pass; the caller then skips its pass, so two
 * instances never aggregate the same batches. The key includes the schema:
 * advisory locks are per database, and each schema has its own aggregator.
 */
export async function tryLockAggregator(tx: Sql): Promise<boolean> {
  const [row]: [{ locked: boolean }] = await tx`
    select pg_try_advisory_xact_lock(hashtext('traffic_analyzer_aggregator:' || current_schema())) as locked`;
  return row.locked;
}

/** Reads the progress row, locking it for the rest of the transaction. */
export async function readAggregatorProgress(tx: Sql): Promise<AggregatorProgress> {
  const [row]: [{
    last_batch_id: number;
    state_version: number;
    flow_clock: number | null;
    flow_clock_wall: Date | null;
    last_pass_at: Date | null;
    last_pass_duration_ms: number | null;
    last_pass_by: string | null;
    last_pass_age_ms: number | null;
    packets_aggregated: number;
    flows_written: number;
  }] = await tx`
    select last_batch_id, state_version, flow_clock, flow_clock_wall, last_pass_at,
      last_pass_duration_ms, last_pass_by,
      (extract(epoch from now() - last_pass_at) * 1000)::float8 as last_pass_age_ms,
      packets_aggregated, flows_written
    from aggregator_progress where id = 1 for update`;
  return {
    lastBatchId: row.last_batch_id,
    stateVersion: row.state_version,
    flowClock: row.flow_clock,
    flowClockWall: row.flow_clock_wall,
    lastPassAt: row.last_pass_at,
    lastPassDurationMs: row.last_pass_duration_ms,
    lastPassBy: row.last_pass_by,
    lastPassAgeMs: row.last_pass_age_ms,
    packetsAggregated: row.packets_aggregated,
    flowsWritten: row.flows_written,
  };
}

/** The flow table stored by the last pass (opaque bytes), or null before the first. */
export async function readFlowTableState(tx: Sql): Promise<Uint8Array | null> {
  const [row]: [{ flow_table_state: Uint8Array | null }] = await tx`
    select flow_table_state from aggregator_progress where id = 1`;
  return row.flow_table_state;
}

/**
 * A batch stored and not aggregated yet, with what decides when a pass may
 * take it: its place in its agent's capture, when it carries one (see
 * `BatchOrder`), and how long it has waited.
 */
export interface PendingBatch {
  /** Ingest batch id. */
  id: number;
  /** Packets in the batch. */
  recordCount: number;
  /** The agent that sent the batch (`X-Agent-Id`): flows are kept apart per agent. */
  agentId: string;
  /** The stream it belongs to, or null for a batch without an order. */
  stream: string | null;
  /** Position of its first packet in the stream, or null. */
  sequence: number | null;
  /** Milliseconds since it was stored, by the database's clock. */
  ageMs: number;
}

/** Options for {@link readPendingBatches}. */
export interface ReadPendingBatchesOptions {
  /** The watermark: every batch up to it is aggregated. */
  afterBatchId: number;
  /** From {@link readIngestHorizon}: take no batch above it. */
  horizon: number;
  /** Most batches read. */
  limit: number;
}

/** Pending batches in id (= commit) order; `truncated` when more were left beyond `limit`. */
export type PendingBatches = PendingBatch[] & { truncated: boolean };

/**
 * Batches past the watermark and up to the horizon that no pass took yet, in
 * id (= commit) order, at most `limit`.
 */
export async function readPendingBatches(
  tx: Sql,
  options: ReadPendingBatchesOptions,
): Promise<PendingBatches> {
  const rows = await tx<{
    id: number;
    record_count: number;
    agent_id: string;
    stream: string | null;
    sequence: number | null;
    age_ms: number;
  }[]>`
    select id, record_count, agent_id, stream, sequence,
      greatest(0, extract(epoch from now() - received_at) * 1000)::float8 as age_ms
    from ingest_batches
    where id > ${options.afterBatchId} and id <= ${options.horizon} and not aggregated
    order by id
    limit ${options.limit + 1}`;
  const out = Object.assign([] as PendingBatch[], { truncated: rows.length > options.limit });
  for (const row of rows.slice(0, options.limit)) {
    out.push({
      id: row.id,
      recordCount: row.record_count,
      agentId: row.agent_id,
      stream: row.stream,
      sequence: row.sequence === null ? null : Number(row.sequence),
      ageMs: row.age_ms,
    });
  }
  return out;
}

/**
 * Marks batches taken by a pass above its new watermark (batches held back
 * below them keep the watermark down), so no later pass takes them again.
 */
export async function markBatchesAggregated(tx: Sql, batchIds: readonly number[]): Promise<void> {
  if (batchIds.length === 0) return;
  await tx`
    update ingest_batches set aggregated = true
    where id in (select unnest(${"{" + batchIds.join(",") + "}"}::text::int8[]))`;
}

/**
 * The packets of the given batches, batch by batch, each in the order the
 * batch carried them (ids within a batch follow it): the order their packet
 * column blocks give, so the pass puts both in capture-time order the same way.
 *
 * The ids join as a set (a hash semi-join; `= any(array)` compares each row
 * with every id), the range condition lets the BRIN index on batch_id narrow
 * the scan, and the sort happens here rather than in the database, where a
 * pass's million rows would spill to disk.
 */
export async function readBatchPackets(tx: Sql, batchIds: number[]): Promise<RawPacketRow[]> {
  if (batchIds.length === 0) return [];
  let min = batchIds[0];
  let max = batchIds[0];
  for (const id of batchIds) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  const rows = await tx<RawPacketRow[]>`
    select ${rawPacketColumns(tx)},
      -- Only ICMP bytes are needed: an error quotes the packet it answers,
      -- which ties it to its flow (the same rule training used).
      case when ip_proto in (1, 58) then encode(data, 'base64') end as data
    from raw_packets
    where batch_id between ${min} and ${max}
      and batch_id in (select unnest(${"{" + batchIds.join(",") + "}"}::text::int8[]))`;
  return [...rows].sort((a, b) => a.batch_id - b.batch_id || a.id - b.id);
}

/** Aggregator status for `/health` and `/metrics`. */
export interface AggregatorStatus {
  /** When the last pass finished, or null before the first. */
  lastPassAt: string | null;
  /** Wall time of the last pass, ms, or null before the first. */
  lastPassDurationMs: number | null;
  /** Packets stored but not yet aggregated. */
  lagPackets: number;
  /** Age of the oldest batch not yet aggregated, seconds (0 when none waits). */
  lagSec: number;
  /** Packets aggregated since the start. */
  packetsAggregated: number;
  /** Flow rows written since the start. */
  flowsWritten: number;
  /** Seconds since the last pass finished, by the database clock; null before the first. */
  sinceLastPassSec: number | null;
}

/** How far the aggregator is behind ingest. */
export async function readAggregatorStatus(sql: Sql): Promise<AggregatorStatus> {
  const [row]: [{
    last_pass_at: Date | null;
    last_pass_duration_ms: number | null;
    lag_packets: number;
    lag_sec: number | null;
    packets_aggregated: number;
    flows_written: number;
    since_last_pass_sec: number | null;
  }] = await sql`
    select p.last_pass_at, p.last_pass_duration_ms, p.packets_aggregated, p.flows_written,
      extract(epoch from now() - p.last_pass_at)::float8 as since_last_pass_sec,
      coalesce(sum(b.record_count), 0)::int8 as lag_packets,
      extract(epoch from now() - min(b.received_at))::float8 as lag_sec
    from aggregator_progress p
    left join ingest_batches b on b.id > p.last_batch_id and not b.aggregated
    where p.id = 1
    group by p.id`;
  return {
    lastPassAt: row.last_pass_at?.toISOString() ?? null,
    lastPassDurationMs: row.last_pass_duration_ms,
    lagPackets: row.lag_packets,
    lagSec: row.lag_sec ?? 0,
    packetsAggregated: row.packets_aggregated,
    flowsWritten: row.flows_written,
    sinceLastPassSec: row.since_last_pass_sec,
  };
}

/** What a pass records with its watermark. */
export interface ProgressUpdate {
  /** Highest ingest batch id aggregated so far. */
  lastBatchId: number;
  /** Bumped whenever the saved flow table changes, so a cached table can be reused. */
  stateVersion: number;
  /** Packet time (epoch seconds) the flow table has reached, or null before the first packet. */
  flowClock: number | null;
  /** Wall time at which `flowClock` was reached, or null. */
  flowClockWall: Date | null;
  /** The flow table state, serialised by the caller (opaque here). */
  flowTableState: Uint8Array;
  /** Wall time of this pass, ms. */
  passDurationMs: number;
  /** Packets this pass aggregated. */
  passPackets: number;
  /** Flow rows this pass wrote. */
  passFlows: number;
  /** The instance running the pass, or null when it does not say. */
  instanceId: string | null;
  /** Batches merged after a later batch of their stream. @default 0 */
  lateBatches?: number;
  /** Gaps in a stream the pass stopped waiting for. @default 0 */
  skippedGaps?: number;
}

/** Advances the watermark and stores the flow table, inside the pass's transaction. */
export async function saveAggregatorProgress(tx: Sql, update: ProgressUpdate): Promise<void> {
  await tx`
    update aggregator_progress set
      last_batch_id = ${update.lastBatchId},
      state_version = ${update.stateVersion},
      flow_clock = ${update.flowClock},
      flow_clock_wall = ${update.flowClockWall},
      flow_table_state = ${update.flowTableState},
      last_pass_at = now(),
      last_pass_by = ${update.instanceId},
      last_pass_duration_ms = ${update.passDurationMs},
      last_pass_packets = ${update.passPackets},
      last_pass_flows = ${update.passFlows},
      packets_aggregated = packets_aggregated + ${update.passPackets},
      flows_written = flows_written + ${update.passFlows},
      late_batches = late_batches + ${update.lateBatches ?? 0},
      skipped_gaps = skipped_gaps + ${update.skippedGaps ?? 0}
    where id = 1`;
}
