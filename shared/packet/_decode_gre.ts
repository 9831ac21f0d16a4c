/**
 * GRE (IP protocol 47): RFC 2784 with RFC 2890's key and sequence number,
 * RFC 1701's source routes, and PPTP's enhanced GRE (version 1, RFC 2637).
 * The payload is named by an EtherType: IPv4, IPv6, an Ethernet frame
 * (transparent bridging, 0x6558, as `gretap` sends), ERSPAN port mirroring
 * (types I, II and III), MPLS (RFC 4023) or PPP. Any other payload, or a GRE version other
 * than 0 and 1, is left as the outer packet's GRE payload.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_MPLS,
  ETHERTYPE_MPLS_MULTICAST,
} from "./ether_types.ts";
import {
  beginTunnel,
  decodeInnerEthernet,
  decodeInnerIp,
  decodeInnerUnknown,
} from "./_decode_tunnel.ts";
import { decodePpp } from "./_decode_ppp.ts";
import { decodeMpls } from "./_decode_mpls.ts";
import { ERSPAN_TRUNCATED, GRE_BAD_ROUTING, GRE_TRUNCATED } from "./_malformed.ts";

const GRE_CHECKSUM = 0x8000;
const GRE_ROUTING = 0x4000;
const GRE_KEY = 0x2000;
const GRE_SEQUENCE = 0x1000;
const GRE_ACK = 0x0080;
const GRE_VERSION_MASK = 0x0007;
const GRE_FIXED_BYTES = 4;
const SRE_HEADER_BYTES = 4;
/** Transparent Ethernet bridging: the payload is an Ethernet frame. */
const ETHERTYPE_TEB = 0x6558;
/** ERSPAN type I and II (type I has no ERSPAN header, and no GRE sequence number). */
const ETHERTYPE_ERSPAN = 0x88be;
/** ERSPAN type III. */
const ETHERTYPE_ERSPAN3 = 0x22eb;
const ETHERTYPE_PPP = 0x880b;
const ERSPAN_II_BYTES = 8;
const ERSPAN_III_BYTES = 12;
const ERSPAN_PLATFORM_SUBHEADER_BYTES = 8;
const ERSPAN_VERSION_II = 1;
const ERSPAN_VERSION_III = 2;
/** ERSPAN type III frame type of an Ethernet frame (the other defined one, 2, is IP). */
const ERSPAN_FRAME_ETHERNET = 0;

/** Protocol name of an ERSPAN payload we do not decode. */
const PROTOCOL_ERSPAN = "ERSPAN";

/**
 * Decodes the GRE header at `offset` (the IP payload, `ipPayloadLength`
 * bytes on the wire) and the packet it carries.
 */
export function decodeGre(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  ipPayloadLength: number,
  h: PacketHeaders,
): void {
  h.payloadLength = ipPayloadLength;
  const wireEnd = offset + ipPayloadLength;
  const end = wireEnd < h.captureEnd ? wireEnd : h.captureEnd;
  if (end - offset < GRE_FIXED_BYTES) {
    h.markMalformed(GRE_TRUNCATED);
    h.headerEnd = end > offset ? end : offset;
    return;
  }
  const flags = view.getUint16(offset);
  const protocolType = view.getUint16(offset + 2);
  const version = flags & GRE_VERSION_MASK;
  const known = version === 0
    ? protocolType === ETHERTYPE_IPV4 || protocolType === ETHERTYPE_IPV6 ||
      protocolType === ETHERTYPE_TEB || protocolType === ETHERTYPE_ERSPAN ||
      protocolType === ETHERTYPE_ERSPAN3 || protocolType === ETHERTYPE_MPLS ||
      protocolType === ETHERTYPE_MPLS_MULTICAST
    : version === 1 && protocolType === ETHERTYPE_PPP && (flags & GRE_KEY) !== 0;
  // A first fragment holds only part of the tunnelled packet: leave it.
  if (!known || h.moreFragments) return;
  const erspan = protocolType === ETHERTYPE_ERSPAN || protocolType === ETHERTYPE_ERSPAN3;
  if (!beginTunnel(h, erspan ? "erspan" : "gre")) return;

  let p = offset + GRE_FIXED_BYTES;
  if ((flags & (GRE_CHECKSUM | GRE_ROUTING)) !== 0) p += 4;
  if ((flags & GRE_KEY) !== 0) {
    if (p + 4 > end) return truncated(GRE_TRUNCATED, end, h);
    // Version 1 keeps the payload length in the high half and the call id in the low.
    if (!erspan) h.tunnelId = version === 1 ? view.getUint16(p + 2) : view.getUint32(p);
    p += 4;
  }
  if ((flags & GRE_SEQUENCE) !== 0) p += 4;
  if (version === 1 && (flags & GRE_ACK) !== 0) p += 4;
  if (p > end) return truncated(GRE_TRUNCATED, end, h);
  if (version === 0 && (flags & GRE_ROUTING) !== 0) {
    p = skipSourceRoutes(bytes, p, end, wireEnd, h);
    if (p < 0) return;
  }

  switch (protocolType) {
    case ETHERTYPE_IPV4:
      decodeInnerIp(bytes, view, p, wireEnd, 4, h);
      return;
    case ETHERTYPE_IPV6:
      decodeInnerIp(bytes, view, p, wireEnd, 6, h);
      return;
    case ETHERTYPE_TEB:
      decodeInnerEthernet(bytes, view, p, wireEnd, h);
      return;
    case ETHERTYPE_PPP:
      decodePpp(bytes, view, p, wireEnd, true, h);
      return;
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MULTICAST:
      decodeMpls(bytes, view, p, wireEnd, h);
      return;
    default:
      decodeErspan(bytes, view, p, wireEnd, (flags & GRE_SEQUENCE) !== 0, h);
  }
}

