/**
 * Stores an ingest batch: its `ingest_batches` row and all its `raw_packets`
 * rows in one transaction, exactly once per idempotency key.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import type { PacketRecord } from "../packet/packet_record.ts";

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
  // One JSON parameter carries the whole batch; the database unpacks it with
  // json_to_recordset, which is as fast as unnest arrays and keeps nulls exact.
  return await sql.begin(async (tx) => {
    const [created]: [{ id: number }?] = await tx`
      insert into ingest_batches (agent_id, idempotency_key, record_count, body_sha256)
      values (${batch.agentId}, ${batch.idempotencyKey}, ${batch.records.length}, ${batch.bodySha256})
      on conflict (idempotency_key) do nothing
      returning id`;
    if (!created) {
      const [existing]: [{ id: number; body_sha256: string }] = await tx`
        select id, body_sha256 from ingest_batches where idempotency_key = ${batch.idempotencyKey}`;
      return {
        status: existing.body_sha256 === batch.bodySha256
          ? "duplicate"
          : "conflict",
        batchId: existing.id,
      } as StoreResult;
    }
    const inserted = await tx`
      insert into raw_packets (
        batch_id, agent_id, "timestamp", interface, src_ip, dst_ip, protocol, src_port, dst_port,
        length, caplen, link_type, eth_src, eth_dst, ether_type, vlan_id, vlan_inner_id,
        ip_version, ip_proto, ttl, ip_id, ip_tos, ip_header_length, ip_flow_label, frag_offset,
        more_fragments, dont_fragment, is_fragment, tcp_seq, tcp_ack, tcp_flags, tcp_window,
        tcp_header_length, icmp_type, icmp_code, icmp_id, icmp_seq, arp_opcode, payload_length,
        malformed, malformed_reason, data
      )
      select
        ${created.id}, ${batch.agentId}, r."timestamp", r.interface, r.src_ip, r.dst_ip,
        r.protocol, r.src_port, r.dst_port, r.length, r.caplen, r.link_type, r.eth_src, r.eth_dst,
        r.ether_type, r.vlan_id, r.vlan_inner_id, r.ip_version, r.ip_proto, r.ttl, r.ip_id,
        r.ip_tos, r.ip_header_length, r.ip_flow_label, r.frag_offset, r.more_fragments,
        r.dont_fragment, r.is_fragment, r.tcp_seq, r.tcp_ack, r.tcp_flags, r.tcp_window,
        r.tcp_header_length, r.icmp_type, r.icmp_code, r.icmp_id, r.icmp_seq, r.arp_opcode,
        r.payload_length, r.malformed, r.malformed_reason, decode(r.data, 'base64')
      from json_to_recordset(${tx.json(batch.records as never)}::json) as r(
        "timestamp" float8, interface text, src_ip inet, dst_ip inet, protocol text,
        src_port int, dst_port int, length int, caplen int, link_type int, eth_src text,
        eth_dst text, ether_type int, vlan_id int, vlan_inner_id int, ip_version smallint,
        ip_proto smallint, ttl smallint, ip_id int, ip_tos smallint, ip_header_length smallint,
        ip_flow_label int, frag_offset int, more_fragments bool, dont_fragment bool,
        is_fragment bool, tcp_seq bigint, tcp_ack bigint, tcp_flags smallint, tcp_window int,
        tcp_header_length smallint, icmp_type smallint, icmp_code smallint, icmp_id int,
        icmp_seq int, arp_opcode int, payload_length int, malformed bool,
        malformed_reason text, data text
      )`;
    return { status: "stored", batchId: created.id, stored: inserted.count };
  }) as StoreResult;
}
