/**
 * A packet's header bytes as flow features count them: the IP header plus
 * the transport header, or the IP header alone for a fragment.
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

const SCTP_COMMON_HEADER = 12;
const UDP_HEADER = 8;
const ICMP_HEADER = 8;

/**
 * The IP header length plus the transport header's (TCP's own length; the
 * fixed UDP, ICMP and SCTP common headers); a fragment counts its IP header
 * only.
 */
export function headerLength(p: PacketRecord): number {
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
