/**
 * What every encapsulation shares: entering a tunnel (its type and id, the
 * outermost IP addresses, the depth limit) and decoding the packet it
 * carries, whose fields then replace the outer packet's.
 *
 * A tunnel decoder calls {@linkcode beginTunnel} once it has recognised its
 * header, reads the header (setting `h.tunnelId`), and hands the payload to
 * {@linkcode decodeInnerEthernet} or {@linkcode decodeInnerIp}. A header cut
 * short or invalid is flagged malformed and the record keeps the outer
 * packet's fields, with the tunnel type set: what could be read is kept.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import { MAX_TUNNEL_DEPTH, type TunnelType } from "./packet_record.ts";
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ether_types.ts";
import { decodeIpv4, decodeIpv6 } from "./_decode_ip.ts";
import { decodeEtherType } from "./_decode_link.ts";
import { TUNNEL_INNER_ETHERNET_TRUNCATED, TUNNEL_TOO_DEEP } from "./_malformed.ts";

const ETHERNET_HEADER_BYTES = 14;
const MAC_BYTES = 6;

/**
 * Starts a tunnel of `type` whose header begins at the current layer's end.
 * Records the outermost IP header's addresses (once per frame: the first
 * tunnel entered from an IP packet), clears the id of any tunnel outside
 * this one, and counts the depth. Returns false, with the frame flagged
 * malformed, when {@link MAX_TUNNEL_DEPTH} tunnels are already open: the
 * record then describes the last packet decoded.
 */
export function beginTunnel(h: PacketHeaders, type: TunnelType): boolean {
  if (h.tunnelDepth >= MAX_TUNNEL_DEPTH) {
    h.markMalformed(TUNNEL_TOO_DEEP);
    return false;
  }
  h.tunnelDepth++;
  h.tunnelType = type;
  h.tunnelId = -1;
  if (h.tunnelSrcOffset < 0 && h.ipVersion !== 0 && h.dstAddrOffset >= 0) {
    h.tunnelAddressFamily = h.addressFamily;
    h.tunnelSrcOffset = h.srcAddrOffset;
    h.tunnelDstOffset = h.dstAddrOffset;
  }
  return true;
}

/**
 * Narrows decoding to the tunnel's payload, `[offset, wireEnd)` on the wire,
 * so bytes after it (the outer packet's trailer or padding) are never read
 * as inner headers.
 */
function narrow(h: PacketHeaders, offset: number, wireEnd: number): void {
  if (wireEnd < h.wireEnd) h.wireEnd = wireEnd;
  if (h.wireEnd < h.captureEnd) h.captureEnd = h.wireEnd;
  h.headerEnd = offset < h.captureEnd ? offset : h.captureEnd;
}

/**
 * Decodes the Ethernet frame a tunnel carries (VXLAN, Geneve, ERSPAN, GRE
 * transparent bridging): its addresses, VLAN tags and network layer replace
 * the outer ones.
 */
export function decodeInnerEthernet(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  wireEnd: number,
  h: PacketHeaders,
): void {
  narrow(h, offset, wireEnd);
  if (h.captureEnd - offset < ETHERNET_HEADER_BYTES) {
    h.markMalformed(TUNNEL_INNER_ETHERNET_TRUNCATED);
    h.headerEnd = h.captureEnd;
    return;
  }
  h.resetLink();
  h.ethDstOffset = offset;
  h.ethSrcOffset = offset + MAC_BYTES;
  decodeEtherType(
    bytes,
    view,
    offset + ETHERNET_HEADER_BYTES,
    view.getUint16(offset + 12),
    h,
  );
}

/**
 * Decodes the IP packet a tunnel carries. `version` is 4 or 6 when the
 * tunnel says which (an EtherType, an IP protocol number), or 0 to go by
 * the packet's first nibble (MPLS, GTP-U). Returns false, decoding nothing,
 * when the version is 0 and the nibble is neither 4 nor 6: the caller then
 * keeps the outer fields.
 */
export function decodeInnerIp(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  wireEnd: number,
  version: 0 | 4 | 6,
  h: PacketHeaders,
): boolean {
  if (version === 0) {
    const end = wireEnd < h.captureEnd ? wireEnd : h.captureEnd;
    if (offset >= end) return false;
    const nibble = bytes[offset] >> 4;
    if (nibble !== 4 && nibble !== 6) return false;
    version = nibble;
  }
  narrow(h, offset, wireEnd);
  h.resetNetwork();
  // The network layer's type, as an EtherType would name it, whatever carried it.
  h.etherType = version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
  if (version === 4) decodeIpv4(bytes, view, offset, h);
  else decodeIpv6(bytes, view, offset, h);
  return true;
}

/**
 * Records a tunnel payload of a kind we do not decode: the outer packet's
 * network and transport fields are cleared (they describe the tunnel, which
 * its own fields keep), and `protocol` names what was carried.
 */
export function decodeInnerUnknown(
  offset: number,
  wireEnd: number,
  protocol: string,
  h: PacketHeaders,
): void {
  narrow(h, offset, wireEnd);
  h.resetNetwork();
  h.etherType = -1;
  h.protocol = protocol;
  h.payloadLength = h.wireEnd > offset ? h.wireEnd - offset : 0;
}

/**
 * IP in IP (RFC 2003, RFC 4213, RFC 2473): IP protocol 4 carries IPv4 and 41
 * IPv6, over either version, so 4in4, 6in4 (`sit`), 4in6 and 6in6. There is
 * no tunnel header and no id. A first fragment of the outer packet holds
 * only part of the inner one, so it is left undecoded, like the later ones.
 */
export function decodeIpInIp(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  ipPayloadLength: number,
  version: 4 | 6,
  h: PacketHeaders,
): void {
  h.payloadLength = ipPayloadLength;
  if (h.moreFragments || !beginTunnel(h, "ipip")) return;
  decodeInnerIp(bytes, view, offset, offset + ipPayloadLength, version, h);
}
