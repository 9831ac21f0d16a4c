/**
 * The network layer behind a BSD address family, as BSD loopback and pf's
 * log headers give it: one dispatch for both link types, with the family
 * numbers the BSDs and Darwin use.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import { decodeIpv4, decodeIpv6 } from "./_decode_ip.ts";

/** Protocol name when nothing above the link layer could be identified. */
export const PROTOCOL_UNKNOWN = "UNKNOWN";

/** BSD `AF_INET`, the same on every BSD. */
const BSD_AF_INET = 2;
/** `AF_INET6` as NetBSD/OpenBSD, FreeBSD and Darwin number it. */
const BSD_AF_INET6_BSD = 24;
const BSD_AF_INET6_FREEBSD = 28;
const BSD_AF_INET6_DARWIN = 30;

/**
 * Decodes the packet at `offset` as IPv4 or IPv6 by its BSD address
 * `family`; any other family leaves the protocol unknown, with the rest of
 * the frame as its payload.
 */
export function decodeBsdFamily(
  bytes: Uint8Array,
  view: DataView,
  family: number,
  offset: number,
  h: PacketHeaders,
): void {
  switch (family) {
    case BSD_AF_INET:
      return decodeIpv4(bytes, view, offset, h);
    case BSD_AF_INET6_BSD:
    case BSD_AF_INET6_FREEBSD:
    case BSD_AF_INET6_DARWIN:
      return decodeIpv6(bytes, view, offset, h);
    default:
      h.protocol = PROTOCOL_UNKNOWN;
      h.payloadLength = h.wireEnd > offset ? h.wireEnd - offset : 0;
  }
}