/**
 * Walks RFC 1701 source route entries (address family, offset, length,
 * then `length` bytes) to the null entry that ends them. Returns the offset
 * after it, or -1 with the frame flagged when they run past the packet.
 */
function skipSourceRoutes(
  bytes: Uint8Array,
  p: number,
  end: number,
  wireEnd: number,
  h: PacketHeaders,
): number {
  for (;;) {
    if (p + SRE_HEADER_BYTES > end) {
      truncated(p + SRE_HEADER_BYTES > wireEnd ? GRE_BAD_ROUTING : GRE_TRUNCATED, end, h);
      return -1;
    }
    const family = (bytes[p] << 8) | bytes[p + 1];
    const length = bytes[p + 3];
    p += SRE_HEADER_BYTES;
    if (family === 0 && length === 0) return p;
    p += length;
  }
}

/**
 * ERSPAN (draft-foschiano-erspan): a mirrored Ethernet frame, behind an
 * 8-byte type II or 12-byte type III header whose version nibble says which,
 * or with no header at all (type I, sent without a GRE sequence number).
 * The session id is the tunnel id.
 */
function decodeErspan(
  bytes: Uint8Array,
  view: DataView,
  p: number,
  wireEnd: number,
  sequenced: boolean,
  h: PacketHeaders,
): void {
  if (!sequenced) {
    decodeInnerEthernet(bytes, view, p, wireEnd, h);
    return;
  }
  const end = wireEnd < h.captureEnd ? wireEnd : h.captureEnd;
  if (p + 4 > end) return truncated(ERSPAN_TRUNCATED, end, h);
  const version = bytes[p] >> 4;
  h.tunnelId = view.getUint16(p + 2) & 0x03ff;
  if (version === ERSPAN_VERSION_II) {
    if (p + ERSPAN_II_BYTES > end) return truncated(ERSPAN_TRUNCATED, end, h);
    decodeInnerEthernet(bytes, view, p + ERSPAN_II_BYTES, wireEnd, h);
    return;
  }
  if (version !== ERSPAN_VERSION_III) {
    decodeInnerUnknown(p, wireEnd, PROTOCOL_ERSPAN, h);
    return;
  }
  if (p + ERSPAN_III_BYTES > end) return truncated(ERSPAN_TRUNCATED, end, h);
  const word = view.getUint16(p + 10);
  let inner = p + ERSPAN_III_BYTES;
  if ((word & 1) !== 0) {
    if (inner + ERSPAN_PLATFORM_SUBHEADER_BYTES > end) return truncated(ERSPAN_TRUNCATED, end, h);
    inner += ERSPAN_PLATFORM_SUBHEADER_BYTES;
  }
  if (((word >> 10) & 0x1f) === ERSPAN_FRAME_ETHERNET) {
    decodeInnerEthernet(bytes, view, inner, wireEnd, h);
  } else {
    decodeInnerUnknown(inner, wireEnd, PROTOCOL_ERSPAN, h);
  }
}

function truncated(reason: string, end: number, h: PacketHeaders): void {
  h.markMalformed(reason);
  h.headerEnd = end;
}
