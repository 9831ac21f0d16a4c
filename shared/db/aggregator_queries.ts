/**
 * The aggregator's reads and writes: batches past the watermark (in commit
 * order, with their place in their agent's capture), where each stream
 * stands, their packets, flow upserts, the watermark itself and the status
 * shown by `/health`.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { rawPacketColumns, type RawPacketRow } from "./raw_packet_queries.ts";
import { pgArrayColumn, pgArrayLiteral } from "./pg_array_literal.ts";
import type { FeatureContribution } from "../explain/flow_explainer.ts";
import type { FlowAppFields } from "../flow/flow_app_fold.ts";
import type { FlowEnrichmentFields } from "../enrich/flow_enricher.ts";
import { FEATURE_VALUE_BYTES, writeFeatureVector } from "./feature_vector_bytes.ts";

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
 * How long a transaction that holds the ingest lock may sit idle (between
 * statements) before PostgreSQL ends its session, releasing the lock. Those
 * transactions send their statements back to back; one idle this long has
 * lost its client. That happens: after a PostgreSQL restart during ingest,
 * postgres.js can give up on a transaction as "connection closed" while its
 * new session stays open, idle in transaction with the lock held shared
 * (seen in fault step 4 under load). The aggregator's exclusive request then
 * waits for it, every later ingest queues behind that request, and without
 * this bound the server answered nothing until it was restarted.
 */
export const INGEST_LOCK_IDLE_LIMIT_MS = 30_000;

/**
 * The idle limit as a literal for `set_config`: at least 1 ms (0 would turn
 * the limit off). Written into the statement as digits, not sent as a
 * parameter: that is how fault step 4 passed. The hang that made it so (a
 * parameterized first statement left active on ClientRead after a restart)
 * turned out to be postgres.js's, a lost session's queued statement, since
 * patched in vendor/postgres (shared/db/socket_reset_test.ts); a parameter
 * would do now, but only the fault suite can show that.
 */
function idleLimitLiteral(tx: Sql, limitMs: number) {
  if (!Number.isFinite(limitMs)) throw new RangeError(`idle limit ${limitMs} ms is not finite`);
  return tx.unsafe(`'${Math.max(1, Math.trunc(limitMs))}ms'`);
}

/**
 * Bounds the idle time of the transaction `tx` (see
 * {@link INGEST_LOCK_IDLE_LIMIT_MS}): call it first in a transaction that
 * takes the ingest lock.
 */
export async function limitIdleInTransaction(
  tx: Sql,
  limitMs: number = INGEST_LOCK_IDLE_LIMIT_MS,
): Promise<void> {
  const limit = idleLimitLiteral(tx, limitMs);
  await tx`select set_config('idle_in_transaction_session_timeout', ${limit}, true)`;
}

/**
 * Advisory-lock key that orders ingest commits against the aggregator. Ingest
 * transactions hold it shared; {@link readIngestHorizon} takes it exclusively
 * for an instant. Scoped by schema, since advisory locks are per database.
 */
const INGEST_LOCK_KEY = "hashtext('traffic_analyzer_ingest:' || current_schema())";

/**
 * {@link limitIdleInTransaction} and the ingest lock, held shared until
 * commit, in one statement, so one round trip: what an ingest transaction
 * does first. The limit is set before the lock is asked for (the select list
 * is evaluated left to right), and neither lasts past the transaction.
 */
export async function limitIdleAndHoldIngestLockShared(
  tx: Sql,
  limitMs: number = INGEST_LOCK_IDLE_LIMIT_MS,
): Promise<void> {
  const limit = idleLimitLiteral(tx, limitMs);
  await tx`select set_config('idle_in_transaction_session_timeout', ${limit}, true),
    pg_advisory_xact_lock_shared(${tx.unsafe(INGEST_LOCK_KEY)})`;
}

/**
 * The highest batch id below which every batch has committed. It waits for
 * the ingest transactions in flight to finish (they hold the lock shared),
 * then reads the newest id in a transaction of its own, so ingest is held up
 * only for that instant. Any batch that commits later gets a higher id (its
 * id is drawn after it takes the lock), so a watermark at or below the
 * horizon never skips a batch that commits late. (A plain `id > watermark`
 * scan would: ids are drawn at insert, not at commit.)
 */
