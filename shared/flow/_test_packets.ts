/**
 * Hand-built PacketRecords for the flow tests: every field present, with the
 * values a decoder would produce for simple Ethernet/IPv4 packets.
 *
 * @module
 */

import {
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type PacketRecord,
} from "../packet/packet_record.ts";
import { blankPacketRecord } from "../testing/blank_packet_record.ts";

const ETHERNET = 14;
const IPV4 = 20;
const TCP_BASE = 20;
const UDP = 8;
const ICMP = 8;

/** A blank IPv4 record; override what the test needs. */
export const basePacket = blankPacketRecord;

/** Options of {@linkcode tcp}. */
export interface TcpOptions {
  /** Payload bytes. */
  payload?: number;
  /** Sequence number. */
  seq?: number;
  /** Acknowledgement number. */
  ack?: number;
  /** Window. */
  window?: number;
  /** TCP options bytes beyond the 20-byte header. */
  options?: number;
  /** Extra record fields. */
  extra?: Partial<PacketRecord>;
}

/** A TCP/IPv4 packet; `flags` is the TCP flags byte. */
export function tcp(
  timestamp: number,
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
  flags: number,
  o: TcpOptions = {},
): PacketRecord {
  const payload = o.payload ?? 0;
  const tcpHeader = TCP_BASE + (o.options ?? 0);
  return basePacket({
    timestamp,
    src_ip: src,
    dst_ip: dst,
    protocol: "TCP",
    src_port: srcPort,
    dst_port: dstPort,
    length: Math.max(60, ETHERNET + IPV4 + tcpHeader + payload),
    caplen: Math.max(60, ETHERNET + IPV4 + tcpHeader + payload),
    ip_proto: IPPROTO_TCP,
    tcp_seq: o.seq ?? 0,
    tcp_ack: o.ack ?? 0,
    tcp_flags: flags,
    tcp_window: o.window ?? 65535,
    tcp_header_length: tcpHeader,
    payload_length: payload,
    ...o.extra,
  });
}

/** A UDP/IPv4 packet with `payload` bytes. */
export function udp(
  timestamp: number,
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
  payload: number,
  extra: Partial<PacketRecord> = {},
): PacketRecord {
  const length = Math.max(60, ETHERNET + IPV4 + UDP + payload);
  return basePacket({
    timestamp,
    src_ip: src,
    dst_ip: dst,
    protocol: "UDP",
    src_port: srcPort,
    dst_port: dstPort,
    length,
    caplen: length,
    ip_proto: IPPROTO_UDP,
    payload_length: payload,
    ...extra,
  });
}

/** An ICMPv4 packet. */
export function icmp(
  timestamp: number,
  src: string,
  dst: string,
  type: number,
  code: number,
  id: number | null,
  payload: number,
  extra: Partial<PacketRecord> = {},
): PacketRecord {
  const length = Math.max(60, ETHERNET + IPV4 + ICMP + payload);
  return basePacket({
    timestamp,
    src_ip: src,
    dst_ip: dst,
    protocol: "ICMP",
    length,
    caplen: length,
    ip_proto: IPPROTO_ICMP,
    icmp_type: type,
    icmp_code: code,
    icmp_id: id,
    icmp_seq: id === null ? null : 1,
    payload_length: payload,
    ...extra,
  });
}
