/**
 * Test support: the packets the tunnel decoder tests wrap and unwrap.
 *
 * @module
 */

import { decodePacket } from "./decode_packet.ts";
import { encodePacket, type Ipv4Spec, type Ipv6Spec, type PacketSpec } from "./packet_encoder.ts";
import type { PacketRecord } from "./packet_record.ts";

/** Outer (tunnel endpoint) headers. */
export const V4_OUTER: Ipv4Spec = { version: 4, src: "192.0.2.1", dst: "192.0.2.2" };
/** Outer IPv6 header. */
export const V6_OUTER: Ipv6Spec = { version: 6, src: "2001:db8::1", dst: "2001:db8::2" };
/** Inner (tenant) headers. */
export const V4_INNER: Ipv4Spec = { version: 4, src: "10.0.0.1", dst: "10.0.0.2", ttl: 33 };
/** Inner IPv6 header. */
export const V6_INNER: Ipv6Spec = { version: 6, src: "fd00::1", dst: "fd00::2", hopLimit: 33 };
/** An inner TCP SYN-ACK. */
export const TCP = { protocol: "tcp", srcPort: 51000, dstPort: 443, flags: 0x12 } as const;
/** An inner Ethernet frame with a VLAN tag, carrying DNS over IPv4. */
export const INNER_ETHERNET: PacketSpec = {
  ethernet: { src: "02:00:00:00:00:aa", dst: "02:00:00:00:00:bb", vlans: [{ id: 30 }] },
  ip: V4_INNER,
  transport: { protocol: "udp", srcPort: 5353, dstPort: 53 },
};

/** Decodes an Ethernet (or `linkType`) frame, keeping the headers in `data`. */
export function decode(frame: Uint8Array, linkType = 1): PacketRecord {
  return decodePacket(frame, { linkType, timestampSec: 0, payloadCapture: "headers" });
}

/** An IP packet with no link header, to put inside a tunnel. */
export function rawIp(spec: Omit<PacketSpec, "link">): Uint8Array {
  return encodePacket({ ...spec, link: "raw" });
}

/** An Ethernet frame whose IP payload is `payload` under IP protocol `number`. */
export function overIp(
  number: number,
  payload: Uint8Array,
  outer: Ipv4Spec | Ipv6Spec = V4_OUTER,
): Uint8Array {
  return encodePacket({ ip: outer, transport: { protocol: "other", number }, payload });
}

/** An Ethernet frame carrying a UDP datagram to `dstPort` with `payload`. */
export function overUdp(
  dstPort: number,
  payload: Uint8Array,
  outer: Ipv4Spec | Ipv6Spec = V4_OUTER,
  srcPort = 49152,
): Uint8Array {
  return encodePacket({ ip: outer, transport: { protocol: "udp", srcPort, dstPort }, payload });
}
