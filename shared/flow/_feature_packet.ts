/**
 * A packet as a flow's feature accumulator takes it: in one scratch
 * {@linkcode FeaturePacket} the table fills for every packet, with the
 * header bytes counted as the IP header plus the transport header, or the
 * IP header alone for a fragment.
 *
 * @module
 */

import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type PacketRecord,
} from "../packet/packet_record.ts";
import type { FeaturePacket } from "./flow_features.ts";

const SCTP_COMMON_HEADER = 12;
const UDP_HEADER = 8;
const ICMP_HEADER = 8;

/** Reused by {@linkcode featurePacketOf}: the accumulator keeps nothing of it. */
const scratchPacket: FeaturePacket = {
  timestamp: 0,
  length: 0,
  payloadLength: 0,
  headerLength: 0,
  tcpFlags: null,
  tcpWindow: null,
};

/**
 * Packet `p` at time `ts` as features count it, in a shared scratch object;
 * `tcpFlags` are its TCP flags, null unless it is TCP and not a fragment.
 */
export function featurePacketOf(
  p: PacketRecord,
  ts: number,
  tcpFlags: number | null,
): FeaturePacket {
  const packet = scratchPacket;
  packet.timestamp = ts;
  packet.length = p.length;
  packet.payloadLength = p.payload_length;
  packet.headerLength = headerLength(p);
  packet.tcpFlags = tcpFlags;
  packet.tcpWindow = tcpFlags !== null ? p.tcp_window : null;
  return packet;
}

/**
 * The IP header length plus the transport header's (TCP's own length; the
 * fixed UDP, ICMP and SCTP common headers); a fragment counts its IP header
 * only.
 */
function headerLength(p: PacketRecord): number {
  const ip = p.ip_header_length ?? 0;
  if (p.is_fragment) return ip;
  switch (p.ip_proto) {
    case IPPROTO_TCP:
      return ip + (p.tcp_header_length ?? 0);
    case IPPROTO_UDP:
      return ip + UDP_HEADER;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return ip + ICMP_HEADER;
    case IPPROTO_SCTP:
      return ip + SCTP_COMMON_HEADER;
    default:
      return ip;
  }
}
