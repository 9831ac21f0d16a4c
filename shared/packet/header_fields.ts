/**
 * {@linkcode HEADER_FIELDS}: the fields the capture path
 * (`ColumnarBatchBuilder.appendHeaders`) writes, in its order.
 *
 * @module
 */
import type { PacketRecord } from "./packet_record.ts";
import { APP_RECORD_FIELD_NAMES } from "../app_layer/app_record_fields.ts";

/**
 * The fields {@link ColumnarBatchBuilder.appendHeaders} writes, in its order.
 * A test compares it with `PACKET_FIELDS`, so a field added to the table
 * cannot be left out of the capture path unnoticed.
 */
export const HEADER_FIELDS: readonly (keyof PacketRecord)[] = [
  "timestamp",
  "interface",
  "src_ip",
  "dst_ip",
  "protocol",
  "src_port",
  "dst_port",
  "length",
  "caplen",
  "link_type",
  "eth_src",
  "eth_dst",
  "ether_type",
  "vlan_id",
  "vlan_inner_id",
  "ip_version",
  "ip_proto",
  "ttl",
  "ip_id",
  "ip_tos",
  "ip_header_length",
  "ip_flow_label",
  "frag_offset",
  "more_fragments",
  "dont_fragment",
  "is_fragment",
  "tcp_seq",
  "tcp_ack",
  "tcp_flags",
  "tcp_window",
  "tcp_header_length",
  "icmp_type",
  "icmp_code",
  "icmp_id",
  "icmp_seq",
  "arp_opcode",
  "tunnel_type",
  "tunnel_src_ip",
  "tunnel_dst_ip",
  "tunnel_id",
  "tunnel_depth",
  "payload_length",
  "malformed",
  "malformed_reason",
  "data",
  ...APP_RECORD_FIELD_NAMES,
];
