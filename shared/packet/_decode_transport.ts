/**
 * Transport-layer decoders (TCP, UDP, ICMP, ICMPv6, SCTP). Each reads the
 * header at `offset`, fills its fields into {@linkcode PacketHeaders}, and
 * sets `headerEnd` to the offset of the next layer (the payload).
 *
 * @module
 */

import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from "./packet_record.ts";
import type { PacketHeaders } from "./packet_headers.ts";
import { IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6 } from "./ip_protocols.ts";
import { decodeIpInIp } from "./_decode_tunnel.ts";
import { decodeGre } from "./_decode_gre.ts";
import { decodeUdpTunnel } from "./_decode_udp_tunnels.ts";
import {
  ICMP_TRUNCATED,
  ICMPV6_TRUNCATED,
  SCTP_TRUNCATED,
  TCP_BAD_HEADER_LENGTH,
  TCP_HEADER_EXCEEDS_PAYLOAD,
  TCP_TRUNCATED,
  TCP_TRUNCATED_OPTIONS,
  UDP_BAD_LENGTH,
  UDP_LENGTH_EXCEEDS_PAYLOAD,
  UDP_TRUNCATED,
} from "./_malformed.ts";

const TCP_MIN_HEADER_BYTES = 20;
const UDP_HEADER_BYTES = 8;
/** Type, code, checksum and the 4-byte rest-of-header every ICMP message has. */
const ICMP_HEADER_BYTES = 8;
/** Type, code and checksum. */
const ICMP_COMMON_HEADER_BYTES = 4;
const SCTP_COMMON_HEADER_BYTES = 12;
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;

/**
 * Decodes the transport header of an IP packet.
 *
 * @param end end of the captured bytes that belong to this IP packet
 * @param ipPayloadLength transport bytes per the IP header (wire, not captured)
 */
export function decodeTransport(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  end: number,
  ipPayloadLength: number,
  protocol: number,
  h: PacketHeaders,
): void {
  switch (protocol) {
    case IPPROTO_TCP:
      decodeTcp(bytes, view, offset, end, ipPayloadLength, h);
      return;
    case IPPROTO_UDP:
      decodeUdp(bytes, view, offset, end, ipPayloadLength, h);
      return;
    case IPPROTO_ICMP:
      decodeIcmp(bytes, view, offset, end, ipPayloadLength, false, h);
      return;
    case IPPROTO_ICMPV6:
      decodeIcmp(bytes, view, offset, end, ipPayloadLength, true, h);
      return;
    case IPPROTO_SCTP:
      decodeSctp(view, offset, end, ipPayloadLength, h);
      return;
    case IPPROTO_IPIP:
      decodeIpInIp(bytes, view, offset, ipPayloadLength, 4, h);
      return;
    case IPPROTO_IPV6:
      decodeIpInIp(bytes, view, offset, ipPayloadLength, 6, h);
      return;
    case IPPROTO_GRE:
      decodeGre(bytes, view, offset, ipPayloadLength, h);
      return;
    default:
      h.payloadLength = ipPayloadLength;
  }
}

function decodeTcp(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  end: number,
  ipPayloadLength: number,
  h: PacketHeaders,
): void {
  const available = end - offset;
  if (available >= TCP_MIN_HEADER_BYTES) {
    h.srcPort = view.getUint16(offset);
    h.dstPort = view.getUint16(offset + 2);
    h.tcpSeq = view.getUint32(offset + 4);
    h.tcpAck = view.getUint32(offset + 8);
    const headerLength = (bytes[offset + 12] >> 4) << 2;
    h.tcpHeaderLength = headerLength;
    h.tcpFlags = bytes[offset + 13];
    h.tcpWindow = view.getUint16(offset + 14);
    if (headerLength < TCP_MIN_HEADER_BYTES) {
      h.markMalformed(TCP_BAD_HEADER_LENGTH);
      h.headerEnd = offset + TCP_MIN_HEADER_BYTES;
      h.payloadLength = clampedDifference(ipPayloadLength, TCP_MIN_HEADER_BYTES);
      return;
    }
    if (headerLength > ipPayloadLength) h.markMalformed(TCP_HEADER_EXCEEDS_PAYLOAD);
    if (headerLength > available) {
      h.markMalformed(TCP_TRUNCATED_OPTIONS);
      h.headerEnd = end;
    } else {
      h.headerEnd = offset + headerLength;
    }
    h.payloadLength = clampedDifference(ipPayloadLength, headerLength);
    return;
  }
  // Cut short (snap length or a bogus IP length): keep each field that fits,
  // as tshark does.
  h.markMalformed(TCP_TRUNCATED);
  h.headerEnd = end > offset ? end : offset;
  if (available >= 4) {
    h.srcPort = view.getUint16(offset);
    h.dstPort = view.getUint16(offset + 2);
  }
  if (available >= 8) h.tcpSeq = view.getUint32(offset + 4);
  if (available >= 12) h.tcpAck = view.getUint32(offset + 8);
  let headerLength = TCP_MIN_HEADER_BYTES;
  if (available >= 13) {
    headerLength = (bytes[offset + 12] >> 4) << 2;
    h.tcpHeaderLength = headerLength;
  }
  if (available >= 14) h.tcpFlags = bytes[offset + 13];
  if (available >= 16) h.tcpWindow = view.getUint16(offset + 14);
  h.payloadLength = clampedDifference(
    ipPayloadLength,
    headerLength < TCP_MIN_HEADER_BYTES ? TCP_MIN_HEADER_BYTES : headerLength,
  );
}

