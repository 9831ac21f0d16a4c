/**
 * One blank packet record for tests and benchmarks, so every helper that
 * builds records starts from the same complete shape.
 *
 * @module
 */
import { NO_APP_FIELDS } from "../app_layer/app_record_fields.ts";
import type { PacketRecord } from "../packet/packet_record.ts";

/**
 * A blank IPv4-over-Ethernet record with every field present; tests and
 * benchmarks override what they need.
 */
export function blankPacketRecord(overrides: Partial<PacketRecord> = {}): PacketRecord {
  return {
    timestamp: 0,
    interface: "test0",
    src_ip: null,
    dst_ip: null,
    protocol: "IP-0",
    src_port: null,
    dst_port: null,
    length: 60,
    caplen: 60,
    link_type: 1,
    eth_src: "02:00:00:00:00:01",
    eth_dst: "02:00:00:00:00:02",
    ether_type: 0x0800,
    vlan_id: null,
    vlan_inner_id: null,
    ip_version: 4,
    ip_proto: null,
    ttl: 64,
    ip_id: 0,
    ip_tos: 0,
    ip_header_length: 20,
    ip_flow_label: null,
    frag_offset: 0,
    more_fragments: false,
    dont_fragment: true,
    is_fragment: false,
    tcp_seq: null,
    tcp_ack: null,
    tcp_flags: null,
    tcp_window: null,
    tcp_header_length: null,
    icmp_type: null,
    icmp_code: null,
    icmp_id: null,
    icmp_seq: null,
    arp_opcode: null,
    tunnel_type: null,
    tunnel_src_ip: null,
    tunnel_dst_ip: null,
    tunnel_id: null,
    tunnel_depth: 0,
    payload_length: 0,
    malformed: false,
    malformed_reason: null,
    data: null,
    ...NO_APP_FIELDS,
    ...overrides,
  };
}
