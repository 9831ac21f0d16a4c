/**
 * The numeric result of decoding one frame, before any string is built.
 *
 * @module
 */

import type { TunnelType } from "./packet_record.ts";

/**
 * Decoded header fields of one frame as plain numbers. Absent numeric fields
 * are `-1`, addresses are byte offsets into the frame, and `protocol` and
 * `malformedReason` point at interned constant strings, so filling it in
 * allocates nothing. {@linkcode decodeHeaders} refills one instance per frame;
 * {@linkcode decodePacket} turns it into a {@linkcode PacketRecord}.
 */
export class PacketHeaders {
  /** Link type the frame was decoded as. */
  linkType = 0;
  /** Captured bytes. */
  caplen = 0;
  /** Bytes on the wire (never less than `caplen`). */
  wireLength = 0;
  /** Offset of the source MAC, or -1. */
  ethSrcOffset: number = -1;
  /** Offset of the destination MAC, or -1. */
  ethDstOffset: number = -1;
  /** EtherType after any VLAN tags, or -1. */
  etherType: number = -1;
  /** Outer VLAN id, or -1. */
  vlanId: number = -1;
  /** Inner (second) VLAN id, or -1. */
  vlanInnerId: number = -1;
  /** 4, 6, or 0 when the frame has no IP header. */
  ipVersion = 0;
  /** Transport protocol number after IPv6 extension headers, or -1. */
  ipProto: number = -1;
  /** TTL or hop limit, or -1. */
  ttl: number = -1;
  /** IPv4 identification or IPv6 fragment identification, or -1. */
  ipId: number = -1;
  /** TOS / traffic class, or -1. */
  ipTos: number = -1;
  /** IP header length including options / extension headers, or -1. */
  ipHeaderLength: number = -1;
  /** IPv6 flow label, or -1. */
  ipFlowLabel: number = -1;
  /** Fragment offset in bytes, or -1 without an IP header. */
  fragOffset: number = -1;
  /** IPv4 MF / IPv6 M flag. */
  moreFragments = false;
  /** IPv4 DF flag. */
  dontFragment = false;
  /** Non-first fragment: no transport header follows. */
  isFragment = false;
  /** 4 or 6 when `srcAddrOffset`/`dstAddrOffset` point at addresses of that family, else 0. */
  addressFamily = 0;
  /** Offset of the source IP (or ARP sender protocol address), or -1. */
  srcAddrOffset: number = -1;
  /** Offset of the destination IP (or ARP target protocol address), or -1. */
  dstAddrOffset: number = -1;
  /** Source port, or -1. */
  srcPort: number = -1;
  /** Destination port, or -1. */
  dstPort: number = -1;
  /** TCP sequence number, or -1. */
  tcpSeq: number = -1;
  /** TCP acknowledgement number, or -1. */
  tcpAck: number = -1;
  /** TCP flags byte, or -1. */
  tcpFlags: number = -1;
  /** TCP window, or -1. */
  tcpWindow: number = -1;
  /** TCP header length in bytes, or -1. */
  tcpHeaderLength: number = -1;
  /** ICMP/ICMPv6 type, or -1. */
  icmpType: number = -1;
  /** ICMP/ICMPv6 code, or -1. */
  icmpCode: number = -1;
  /** ICMP/ICMPv6 echo identifier, or -1. */
  icmpId: number = -1;
  /** ICMP/ICMPv6 echo sequence number, or -1. */
  icmpSeq: number = -1;
  /** ARP operation, or -1. */
  arpOpcode: number = -1;
  /** Innermost encapsulation decoded (interned), or null. */
  tunnelType: TunnelType | null = null;
  /** 4 or 6 when the tunnel address offsets point at addresses of that family, else 0. */
  tunnelAddressFamily = 0;
  /** Offset of the outermost IP header's source address in a tunnelled frame, or -1. */
  tunnelSrcOffset: number = -1;
  /** Offset of the outermost IP header's destination address in a tunnelled frame, or -1. */
  tunnelDstOffset: number = -1;
  /** The innermost tunnel's id (VNI, key, session, TEID, label), or -1. */
  tunnelId: number = -1;
  /** Encapsulations decoded so far. */
  tunnelDepth = 0;
  /**
   * End of the captured bytes of the packet being decoded: the frame's
   * `caplen`, or inside a tunnel the end of the outer packet's payload, so
   * trailing bytes of the outer packet are never read as inner headers.
   */
  captureEnd = 0;
  /** End of the packet being decoded on the wire, in the same frame offsets. */
  wireEnd = 0;
  /** Transport payload bytes per the headers. */
  payloadLength = 0;
  /** Offset just past the last header decoded, within the captured bytes. */
  headerEnd = 0;
  /** Protocol name (interned). */
  protocol = "";
  /** First reason the frame is malformed, or null. */
  malformedReason: string | null = null;

  /** Clears every field for the next frame. */
  reset(linkType: number, caplen: number, wireLength: number): void {
    this.linkType = linkType;
    this.caplen = caplen;
    this.wireLength = wireLength > caplen ? wireLength : caplen;
    this.captureEnd = caplen;
    this.wireEnd = this.wireLength;
    this.tunnelType = null;
    this.tunnelAddressFamily = 0;
    this.tunnelSrcOffset = -1;
    this.tunnelDstOffset = -1;
    this.tunnelId = -1;
    this.tunnelDepth = 0;
    this.headerEnd = 0;
    this.malformedReason = null;
    this.resetLink();
  }

  /**
   * Clears the link-layer fields and everything above them: the start of an
   * Ethernet frame carried in a tunnel.
   */
  resetLink(): void {
    this.ethSrcOffset = -1;
    this.ethDstOffset = -1;
    this.etherType = -1;
    this.vlanId = -1;
    this.vlanInnerId = -1;
    this.resetNetwork();
  }

  /**
   * Clears the network- and transport-layer fields: the start of a packet
   * carried in a tunnel, whose fields replace the outer packet's.
   */
  resetNetwork(): void {
    this.ipVersion = 0;
    this.ipProto = -1;
    this.ttl = -1;
    this.ipId = -1;
    this.ipTos = -1;
    this.ipHeaderLength = -1;
    this.ipFlowLabel = -1;
    this.fragOffset = -1;
    this.moreFragments = false;
    this.dontFragment = false;
    this.isFragment = false;
    this.addressFamily = 0;
    this.srcAddrOffset = -1;
    this.dstAddrOffset = -1;
    this.srcPort = -1;
    this.dstPort = -1;
    this.tcpSeq = -1;
    this.tcpAck = -1;
    this.tcpFlags = -1;
    this.tcpWindow = -1;
    this.tcpHeaderLength = -1;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpId = -1;
    this.icmpSeq = -1;
    this.arpOpcode = -1;
    this.payloadLength = 0;
    this.protocol = "";
  }

  /** Flags the frame malformed, keeping the first (root-cause) reason. */
  markMalformed(reason: string): void {
    if (this.malformedReason === null) this.malformedReason = reason;
  }
}