function decodeUdp(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  end: number,
  ipPayloadLength: number,
  h: PacketHeaders,
): void {
  const available = end - offset;
  if (available < UDP_HEADER_BYTES) {
    h.markMalformed(UDP_TRUNCATED);
    h.headerEnd = end > offset ? end : offset;
    if (available >= 4) {
      h.srcPort = view.getUint16(offset);
      h.dstPort = view.getUint16(offset + 2);
    }
    h.payloadLength = clampedDifference(ipPayloadLength, UDP_HEADER_BYTES);
    return;
  }
  h.srcPort = view.getUint16(offset);
  h.dstPort = view.getUint16(offset + 2);
  const udpLength = view.getUint16(offset + 4);
  h.headerEnd = offset + UDP_HEADER_BYTES;
  if (udpLength === 0 && h.ipVersion === 6) {
    // RFC 2675 jumbogram: the length lives in the IPv6 jumbo option.
    h.payloadLength = clampedDifference(ipPayloadLength, UDP_HEADER_BYTES);
  } else if (udpLength < UDP_HEADER_BYTES) {
    h.markMalformed(UDP_BAD_LENGTH);
    h.payloadLength = clampedDifference(ipPayloadLength, UDP_HEADER_BYTES);
  } else if (udpLength > ipPayloadLength) {
    // A first fragment carries only part of the datagram the length describes.
    if (!h.moreFragments) h.markMalformed(UDP_LENGTH_EXCEEDS_PAYLOAD);
    h.payloadLength = clampedDifference(ipPayloadLength, UDP_HEADER_BYTES);
  } else {
    h.payloadLength = udpLength - UDP_HEADER_BYTES;
    decodeUdpTunnel(bytes, view, h.headerEnd, offset + udpLength, h.dstPort, h);
  }
}

function decodeIcmp(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  end: number,
  ipPayloadLength: number,
  v6: boolean,
  h: PacketHeaders,
): void {
  const available = end - offset;
  h.payloadLength = clampedDifference(ipPayloadLength, ICMP_HEADER_BYTES);
  h.headerEnd = offset +
    (available < ICMP_HEADER_BYTES ? (available > 0 ? available : 0) : ICMP_HEADER_BYTES);
  // Type, code and checksum are the header every message has; only echo
  // messages define the next 4 bytes as header fields we read.
  let needed = ICMP_COMMON_HEADER_BYTES;
  if (available >= 1) {
    const type = bytes[offset];
    h.icmpType = type;
    if (available >= 2) h.icmpCode = bytes[offset + 1];
    const echo = v6
      ? type === ICMPV6_ECHO_REQUEST || type === ICMPV6_ECHO_REPLY
      : type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY;
    if (echo) {
      needed = ICMP_HEADER_BYTES;
      if (available >= 6) h.icmpId = view.getUint16(offset + 4);
      if (available >= 8) h.icmpSeq = view.getUint16(offset + 6);
    }
  }
  if (available < needed) h.markMalformed(v6 ? ICMPV6_TRUNCATED : ICMP_TRUNCATED);
}

function decodeSctp(
  view: DataView,
  offset: number,
  end: number,
  ipPayloadLength: number,
  h: PacketHeaders,
): void {
  const available = end - offset;
  if (available >= 4) {
    h.srcPort = view.getUint16(offset);
    h.dstPort = view.getUint16(offset + 2);
  }
  h.payloadLength = clampedDifference(ipPayloadLength, SCTP_COMMON_HEADER_BYTES);
  if (available >= SCTP_COMMON_HEADER_BYTES) {
    h.headerEnd = offset + SCTP_COMMON_HEADER_BYTES;
  } else {
    h.markMalformed(SCTP_TRUNCATED);
    h.headerEnd = end > offset ? end : offset;
  }
}

function clampedDifference(total: number, header: number): number {
  return total > header ? total - header : 0;
}
