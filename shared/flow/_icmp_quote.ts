/**
 * Reads the datagram quoted inside an ICMP/ICMPv6 error (RFC 792 / 4443:
 * the offending IP header plus at least 8 bytes of its payload) from a
 * record's captured bytes, so that a "destination unreachable" can be
 * charged to the flow that caused it.
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
import { formatIpv4, formatIpv6 } from "./_ip.ts";

/** The 5-tuple of a quoted datagram, as the sender of the error saw it. */
export interface QuotedTuple {
  /** Source address of the quoted datagram (the flow's sender). */
  srcIp: string;
  /** Destination address of the quoted datagram. */
  dstIp: string;
  /** IP protocol of the quoted datagram. */
  ipProto: number;
  /** Source port, or null when the protocol has none or it was cut off. */
  srcPort: number | null;
  /** Destination port, or null. */
  dstPort: number | null;
}

const ETHERNET_HEADER = 14;
const VLAN_TAG = 4;
const ICMP_HEADER = 8;

/** NFLOG: the header, then TLVs; type 9 holds the packet. */
const NFLOG_HEADER = 4;
const NFULA_PAYLOAD = 9;

/**
 * Bytes before the network layer for the link types the decoders produce,
 * read off the frame where the link header's length varies. 802.11 is left
 * out: its header varies with too many bits to be worth repeating here.
 */
function networkOffset(record: PacketRecord, bytes: Uint8Array): number | null {
  switch (record.link_type) {
    case 1: // Ethernet, plus one 4-byte tag per VLAN header the decoder saw
      return ETHERNET_HEADER + (record.vlan_id !== null ? VLAN_TAG : 0) +
        (record.vlan_inner_id !== null ? VLAN_TAG : 0);
    case 113: // Linux cooked v1
      return 16;
    case 276: // Linux cooked v2
      return 20;
    case 0: // BSD loopback
    case 108: // OpenBSD loopback
      return 4;
    case 12: // raw IP (some platforms)
    case 14:
    case 101: // raw IP
    case 228: // raw IPv4
    case 229: // raw IPv6
      return 0;
    case 104: // Cisco HDLC: address, control, EtherType
      return 4;
    case 9: // PPP, with or without address and control (protocol not compressed)
    case 50: // PPP in HDLC framing, or Cisco HDLC (also 4 bytes)
      return bytes.length >= 2 && bytes[0] !== 0xff && (bytes[0] & 0x7f) !== 0x0f ? 2 : 4;
    case 117: // pf log: the header's length, padded to 4 bytes
      return bytes.length >= 1 ? (bytes[0] + 3) & ~3 : null;
    case 239:
      return nflogPayload(bytes);
    default:
      return null;
  }
}

/** Offset of an NFLOG frame's packet: its TLVs walked in either byte order. */
function nflogPayload(bytes: Uint8Array): number | null {
  if (bytes.length < NFLOG_HEADER + 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const littleEndian = (view.getUint16(NFLOG_HEADER + 2, true) & 0x7fff) <= 0xff;
  let offset = NFLOG_HEADER;
  while (offset + 4 <= bytes.length) {
    const length = view.getUint16(offset, littleEndian);
    if (length < 4) return null;
    if ((view.getUint16(offset + 2, littleEndian) & 0x7fff) === NFULA_PAYLOAD) return offset + 4;
    offset += (length + 3) & ~3;
  }
  return null;
}

function decodeBase64(text: string): Uint8Array | null {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

/**
 * Returns the quoted datagram's tuple, or null when the record has no
 * captured bytes, they are cut short, or they do not line up with the
 * decoded headers (which is checked, so a wrong guess is never used).
 */
export function readIcmpQuote(record: PacketRecord): QuotedTuple | null {
  if (record.data === null || record.ip_header_length === null) return null;
  const bytes = decodeBase64(record.data);
  if (bytes === null) return null;
  const offset = networkOffset(record, bytes);
  if (offset === null) return null;
  const ip = offset;
  if (bytes.length < ip + 1 || bytes[ip] >> 4 !== record.ip_version) return null;
  const icmp = ip + record.ip_header_length;
  if (bytes.length < icmp + ICMP_HEADER || bytes[icmp] !== record.icmp_type) {
    return null;
  }
  const quote = icmp + ICMP_HEADER;
  if (bytes.length < quote + 1) return null;
  const version = bytes[quote] >> 4;
  let ipProto: number;
  let srcIp: string;
  let dstIp: string;
  let transport: number;
  if (version === 4 && record.ip_proto === IPPROTO_ICMP) {
    if (bytes.length < quote + 20) return null;
    const ihl = (bytes[quote] & 0x0f) * 4;
    if (ihl < 20) return null;
    ipProto = bytes[quote + 9];
    srcIp = formatIpv4(bytes, quote + 12);
    dstIp = formatIpv4(bytes, quote + 16);
    // A quoted non-first fragment carries no ports.
    const fragmentOffset = ((bytes[quote + 6] & 0x1f) << 8) | bytes[quote + 7];
    transport = fragmentOffset === 0 ? quote + ihl : -1;
  } else if (version === 6 && record.ip_proto === IPPROTO_ICMPV6) {
    if (bytes.length < quote + 40) return null;
    ipProto = bytes[quote + 6];
    srcIp = formatIpv6(bytes, quote + 8);
    dstIp = formatIpv6(bytes, quote + 24);
    // Extension headers in the quote are not walked: such a quote keeps no ports.
    transport = quote + 40;
  } else {
    return null;
  }
  let srcPort: number | null = null;
  let dstPort: number | null = null;
  const hasPorts = ipProto === IPPROTO_TCP || ipProto === IPPROTO_UDP ||
    ipProto === IPPROTO_SCTP;
  if (hasPorts && transport >= 0 && bytes.length >= transport + 4) {
    srcPort = (bytes[transport] << 8) | bytes[transport + 1];
    dstPort = (bytes[transport + 2] << 8) | bytes[transport + 3];
  }
  return { srcIp, dstIp, ipProto, srcPort, dstPort };
}
