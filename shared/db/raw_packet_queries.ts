/**
 * Read queries over `raw_packets`.
 *
 * @module
 */
import type postgres from "postgres";
import type { Sql } from "./open_database.ts";
import type { PacketRecord } from "../packet/packet_record.ts";

/** A stored packet: the record plus where and when it was stored. */
export interface RawPacketRow extends PacketRecord {
  /** Row id in `raw_packets`. */
  id: number;
  /** The ingest batch the packet came in. */
  batch_id: number;
  /** The agent that sent the packet. */
  agent_id: string;
  /** When the server stored the packet's batch. */
  received_at: Date;
}

/**
 * Every column of a {@link RawPacketRow} but `data`, addresses as text: the
 * one list of the queries that read stored packets back as records.
 */
export function rawPacketColumns(sql: Sql): postgres.PendingQuery<postgres.Row[]> {
  return sql`
    id, batch_id, agent_id, received_at, "timestamp", interface,
    host(src_ip) as src_ip, host(dst_ip) as dst_ip, protocol, src_port, dst_port, length,
    caplen, link_type, eth_src, eth_dst, ether_type, vlan_id, vlan_inner_id, ip_version,
    ip_proto, ttl, ip_id, ip_tos, ip_header_length, ip_flow_label, frag_offset,
    more_fragments, dont_fragment, is_fragment, tcp_seq, tcp_ack, tcp_flags, tcp_window,
    tcp_header_length, icmp_type, icmp_code, icmp_id, icmp_seq, arp_opcode, tunnel_type,
    host(tunnel_src_ip) as tunnel_src_ip, host(tunnel_dst_ip) as tunnel_dst_ip, tunnel_id,
    tunnel_depth, payload_length, malformed, malformed_reason,
    app_protocol, dns_query, dns_qtype, dns_rcode, dns_answers, dns_cnames, dns_ttl, dns_names,
    tls_sni, tls_alpn, tls_versions, tls_ja3, tls_ja4, tls_version, tls_cipher, http_method,
    http_host, http_path, http_user_agent, http_status, ssh_banner, dhcp_hostname,
    host(dhcp_requested_ip) as dhcp_requested_ip`;
}

/** Options for {@link newestRawPackets}. */
export interface NewestRawPacketsOptions {
  /** How many packets, newest first. */
  count: number;
  /** Include the captured bytes (`data`, base64); without, the field is left out. */
  includeData: boolean;
  /** Rows per query. @default 500 */
  chunkRows?: number;
}

/**
 * The `count` most recently ingested packets, newest first, read in chunks of
 * `chunkRows` by keyset on `id` (a new query per chunk, so no connection or
 * transaction stays open between chunks while a slow client reads), and
 * yielded one chunk at a time. A 10,000-packet read with payloads is 8–9 MB
 * of JSON: a caller streams the chunks instead of holding it. PostgreSQL's
 * base64 breaks lines every 76 characters; `data` comes back unbroken, as
 * the agent sent it.
 */
export async function* newestRawPackets(
  sql: Sql,
  options: NewestRawPacketsOptions,
): AsyncGenerator<RawPacketRow[]> {
  const chunkRows = options.chunkRows ?? 500;
  let left = options.count;
  let below: number | null = null;
  while (left > 0) {
    const limit = Math.min(left, chunkRows);
    const rows: RawPacketRow[] = await sql<RawPacketRow[]>`
      select ${rawPacketColumns(sql)}
        ${options.includeData ? sql`, translate(encode(data, 'base64'), E'\n', '') as data` : sql``}
      from raw_packets
      where ${below === null ? sql`true` : sql`id < ${below}`}
      order by id desc
      limit ${limit}`;
    if (rows.length === 0) return;
    yield rows;
    left -= rows.length;
    if (rows.length < limit) return;
    below = rows[rows.length - 1].id;
  }
}

/** The N most recently ingested packets, newest first, with `data` (base64), in one array. */
export async function lastRawPackets(sql: Sql, count: number): Promise<RawPacketRow[]> {
  const out: RawPacketRow[] = [];
  for await (const rows of newestRawPackets(sql, { count, includeData: true })) out.push(...rows);
  return out;
}
