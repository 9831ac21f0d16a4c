/**
 * Read queries over `raw_packets`.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import type { PacketRecord } from "../packet/packet_record.ts";

/** A stored packet: the record plus where and when it was stored. */
export interface RawPacketRow extends PacketRecord {
  id: number;
  batch_id: number;
  agent_id: string;
  received_at: Date;
}

/** The N most recently ingested packets, newest first; `data` is base64. */
export async function lastRawPackets(
  sql: Sql,
  count: number,
): Promise<RawPacketRow[]> {
  return await sql<RawPacketRow[]>`
    select id, batch_id, agent_id, received_at, "timestamp", interface,
      host(src_ip) as src_ip, host(dst_ip) as dst_ip, protocol, src_port, dst_port, length,
      caplen, link_type, eth_src, eth_dst, ether_type, vlan_id, vlan_inner_id, ip_version,
      ip_proto, ttl, ip_id, ip_tos, ip_header_length, ip_flow_label, frag_offset,
      more_fragments, dont_fragment, is_fragment, tcp_seq, tcp_ack, tcp_flags, tcp_window,
      tcp_header_length, icmp_type, icmp_code, icmp_id, icmp_seq, arp_opcode, tunnel_type,
      host(tunnel_src_ip) as tunnel_src_ip, host(tunnel_dst_ip) as tunnel_dst_ip, tunnel_id,
      tunnel_depth, payload_length, malformed, malformed_reason, encode(data, 'base64') as data
    from raw_packets
    order by id desc
    limit ${count}`;
}