export async function readIngestHorizon(sql: Sql): Promise<number> {
  return await sql.begin(async (tx) => {
    await limitIdleInTransaction(tx as unknown as Sql);
    await tx`select pg_advisory_xact_lock(${tx.unsafe(INGEST_LOCK_KEY)})`;
    const [row]: [{ id: number }] =
      await tx`select coalesce(max(id), 0)::int8 as id from ingest_batches`;
    return row.id;
  }) as number;
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

/** One stream's position: where the next batch to merge starts. */
export interface StreamPosition {
  /** The agent that sends the stream. */
  agentId: string;
  /** The stream: `file-<file id>` for `--read`, `live-<id>` for live capture. */
  stream: string;
  /** Position in the stream, in packets from 0, where the next batch to merge starts. */
  nextSequence: number;
  /** Milliseconds since the stream last moved, by the database's clock (when read). */
  sinceMovedMs?: number;
}

/** Where the given streams stand; a stream never merged before is absent. */
export async function readStreamPositions(
  tx: Sql,
  streams: readonly { agentId: string; stream: string }[],
): Promise<StreamPosition[]> {
  if (streams.length === 0) return [];
  const rows = await tx<
    { agent_id: string; stream: string; next_sequence: number; since_moved_ms: number }[]
  >`
    select s.agent_id, s.stream, s.next_sequence,
      greatest(0, extract(epoch from now() - s.updated_at) * 1000)::float8 as since_moved_ms
    from aggregator_streams s
    join unnest(${pgArrayColumn(streams, "agentId")}::text::text[],
      ${pgArrayColumn(streams, "stream")}::text::text[]) as k(agent_id, stream)
      on s.agent_id = k.agent_id and s.stream = k.stream`;
  return rows.map((row) => ({
    agentId: row.agent_id,
    stream: row.stream,
    nextSequence: Number(row.next_sequence),
    sinceMovedMs: row.since_moved_ms,
  }));
}

/**
 * Records where streams stand after a pass, inside its transaction. A
 * stream's `updated_at` (when it last moved on, which bounds how long a gap
 * holds its later batches, `REORDER_WAIT`) changes only when its position
 * advances: a pass that merged only late batches did not move it, and
 * counting that as a move restarted the wait on every pass, so a gap that
 * never fills stalled the stream for good (seen in the soak).
 */
export async function saveStreamPositions(
  tx: Sql,
  positions: readonly StreamPosition[],
): Promise<void> {
  if (positions.length === 0) return;
  await tx`
    insert into aggregator_streams (agent_id, stream, next_sequence)
    select * from unnest(${pgArrayColumn(positions, "agentId")}::text::text[],
      ${pgArrayColumn(positions, "stream")}::text::text[],
      ${pgArrayColumn(positions, "nextSequence")}::text::int8[])
    on conflict (agent_id, stream) do update set
      next_sequence = excluded.next_sequence,
      updated_at = case
        when excluded.next_sequence > aggregator_streams.next_sequence then now()
        else aggregator_streams.updated_at
      end`;
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

/** One flow row to insert or update in `traffic_data`. */
export interface FlowUpsert extends FlowAppFields, FlowEnrichmentFields {
  /** The flow's uid (stable across passes; Zeek-style). */
  flow_uid: string;
  /** Community ID v1 of the flow's 5-tuple, or null when it has none. */
  community_id: string | null;
  /** Capture interface the flow was seen on, or null when unknown. */
  interface: string | null;
  /** The agent whose packets made the flow (null: none named). */
  agent: string | null;
  /** The tunnel the flow was keyed on (`vxlan`, `geneve`, `gre`, `erspan`, `pppoe`), or null. */
  tunnel_type: string | null;
  /** That tunnel's id (VNI, GRE key, session), or null. */
  tunnel_id: number | null;
  /** Originator (client) address, or null for a flow without IP. */
  orig_ip: string | null;
  /** Originator port, or null for a protocol without ports. */
  orig_port: number | null;
  /** Responder (server) address, or null for a flow without IP. */
  resp_ip: string | null;
  /** Responder port, or null for a protocol without ports. */
  resp_port: number | null;
  /** Transport protocol name (`tcp`, `udp`, `icmp`, ...). */
  protocol: string;
  /** IP protocol number, or null for a flow without IP. */
  ip_proto: number | null;
  /** Outer VLAN id, or null when untagged. */
  vlan: number | null;
  /** Inner (second) VLAN id, or null. */
  vlan_inner: number | null;
  /** Capture time of the first packet, epoch seconds. */
  first_seen: number;
  /** Capture time of the last packet, epoch seconds. */
  last_seen: number;
  /** Packets from the originator. */
  orig_packets: number;
  /** Packets from the responder. */
  resp_packets: number;
  /** Bytes on the wire from the originator. */
  orig_bytes: number;
  /** Bytes on the wire from the responder. */
  resp_bytes: number;
  /** Whether the flow may still grow (`active`) or has ended (`closed`). */
  state: "active" | "closed";
  /** Why the flow ended (FIN, RST, idle timeout, ...), or null while active. */
  close_reason: string | null;
  /** Zeek-style connection state (`S0`, `SF`, `REJ`, ...), or null. */
  conn_state: string | null;
  /**
   * The feature vector the model scored, stored as big-endian float32 bytes
   * (see `writeFeatureVector`); a non-finite value is stored as 0.
   */
  features: Float32Array | null;
  /** Version of the feature vector's layout, or null before scoring. */
  feature_version: number | null;
  /** The model's class for the flow, or null before scoring. */
  label: string | null;
  /** The model's probability that the flow is not benign, or null before scoring. */
  score: number | null;
  /** Version of the model that scored the flow, or null before scoring. */
  model_version: string | null;
  /**
   * Top TreeSHAP contributions to the score, for a flow scored at least
   * ALERT_MIN_SCORE; null for the others (and when the model has no covers).
   */
  explanation: FeatureContribution[] | null;
}

/** The `explanation` column of a chunk as an array literal of JSON texts. */
function explanationColumn(flows: readonly FlowUpsert[]): string {
  return pgArrayLiteral(
    flows.map((f) => (f.explanation === null ? null : JSON.stringify(f.explanation))),
  );
}

/**
 * Inserts new flows and updates changed ones by `flow_uid`.
 * Rows with the same uid must not repeat within a call.
 */
export async function upsertFlows(tx: Sql, flows: readonly FlowUpsert[]): Promise<number> {
  // Statements of bounded size: a pass can touch hundreds of thousands of
  // flows, and one literal per column of all of them runs to hundreds of MB.
  // Each statement is sent as soon as it is built and awaited only after the
  // next one is built, so PostgreSQL works on one while this process formats
  // the next.
  let written = 0;
  let inFlight: Promise<number> | null = null;
  for (let i = 0; i < flows.length; i += UPSERT_CHUNK_ROWS) {
    const sent = upsertFlowChunk(tx, flows.slice(i, i + UPSERT_CHUNK_ROWS));
    // If an earlier chunk fails first, this one's (consequent) failure is
    // never awaited; the transaction reports the first.
    sent.catch(() => {});
    if (inFlight) written += await inFlight;
    inFlight = sent;
  }
  if (inFlight) written += await inFlight;
  return written;
}

// Measured on PostgreSQL 15 with 300k flows: 2500 and 20000 were both slower.
const UPSERT_CHUNK_ROWS = 5000;

/**
 * The feature vectors of a chunk as one bytea parameter (postgres.js sends a
 * Uint8Array hex-encoded, which PostgreSQL decodes far faster than it parses
 * decimal floats), with each row's byte offset into it and byte length as
 * array literals (null for a row without a vector).
 */
function featureColumns(flows: readonly FlowUpsert[]) {
  let total = 0;
  for (const flow of flows) total += (flow.features?.length ?? 0) * FEATURE_VALUE_BYTES;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let offsets = "{";
  let lengths = "{";
  let at = 0;
  for (let i = 0; i < flows.length; i++) {
    const vector = flows[i].features;
    const sep = i ? "," : "";
    if (vector === null) {
      offsets += sep + "NULL";
      lengths += sep + "NULL";
    } else {
      offsets += sep + at;
      lengths += sep + vector.length * FEATURE_VALUE_BYTES;
      at = writeFeatureVector(view, at, vector);
    }
  }
  return { bytes, offsets: offsets + "}", lengths: lengths + "}" };
}

/** Sends one chunk's statement at once; resolves to the rows written. */
function upsertFlowChunk(tx: Sql, flows: readonly FlowUpsert[]): Promise<number> {
  if (flows.length === 0) return Promise.resolve(0);
  const c = <K extends Exclude<keyof FlowUpsert, "features" | "explanation">>(key: K) =>
    pgArrayColumn(flows, key);
  const features = featureColumns(flows);
  const query = tx`
    insert into traffic_data (
      flow_uid, community_id, interface, orig_ip, orig_port, resp_ip, resp_port, protocol,
      ip_proto, vlan, vlan_inner, first_seen, last_seen, orig_packets, resp_packets, orig_bytes,
      resp_bytes, state, close_reason, conn_state, features, feature_version, label, score,
      model_version, explanation, agent, tunnel_type, tunnel_id, updated_at,
      app_protocol, dns_query, dns_qtype, dns_rcode, dns_answers, dns_query_count, dns_names,
      tls_sni, tls_alpn, tls_ja3, tls_ja4, tls_version, tls_cipher, http_method, http_host,
      http_path, http_user_agent, http_status, ssh_client, ssh_server, dhcp_hostname, orig_scope,
      orig_country, orig_asn, orig_as_org, resp_scope, resp_country, resp_asn, resp_as_org
    )
    select u.flow_uid, u.community_id, u.interface, u.orig_ip, u.orig_port, u.resp_ip,
      u.resp_port, u.protocol, u.ip_proto, u.vlan, u.vlan_inner, u.first_seen, u.last_seen,
      u.orig_packets, u.resp_packets, u.orig_bytes, u.resp_bytes, u.state, u.close_reason,
      u.conn_state,
      substring(${features.bytes}::bytea from u.features_offset + 1 for u.features_length),
      u.feature_version, u.label, u.score, u.model_version, u.explanation, u.agent, u.tunnel_type,
      u.tunnel_id, now(),
      u.app_protocol, u.dns_query, u.dns_qtype, u.dns_rcode, u.dns_answers, u.dns_query_count,
      u.dns_names, u.tls_sni, u.tls_alpn, u.tls_ja3, u.tls_ja4, u.tls_version, u.tls_cipher,
      u.http_method, u.http_host, u.http_path, u.http_user_agent, u.http_status, u.ssh_client,
      u.ssh_server, u.dhcp_hostname, u.orig_scope, u.orig_country, u.orig_asn, u.orig_as_org,
      u.resp_scope, u.resp_country, u.resp_asn, u.resp_as_org
    from unnest(
      ${c("flow_uid")}::text::text[], ${c("community_id")}::text::text[],
      ${c("interface")}::text::text[], ${c("orig_ip")}::text::inet[],
      ${c("orig_port")}::text::int[], ${c("resp_ip")}::text::inet[],
      ${c("resp_port")}::text::int[], ${c("protocol")}::text::text[],
      ${c("ip_proto")}::text::smallint[], ${c("vlan")}::text::int[],
      ${c("vlan_inner")}::text::int[], ${c("first_seen")}::text::float8[],
      ${c("last_seen")}::text::float8[], ${c("orig_packets")}::text::int8[],
      ${c("resp_packets")}::text::int8[], ${c("orig_bytes")}::text::int8[],
      ${c("resp_bytes")}::text::int8[], ${c("state")}::text::text[],
      ${c("close_reason")}::text::text[], ${c("conn_state")}::text::text[],
      ${features.offsets}::text::int[], ${features.lengths}::text::int[],
      ${c("feature_version")}::text::smallint[], ${c("label")}::text::text[],
      ${c("score")}::text::real[], ${c("model_version")}::text::text[],
      ${explanationColumn(flows)}::text::jsonb[],
      ${c("agent")}::text::text[], ${c("tunnel_type")}::text::text[],
      ${c("tunnel_id")}::text::int8[],
      ${c("app_protocol")}::text::text[], ${c("dns_query")}::text::text[],
      ${c("dns_qtype")}::text::int[], ${c("dns_rcode")}::text::smallint[],
      ${c("dns_answers")}::text::text[], ${c("dns_query_count")}::text::int[],
      ${c("dns_names")}::text::text[], ${c("tls_sni")}::text::text[],
      ${c("tls_alpn")}::text::text[], ${c("tls_ja3")}::text::text[], ${c("tls_ja4")}::text::text[],
      ${c("tls_version")}::text::int[], ${c("tls_cipher")}::text::int[],
      ${c("http_method")}::text::text[], ${c("http_host")}::text::text[],
      ${c("http_path")}::text::text[], ${c("http_user_agent")}::text::text[],
      ${c("http_status")}::text::smallint[], ${c("ssh_client")}::text::text[],
      ${c("ssh_server")}::text::text[], ${c("dhcp_hostname")}::text::text[],
      ${c("orig_scope")}::text::text[], ${c("orig_country")}::text::text[],
      ${c("orig_asn")}::text::int8[], ${c("orig_as_org")}::text::text[],
      ${c("resp_scope")}::text::text[], ${c("resp_country")}::text::text[],
      ${c("resp_asn")}::text::int8[], ${c("resp_as_org")}::text::text[]
    ) as u(
      flow_uid, community_id, interface, orig_ip, orig_port, resp_ip, resp_port, protocol,
      ip_proto, vlan, vlan_inner, first_seen, last_seen, orig_packets, resp_packets, orig_bytes,
      resp_bytes, state, close_reason, conn_state, features_offset, features_length,
      feature_version, label, score, model_version, explanation, agent, tunnel_type, tunnel_id,
      app_protocol, dns_query, dns_qtype, dns_rcode, dns_answers, dns_query_count, dns_names,
      tls_sni, tls_alpn, tls_ja3, tls_ja4, tls_version, tls_cipher, http_method, http_host,
      http_path, http_user_agent, http_status, ssh_client, ssh_server, dhcp_hostname, orig_scope,
      orig_country, orig_asn, orig_as_org, resp_scope, resp_country, resp_asn, resp_as_org
    )
    on conflict (flow_uid) do update set
      community_id = excluded.community_id, last_seen = excluded.last_seen,
      orig_packets = excluded.orig_packets, resp_packets = excluded.resp_packets,
      orig_bytes = excluded.orig_bytes, resp_bytes = excluded.resp_bytes,
      state = excluded.state, close_reason = excluded.close_reason,
      conn_state = excluded.conn_state, features = excluded.features,
      feature_version = excluded.feature_version,
      label = excluded.label, score = excluded.score, model_version = excluded.model_version,
      explanation = excluded.explanation, updated_at = excluded.updated_at,
      app_protocol = excluded.app_protocol, dns_query = excluded.dns_query,
      dns_qtype = excluded.dns_qtype, dns_rcode = excluded.dns_rcode,
      dns_answers = excluded.dns_answers, dns_query_count = excluded.dns_query_count,
      dns_names = excluded.dns_names, tls_sni = excluded.tls_sni, tls_alpn = excluded.tls_alpn,
      tls_ja3 = excluded.tls_ja3, tls_ja4 = excluded.tls_ja4, tls_version = excluded.tls_version,
      tls_cipher = excluded.tls_cipher, http_method = excluded.http_method,
      http_host = excluded.http_host, http_path = excluded.http_path,
      http_user_agent = excluded.http_user_agent, http_status = excluded.http_status,
      ssh_client = excluded.ssh_client, ssh_server = excluded.ssh_server,
      dhcp_hostname = excluded.dhcp_hostname, orig_scope = excluded.orig_scope,
      orig_country = excluded.orig_country, orig_asn = excluded.orig_asn,
      orig_as_org = excluded.orig_as_org, resp_scope = excluded.resp_scope,
      resp_country = excluded.resp_country, resp_asn = excluded.resp_asn,
      resp_as_org = excluded.resp_as_org`;
  // execute() sends it now rather than when first awaited.
  return query.execute().then((result) => result.count);
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
