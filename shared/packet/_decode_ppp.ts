/**
 * PPP (RFC 1661) as tunnels carry it (PPPoE sessions, RFC 2516, and PPTP's
 * enhanced GRE) and as the PPP link types capture it. Only the protocol
 * field matters here: IPv4 and IPv6 go on to the IP decoders, and the link's own control protocols (LCP, IPCP, PAP,
 * …) are named. PPPoE discovery (EtherType 0x8863) sets a session up and
 * carries no packet: it is its own protocol, `PPPoED`, named by its
 * EtherType like any other.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import { beginTunnel, decodeInnerIp, decodeInnerUnknown } from "./_decode_tunnel.ts";
import { decodeIpv4, decodeIpv6 } from "./_decode_ip.ts";
import { PPP_TRUNCATED, PPPOE_BAD_LENGTH, PPPOE_TRUNCATED } from "./_malformed.ts";

const PPPOE_HEADER_BYTES = 6;
/** Version 1, type 1: the only PPPoE there is. */
const PPPOE_VERSION_TYPE = 0x11;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
/** HDLC-like framing's all-stations address and unnumbered-information control (RFC 1662). */
const PPP_ADDRESS = 0xff;
const PPP_CONTROL = 0x03;

/** Protocol names of PPP's control protocols, as tshark names their layers. */
const PPP_NAMES: ReadonlyMap<number, string> = new Map([
  [0xc021, "LCP"],
  [0x8021, "IPCP"],
  [0x8057, "IPV6CP"],
  [0xc023, "PAP"],
  [0xc223, "CHAP"],
  [0x80fd, "CCP"],
  [0xc025, "LQR"],
  [0xc227, "EAP"],
  [0x8281, "MPLSCP"],
]);
/** Protocol name of any other PPP payload. */
export const PROTOCOL_PPP = "PPP";

/**
 * Reads the PPP header at `offset` and returns its protocol, leaving
 * `h.headerEnd` after it; -1 (flagged) when it is cut off. `framed` allows
 * the HDLC-like address and control bytes in front (GRE carries them unless
 * compressed, a PPP link type may; PPPoE never does). A protocol field whose
 * first byte is odd is one byte long (protocol-field compression).
 */
function readPppHeader(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  end: number,
  framed: boolean,
  h: PacketHeaders,
): number {
  if (framed && offset < end && bytes[offset] === PPP_ADDRESS) {
    // 0xFF is the address byte, never a protocol: its control byte must follow.
    if (offset + 2 <= end && bytes[offset + 1] === PPP_CONTROL) offset += 2;
    else if (offset + 2 > end) offset = end;
  }
  if (offset >= end) {
    h.markMalformed(PPP_TRUNCATED);
    h.headerEnd = end;
    return -1;
  }
  if ((bytes[offset] & 1) === 1) {
    h.headerEnd = offset + 1;
    return bytes[offset];
  }
  if (offset + 2 > end) {
    h.markMalformed(PPP_TRUNCATED);
    h.headerEnd = end;
    return -1;
  }
  h.headerEnd = offset + 2;
  return view.getUint16(offset);
}

/** Decodes the PPP frame a tunnel carries at `offset`, up to `wireEnd`. */
export function decodePpp(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  wireEnd: number,
  framed: boolean,
  h: PacketHeaders,
): void {
  const end = wireEnd < h.captureEnd ? wireEnd : h.captureEnd;
  const protocol = readPppHeader(bytes, view, offset, end, framed, h);
  if (protocol < 0) return;
  const p = h.headerEnd;
  switch (protocol) {
    case PPP_IPV4:
      decodeInnerIp(bytes, view, p, wireEnd, 4, h);
      return;
    case PPP_IPV6:
      decodeInnerIp(bytes, view, p, wireEnd, 6, h);
      return;
    default:
      decodeInnerUnknown(p, wireEnd, PPP_NAMES.get(protocol) ?? PROTOCOL_PPP, h);
  }
}

/**
 * Decodes a frame of the PPP link types (LINKTYPE 9, and 50 when it is not
 * Cisco HDLC): the same header, address and control optional, straight in
 * front of the network layer. Not a tunnel: the packet is the frame's own.
 */
export function decodePppLink(bytes: Uint8Array, view: DataView, h: PacketHeaders): void {
  const protocol = readPppHeader(bytes, view, 0, h.captureEnd, true, h);
  if (protocol < 0) {
    h.protocol = PROTOCOL_PPP;
    return;
  }
  const p = h.headerEnd;
  switch (protocol) {
    case PPP_IPV4:
      return decodeIpv4(bytes, view, p, h);
    case PPP_IPV6:
      return decodeIpv6(bytes, view, p, h);
    default:
      h.protocol = PPP_NAMES.get(protocol) ?? PROTOCOL_PPP;
      h.payloadLength = h.wireEnd > p ? h.wireEnd - p : 0;
  }
}

/**
 * Decodes a PPPoE session frame at `offset` (after the EtherType 0x8864):
 * version and type (1 and 1, else the frame stays plain `PPPoE`), code,
 * session id (the tunnel id), the payload length, then PPP. The length,
 * not the frame, says where the PPP frame ends, so Ethernet padding is
 * never read as payload.
 */
export function decodePppoeSession(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  h: PacketHeaders,
): void {
  const end = h.captureEnd;
  if (offset < end && bytes[offset] !== PPPOE_VERSION_TYPE) return;
  if (!beginTunnel(h, "pppoe")) return;
  if (offset + 4 <= end) h.tunnelId = view.getUint16(offset + 2);
  if (offset + PPPOE_HEADER_BYTES > end) {
    h.markMalformed(PPPOE_TRUNCATED);
    h.headerEnd = end;
    return;
  }
  const p = offset + PPPOE_HEADER_BYTES;
  let wireEnd = p + view.getUint16(offset + 4);
  if (wireEnd > h.wireEnd) {
    h.markMalformed(PPPOE_BAD_LENGTH);
    wireEnd = h.wireEnd;
  }
  decodePpp(bytes, view, p, wireEnd, false, h);
}
