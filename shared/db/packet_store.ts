/**
 * Stores an ingest batch: its `ingest_batches` row and all its `raw_packets`
 * rows in one transaction, exactly once per idempotency key.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { encodePacketColumns } from "../packet/packet_columns.ts";
import { pgArrayColumn } from "./pg_array_literal.ts";
import { holdIngestLockShared } from "./aggregator_queries.ts";

/** A validated batch to store. */
export interface PacketBatch {
  /** Name of the sending agent. */
  agentId: string;
  /** Makes the batch exactly-once: a repeat with the same key stores nothing. */
  idempotencyKey: string;
  /** SHA-256 (hex) of the decompressed body, to tell a repeat from a conflict. */
  bodySha256: string;
  /** The records, already validated. */
  records: PacketRecord[];
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

/** Options for {@link storePacketBatch}. */
export interface StorePacketBatchOptions {
  /** Current time, for partition upkeep. @default Date.now() */
  nowMs?: number;
  /**
   * Awaited after the rows are written, before the commit; tests use it to
   * hold a batch's transaction open. @default none
   */
  beforeCommit?: () => Promise<void>;
}

/**
 * Stores a batch in one transaction and returns only after it committed.
 * A repeated key with the same body hash is a `duplicate` (nothing stored);
 * with another body, a `conflict`.
 */
export async function storePacketBatch(
  sql: Sql,
  batch: PacketBatch,
  options: StorePacketBatchOptions = {},
): Promise<StoreResult> {
  await ensureRawPacketPartitions(sql, options.nowMs ?? Date.now());
  // Encoded before the transaction, which holds the ingest lock.
  const block = encodePacketColumns(batch.records);
  return await sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    // Held until commit: the aggregator's horizon waits for batches in flight.
    await holdIngestLockShared(tx);
    // The batch row and its packet column block (what the aggregator reads)
    // in one statement; a repeated key inserts neither.
    const [created]: [{ id: number }?] = await tx`
      with batch as (
        insert into ingest_batches (agent_id, idempotency_key, record_count, body_sha256)
        values (${batch.agentId}, ${batch.idempotencyKey}, ${batch.records.length}, ${batch.bodySha256})
        on conflict (idempotency_key) do nothing
        returning id
      ), block as (
        insert into batch_packet_columns (batch_id, block)
        select id, ${block}::bytea from batch
      )
      select id from batch`;
    if (!created) {
      const [existing]: [{ id: number; body_sha256: string }] = await tx`
        select id, body_sha256 from ingest_batches where idempotency_key = ${batch.idempotencyKey}`;
      return {
        status: existing.body_sha256 === batch.bodySha256 ? "duplicate" : "conflict",
        batchId: existing.id,
      } as StoreResult;
    }
    const column = (name: keyof PacketRecord) => pgArrayColumn(batch.records, name);
    const inserted = await tx`
      insert into raw_packets (
        batch_id, agent_id, "timestamp", interface, src_ip, dst_ip, protocol, src_port, dst_port,
        length, caplen, link_type, eth_src, eth_dst, ether_type, vlan_id, vlan_inner_id,
        ip_version, ip_proto, ttl, ip_id, ip_tos, ip_header_length, ip_flow_label, frag_offset,
        more_fragments, dont_fragment, is_fragment, tcp_seq, tcp_ack, tcp_flags, tcp_window,
        tcp_header_length, icmp_type, icmp_code, icmp_id, icmp_seq, arp_opcode, tunnel_type,
        tunnel_src_ip, tunnel_dst_ip, tunnel_id, tunnel_depth, payload_length, malformed,
        malformed_reason, data
      )
      select
        ${created.id}, ${batch.agentId}, u.ts, u.interface, u.src_ip, u.dst_ip, u.protocol,
        u.src_port, u.dst_port, u.length, u.caplen, u.link_type, u.eth_src, u.eth_dst,
        u.ether_type, u.vlan_id, u.vlan_inner_id, u.ip_version, u.ip_proto, u.ttl, u.ip_id,
        u.ip_tos, u.ip_header_length, u.ip_flow_label, u.frag_offset, u.more_fragments,
        u.dont_fragment, u.is_fragment, u.tcp_seq, u.tcp_ack, u.tcp_flags, u.tcp_window,
        u.tcp_header_length, u.icmp_type, u.icmp_code, u.icmp_id, u.icmp_seq, u.arp_opcode,
        u.tunnel_type, u.tunnel_src_ip, u.tunnel_dst_ip, u.tunnel_id, u.tunnel_depth,
        u.payload_length, u.malformed, u.malformed_reason, decode(u.data, 'base64')
      from unnest(
        ${column("timestamp")}::text::float8[], ${column("interface")}::text::text[],
        ${column("src_ip")}::text::inet[], ${column("dst_ip")}::text::inet[],
        ${column("protocol")}::text::text[], ${column("src_port")}::text::int[],
        ${column("dst_port")}::text::int[], ${column("length")}::text::int[],
        ${column("caplen")}::text::int[], ${column("link_type")}::text::int[],
        ${column("eth_src")}::text::text[], ${column("eth_dst")}::text::text[],
        ${column("ether_type")}::text::int[], ${column("vlan_id")}::text::int[],
        ${column("vlan_inner_id")}::text::int[], ${column("ip_version")}::text::smallint[],
        ${column("ip_proto")}::text::smallint[], ${column("ttl")}::text::smallint[],
        ${column("ip_id")}::text::int8[], ${column("ip_tos")}::text::smallint[],
        ${column("ip_header_length")}::text::smallint[], ${column("ip_flow_label")}::text::int[],
        ${column("frag_offset")}::text::int[], ${column("more_fragments")}::text::bool[],
        ${column("dont_fragment")}::text::bool[], ${column("is_fragment")}::text::bool[],
        ${column("tcp_seq")}::text::int8[], ${column("tcp_ack")}::text::int8[],
        ${column("tcp_flags")}::text::smallint[], ${column("tcp_window")}::text::int[],
        ${column("tcp_header_length")}::text::smallint[], ${column("icmp_type")}::text::smallint[],
        ${column("icmp_code")}::text::smallint[], ${column("icmp_id")}::text::int[],
        ${column("icmp_seq")}::text::int[], ${column("arp_opcode")}::text::int[],
        ${column("tunnel_type")}::text::text[], ${column("tunnel_src_ip")}::text::inet[],
        ${column("tunnel_dst_ip")}::text::inet[], ${column("tunnel_id")}::text::int8[],
        ${column("tunnel_depth")}::text::smallint[],
        ${column("payload_length")}::text::int[], ${column("malformed")}::text::bool[],
        ${column("malformed_reason")}::text::text[], ${column("data")}::text::text[]
      ) as u(
        ts, interface, src_ip, dst_ip, protocol, src_port, dst_port, length, caplen, link_type,
        eth_src, eth_dst, ether_type, vlan_id, vlan_inner_id, ip_version, ip_proto, ttl, ip_id,
        ip_tos, ip_header_length, ip_flow_label, frag_offset, more_fragments, dont_fragment,
        is_fragment, tcp_seq, tcp_ack, tcp_flags, tcp_window, tcp_header_length, icmp_type,
        icmp_code, icmp_id, icmp_seq, arp_opcode, tunnel_type, tunnel_src_ip, tunnel_dst_ip,
        tunnel_id, tunnel_depth, payload_length, malformed, malformed_reason, data
      )`;
    await options.beforeCommit?.();
    return { status: "stored", batchId: created.id, stored: inserted.count };
  }) as StoreResult;
}
