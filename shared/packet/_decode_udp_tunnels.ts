/**
 * Tunnels over UDP: VXLAN (RFC 7348), Geneve (RFC 8926) and GTP-U (3GPP TS
 * 29.281).
 *
 * Which datagrams are decoded: those sent to the tunnel's IANA port (VXLAN
 * 4789, Geneve 6081, GTP-U 2152) whose first bytes pass a content check
 * (VXLAN's I flag, Geneve version 0, GTP version 1 with the GTP protocol
 * type and a G-PDU message). Only the destination port counts, because a
 * tunnel endpoint always receives on the IANA port (RFC 7348 §5, RFC 8926
 * §3.3, TS 29.281 §4.4.2.3) while its source port is a flow hash, and any
 * other host's ephemeral port may happen to be 4789: the reply to such a
 * host, sent *from* 4789, is not VXLAN. (tshark decodes either port.) The
 * content checks keep ordinary traffic to those ports (a scan, a reused
 * port) from being read as a tunnel. A first fragment of the outer packet
 * holds only part of the inner one, so it is not decoded either.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ether_types.ts";
import {
  beginTunnel,
  decodeInnerEthernet,
  decodeInnerIp,
  decodeInnerUnknown,
} from "./_decode_tunnel.ts";
import {
  GENEVE_BAD_OPTION,
  GENEVE_TRUNCATED,
  GTPU_BAD_EXTENSION,
  GTPU_BAD_LENGTH,
  GTPU_TRUNCATED,
  VXLAN_TRUNCATED,
} from "./_malformed.ts";

/** IANA port of VXLAN. */
export const UDP_PORT_VXLAN = 4789;
/** IANA port of Geneve. */
export const UDP_PORT_GENEVE = 6081;
/** IANA port of GTP-U. */
export const UDP_PORT_GTPU = 2152;

const VXLAN_HEADER_BYTES = 8;
/** VXLAN's I flag: the VNI is valid. */
const VXLAN_FLAG_I = 0x08;
const GENEVE_HEADER_BYTES = 8;
const GENEVE_OPTION_HEADER_BYTES = 4;
const ETHERTYPE_TEB = 0x6558;
const GTP_HEADER_BYTES = 8;
const GTP_OPTIONAL_BYTES = 4;
/** The version (3 bits) and protocol type (1 bit) of the first byte... */
const GTP_VERSION_AND_TYPE = 0xf0;
/** ...for version 1 and protocol type GTP (not GTP'). */
const GTP_V1 = 0x30;
const GTP_FLAG_E = 0x04;
const GTP_FLAG_S = 0x02;
const GTP_FLAG_PN = 0x01;
/** G-PDU: the message carries a user packet (T-PDU). */
const GTP_G_PDU = 0xff;

/** Protocol names of tunnel payloads we do not decode. */
const PROTOCOL_GENEVE = "GENEVE";
const PROTOCOL_GTPU = "GTP-U";

/**
 * Decodes the tunnel in a UDP datagram to one of the tunnel ports, if it is
 * one. `offset` is the UDP payload, `wireEnd` the datagram's end on the
 * wire. Leaves the record as plain UDP when the content check fails.
 */
export function decodeUdpTunnel(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  wireEnd: number,
  dstPort: number,
  h: PacketHeaders,
): void {
  if (h.moreFragments) return;
  switch (dstPort) {
    case UDP_PORT_VXLAN:
      return decodeVxlan(bytes, view, offset, wireEnd, h);
    case UDP_PORT_GENEVE:
      return decodeGeneve(bytes, view, offset, wireEnd, h);
    case UDP_PORT_GTPU:
      return decodeGtpu(bytes, view, offset, wireEnd, h);
  }
}

/** VXLAN and Geneve both keep a 24-bit VNI in bytes 4..6 of their header. */
const VNI_END = 7;

function readVni(bytes: Uint8Array, p: number): number {
  return (bytes[p + 4] << 16) | (bytes[p + 5] << 8) | bytes[p + 6];
}

function capturedEnd(wireEnd: number, h: PacketHeaders): number {
  return wireEnd < h.captureEnd ? wireEnd : h.captureEnd;
}

function truncated(reason: string, end: number, h: PacketHeaders): void {
  h.markMalformed(reason);
  h.headerEnd = end;
}

/** VXLAN: 8 bytes (flags, 24-bit VNI), then an Ethernet frame. */
function decodeVxlan(
  bytes: Uint8Array,
  view: DataView,
  p: number,
  wireEnd: number,
  h: PacketHeaders,
): void {
  const end = capturedEnd(wireEnd, h);
  if (p >= end || (bytes[p] & VXLAN_FLAG_I) === 0) return;
  if (!beginTunnel(h, "vxlan")) return;
  // The VNI ends a byte before the header does: keep it when that byte is cut.
  if (p + VNI_END <= end) h.tunnelId = readVni(bytes, p);
  if (p + VXLAN_HEADER_BYTES > end) return truncated(VXLAN_TRUNCATED, end, h);
  decodeInnerEthernet(bytes, view, p + VXLAN_HEADER_BYTES, wireEnd, h);
}

/**
 * Geneve: 8 bytes (version, options length, flags, protocol type, 24-bit
 * VNI), then options of 4-byte units, then the payload the protocol type
 * names. The options must fill their length exactly; if they do not, the
 * header length still says where the payload starts.
 */
function decodeGeneve(
  bytes: Uint8Array,
  view: DataView,
  p: number,
  wireEnd: number,
  h: PacketHeaders,
): void {
  const end = capturedEnd(wireEnd, h);
  if (p >= end || bytes[p] >> 6 !== 0) return;
  if (!beginTunnel(h, "geneve")) return;
  if (p + VNI_END <= end) h.tunnelId = readVni(bytes, p);
  if (p + GENEVE_HEADER_BYTES > end) return truncated(GENEVE_TRUNCATED, end, h);
  const optionsEnd = p + GENEVE_HEADER_BYTES + ((bytes[p] & 0x3f) << 2);
  const protocolType = view.getUint16(p + 2);
  if (optionsEnd > end) return truncated(GENEVE_TRUNCATED, end, h);
  let o = p + GENEVE_HEADER_BYTES;
  while (o < optionsEnd) {
    if (o + GENEVE_OPTION_HEADER_BYTES > optionsEnd) break;
    o += GENEVE_OPTION_HEADER_BYTES + ((bytes[o + 3] & 0x1f) << 2);
  }
  if (o !== optionsEnd) h.markMalformed(GENEVE_BAD_OPTION);
  switch (protocolType) {
    case ETHERTYPE_TEB:
      decodeInnerEthernet(bytes, view, optionsEnd, wireEnd, h);
      return;
    case ETHERTYPE_IPV4:
      decodeInnerIp(bytes, view, optionsEnd, wireEnd, 4, h);
      return;
    case ETHERTYPE_IPV6:
      decodeInnerIp(bytes, view, optionsEnd, wireEnd, 6, h);
      return;
    default:
      decodeInnerUnknown(optionsEnd, wireEnd, PROTOCOL_GENEVE, h);
  }
}

/**
 * GTP-U: 8 bytes (flags, message type, length, TEID), 4 more when any of
 * the E, S or PN flags is set, then the chain of extension headers (each a
 * length in 4-byte units, content, and the next type), then for a G-PDU the
 * user's IP packet. Other messages (echo, error indication, end marker) are
 * path signalling between the tunnel endpoints, not tunnelled traffic, and
 * stay plain UDP.
 */
function decodeGtpu(
  bytes: Uint8Array,
  view: DataView,
  p: number,
  wireEnd: number,
  h: PacketHeaders,
): void {
  const end = capturedEnd(wireEnd, h);
  if (p + 2 > end) return;
  const flags = bytes[p];
  if ((flags & GTP_VERSION_AND_TYPE) !== GTP_V1 || bytes[p + 1] !== GTP_G_PDU) return;
  if (!beginTunnel(h, "gtpu")) return;
  if (p + GTP_HEADER_BYTES > end) return truncated(GTPU_TRUNCATED, end, h);
  h.tunnelId = view.getUint32(p + 4);
  let messageEnd = p + GTP_HEADER_BYTES + view.getUint16(p + 2);
  if (messageEnd > wireEnd) {
    h.markMalformed(GTPU_BAD_LENGTH);
    messageEnd = wireEnd;
  }
  const messageCaptured = capturedEnd(messageEnd, h);
  let o = p + GTP_HEADER_BYTES;
  if ((flags & (GTP_FLAG_E | GTP_FLAG_S | GTP_FLAG_PN)) !== 0) {
    if (o + GTP_OPTIONAL_BYTES > messageCaptured) {
      return truncated(
        o + GTP_OPTIONAL_BYTES > messageEnd ? GTPU_BAD_LENGTH : GTPU_TRUNCATED,
        messageCaptured,
        h,
      );
    }
    let next = (flags & GTP_FLAG_E) !== 0 ? bytes[o + 3] : 0;
    o += GTP_OPTIONAL_BYTES;
    while (next !== 0) {
      if (o >= messageCaptured) {
        return truncated(o >= messageEnd ? GTPU_BAD_EXTENSION : GTPU_TRUNCATED, messageCaptured, h);
      }
      const length = bytes[o] << 2;
      if (length === 0) return truncated(GTPU_BAD_EXTENSION, messageCaptured, h);
      if (o + length > messageCaptured) {
        return truncated(
          o + length > messageEnd ? GTPU_BAD_EXTENSION : GTPU_TRUNCATED,
          messageCaptured,
          h,
        );
      }
      next = bytes[o + length - 1];
      o += length;
    }
  }
  if (!decodeInnerIp(bytes, view, o, messageEnd, 0, h)) {
    decodeInnerUnknown(o, messageEnd, PROTOCOL_GTPU, h);
  }
}
