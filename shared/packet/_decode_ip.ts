/**
 * Network-layer decoders: IPv4 (with options and fragments), IPv6 (with
 * extension headers) and ARP. Each fills {@linkcode PacketHeaders}, sets
 * `headerEnd`, and hands the transport header to the next layer.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import {
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ROUTING,
  ipProtocolName,
} from "./ip_protocols.ts";
import { ETHERTYPE_IPV4 } from "./ether_types.ts";
import { decodeTransport } from "./_decode_transport.ts";
import {
  ARP_TRUNCATED,
  IPV4_BAD_HEADER_LENGTH,
  IPV4_BAD_OPTION,
  IPV4_BAD_TOTAL_LENGTH,
  IPV4_BAD_VERSION,
  IPV4_LENGTH_EXCEEDS_FRAME,
  IPV4_TRUNCATED,
  IPV4_TRUNCATED_OPTIONS,
  IPV6_BAD_EXTENSION,
  IPV6_BAD_OPTION,
  IPV6_BAD_VERSION,
  IPV6_LENGTH_EXCEEDS_FRAME,
  IPV6_TOO_MANY_EXTENSIONS,
  IPV6_TRUNCATED,
  IPV6_TRUNCATED_EXTENSION,
} from "./_malformed.ts";

const IPV4_MIN_HEADER_BYTES = 20;
const IPV4_OPTION_EOL = 0;
const IPV4_OPTION_NOP = 1;
const IPV4_FLAG_DF = 0x4000;
const IPV4_FLAG_MF = 0x2000;
const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;
const IPV6_HEADER_BYTES = 40;
const IPV6_FRAGMENT_HEADER_BYTES = 8;
const IPV6_FRAGMENT_OFFSET_MASK = 0xfff8;
const IPV6_FRAGMENT_MORE = 0x0001;
const IPV6_OPTION_PAD1 = 0;
const IPV6_OPTION_JUMBO = 0xc2;
/** Real stacks send a handful; a longer chain is crafted or corrupt. */
const IPV6_MAX_EXTENSION_HEADERS = 16;
const ARP_FIXED_BYTES = 8;
const IPV4_ADDRESS_BYTES = 4;

/** Protocol name of a packet whose IPv4 header could not be read. */
export const PROTOCOL_IPV4 = "IPv4";
/** Protocol name of a packet whose IPv6 header could not be read. */
export const PROTOCOL_IPV6 = "IPv6";
/** Protocol name of ARP packets. */
export const PROTOCOL_ARP = "ARP";
/** Protocol name of reverse-ARP packets (same layout as ARP). */
export const PROTOCOL_RARP = "RARP";

/** Decodes an IPv4 header at `offset` and the transport header after it. */
export function decodeIpv4(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  h: PacketHeaders,
): void {
  const end = h.captureEnd;
  const available = end - offset;
  if (available > 0 && bytes[offset] >> 4 === 6) {
    // tshark hands an EtherType-IPv4 packet with version 6 to IPv6; so do we.
    h.markMalformed(IPV4_BAD_VERSION);
    return decodeIpv6(bytes, view, offset, h);
  }
  h.ipVersion = 4;
  if (available < IPV4_MIN_HEADER_BYTES) {
    truncatedIpv4(bytes, view, offset, available, h);
    return;
  }
  const versionAndLength = bytes[offset];
  if (versionAndLength >> 4 !== 4) {
    h.protocol = PROTOCOL_IPV4;
    h.headerEnd = offset;
    h.markMalformed(IPV4_BAD_VERSION);
    return;
  }
  const headerLength = (versionAndLength & 0x0f) << 2;
  h.ipTos = bytes[offset + 1];
  let totalLength = view.getUint16(offset + 2);
  h.ipId = view.getUint16(offset + 4);
  const flagsAndOffset = view.getUint16(offset + 6);
  h.ttl = bytes[offset + 8];
  const protocol = bytes[offset + 9];
  h.ipProto = protocol;
  h.protocol = ipProtocolName(protocol);
  h.addressFamily = 4;
  h.srcAddrOffset = offset + 12;
  h.dstAddrOffset = offset + 16;
  h.dontFragment = (flagsAndOffset & IPV4_FLAG_DF) !== 0;
  h.moreFragments = (flagsAndOffset & IPV4_FLAG_MF) !== 0;
  const fragmentOffset = (flagsAndOffset & IPV4_FRAGMENT_OFFSET_MASK) << 3;
  h.fragOffset = fragmentOffset;
  h.ipHeaderLength = headerLength;

  if (headerLength < IPV4_MIN_HEADER_BYTES) {
    h.markMalformed(IPV4_BAD_HEADER_LENGTH);
    h.headerEnd = offset + IPV4_MIN_HEADER_BYTES;
    h.payloadLength = totalLength > IPV4_MIN_HEADER_BYTES ? totalLength - IPV4_MIN_HEADER_BYTES : 0;
    return;
  }
  const onWire = h.wireEnd - offset;
  if (totalLength === 0) {
    // Captured before TCP segmentation offload filled the length in.
    totalLength = onWire;
  } else if (totalLength < headerLength) {
    h.markMalformed(IPV4_BAD_TOTAL_LENGTH);
    h.headerEnd = offset + headerLength < end ? offset + headerLength : end;
    return;
  } else if (totalLength > onWire) {
    h.markMalformed(IPV4_LENGTH_EXCEEDS_FRAME);
    totalLength = onWire;
  }
  const payloadLength = totalLength > headerLength ? totalLength - headerLength : 0;
  h.payloadLength = payloadLength;
  const transportOffset = offset + headerLength;
  h.isFragment = fragmentOffset > 0;
  if (transportOffset > end) {
    h.markMalformed(IPV4_TRUNCATED_OPTIONS);
    h.headerEnd = end;
    return;
  }
  h.headerEnd = transportOffset;
  if (!ipv4OptionsFit(bytes, offset + IPV4_MIN_HEADER_BYTES, transportOffset)) {
    // The header length still says where the transport starts.
    h.markMalformed(IPV4_BAD_OPTION);
  }
  if (h.isFragment) return;
  const ipEnd = offset + totalLength;
  decodeTransport(
    bytes,
    view,
    transportOffset,
    ipEnd < end ? ipEnd : end,
    payloadLength,
    protocol,
    h,
  );
}

/**
 * Whether the IPv4 options in `[start, end)` are well formed: End of List
 * stops the walk, No-Operation is one byte, every other option carries a
 * length of at least 2 that stays inside the options.
 */
function ipv4OptionsFit(bytes: Uint8Array, start: number, end: number): boolean {
  let o = start;
  while (o < end) {
    const type = bytes[o];
    if (type === IPV4_OPTION_EOL) return true;
    if (type === IPV4_OPTION_NOP) {
      o++;
      continue;
    }
    if (o + 2 > end) return false;
    const length = bytes[o + 1];
    if (length < 2 || o + length > end) return false;
    o += length;
  }
  return true;
}

/** Keeps each IPv4 header field that was captured, as tshark does. */
function truncatedIpv4(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  available: number,
  h: PacketHeaders,
): void {
  h.protocol = PROTOCOL_IPV4;
  h.headerEnd = available > 0 ? offset + available : offset;
  if (available > 0 && bytes[offset] >> 4 !== 4) {
    h.markMalformed(IPV4_BAD_VERSION);
    return;
  }
  h.markMalformed(IPV4_TRUNCATED);
  if (available >= 1) h.ipHeaderLength = (bytes[offset] & 0x0f) << 2;
  if (available >= 2) h.ipTos = bytes[offset + 1];
  if (available >= 4) {
    const totalLength = view.getUint16(offset + 2);
    const headerLength = h.ipHeaderLength;
    h.payloadLength = totalLength > headerLength ? totalLength - headerLength : 0;
  }
  if (available >= 6) h.ipId = view.getUint16(offset + 4);
  if (available >= 8) {
    const flagsAndOffset = view.getUint16(offset + 6);
    h.dontFragment = (flagsAndOffset & IPV4_FLAG_DF) !== 0;
    h.moreFragments = (flagsAndOffset & IPV4_FLAG_MF) !== 0;
    h.fragOffset = (flagsAndOffset & IPV4_FRAGMENT_OFFSET_MASK) << 3;
    h.isFragment = h.fragOffset > 0;
  }
  if (available >= 9) h.ttl = bytes[offset + 8];
  if (available >= 10) {
    h.ipProto = bytes[offset + 9];
    h.protocol = ipProtocolName(h.ipProto);
  }
  if (available >= 16) {
    h.addressFamily = 4;
    h.srcAddrOffset = offset + 12;
  }
}

/** Keeps each IPv6 fixed-header field that was captured, as tshark does. */
function truncatedIpv6(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  available: number,
  h: PacketHeaders,
): void {
  h.protocol = PROTOCOL_IPV6;
  h.headerEnd = available > 0 ? offset + available : offset;
  if (available > 0 && bytes[offset] >> 4 !== 6) {
    h.markMalformed(IPV6_BAD_VERSION);
    return;
  }
  h.markMalformed(IPV6_TRUNCATED);
  if (available >= 4) {
    const first = view.getUint32(offset);
    h.ipTos = (first >>> 20) & 0xff;
    h.ipFlowLabel = first & 0xfffff;
  }
  if (available >= 6) h.payloadLength = view.getUint16(offset + 4);
  if (available >= 7) {
    h.ipProto = bytes[offset + 6];
    h.protocol = ipProtocolName(h.ipProto);
  }
  if (available >= 8) h.ttl = bytes[offset + 7];
  if (available >= 24) {
    h.addressFamily = 6;
    h.srcAddrOffset = offset + 8;
  }
}

/**
 * Decodes an IPv6 header at `offset`, walks hop-by-hop, routing, fragment,
 * destination-options and AH extension headers, and decodes the transport
 * header after them.
 */
export function decodeIpv6(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  h: PacketHeaders,
): void {
  const end = h.captureEnd;
  h.ipVersion = 6;
  if (end - offset < IPV6_HEADER_BYTES) {
    truncatedIpv6(bytes, view, offset, end - offset, h);
    return;
  }
  const first = view.getUint32(offset);
  if (first >>> 28 !== 6) {
    h.protocol = PROTOCOL_IPV6;
    h.headerEnd = offset;
    h.markMalformed(IPV6_BAD_VERSION);
    return;
  }
  h.ipTos = (first >>> 20) & 0xff;
  h.ipFlowLabel = first & 0xfffff;
  let payloadLength = view.getUint16(offset + 4);
  let next = bytes[offset + 6];
  h.ttl = bytes[offset + 7];
  h.addressFamily = 6;
  h.srcAddrOffset = offset + 8;
  h.dstAddrOffset = offset + 24;
  h.fragOffset = 0;

  const onWire = h.wireEnd - offset - IPV6_HEADER_BYTES;
  if (payloadLength === 0 && next === IPPROTO_HOPOPTS) {
    // RFC 2675 jumbogram: the length is in the hop-by-hop Jumbo option.
    const jumbo = jumboPayloadLength(bytes, view, offset + IPV6_HEADER_BYTES, end);
    if (jumbo >= 0) payloadLength = jumbo;
  }
  if (payloadLength > onWire) {
    h.markMalformed(IPV6_LENGTH_EXCEEDS_FRAME);
    payloadLength = onWire > 0 ? onWire : 0;
  }
  const ipEnd = offset + IPV6_HEADER_BYTES + payloadLength;
  const capturedEnd = ipEnd < end ? ipEnd : end;
  let p = offset + IPV6_HEADER_BYTES;
  let complete = true;

  walk: for (let n = 0;; n++) {
    if (n === IPV6_MAX_EXTENSION_HEADERS) {
      h.markMalformed(IPV6_TOO_MANY_EXTENSIONS);
      complete = false;
      break;
    }
    let length: number;
    switch (next) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
      case IPPROTO_AH:
        if (p + 2 > capturedEnd) {
          if (p < capturedEnd) next = bytes[p];
          complete = extensionCutOff(p + 2, ipEnd, h);
          break walk;
        }
        length = next === IPPROTO_AH ? (bytes[p + 1] + 2) << 2 : (bytes[p + 1] + 1) << 3;
        break;
      case IPPROTO_FRAGMENT: {
        if (p + IPV6_FRAGMENT_HEADER_BYTES > capturedEnd) {
          // A cut fragment header gives nothing (tshark reads none of it).
          complete = extensionCutOff(p + IPV6_FRAGMENT_HEADER_BYTES, ipEnd, h);
          break walk;
        }
        const fragmentField = view.getUint16(p + 2);
        h.fragOffset = fragmentField & IPV6_FRAGMENT_OFFSET_MASK;
        h.moreFragments = (fragmentField & IPV6_FRAGMENT_MORE) !== 0;
        h.ipId = view.getUint32(p + 4);
        next = bytes[p];
        p += IPV6_FRAGMENT_HEADER_BYTES;
        // What follows a non-first fragment's header is payload, not headers.
        if (h.fragOffset > 0) {
          h.isFragment = true;
          break walk;
        }
        continue;
      }
      default:
        break walk;
    }
    if (p + length > capturedEnd) {
      // Its next-header byte is readable; report that protocol, as tshark does.
      next = bytes[p];
      complete = extensionCutOff(p + length, ipEnd, h);
      break;
    }
    const options = next === IPPROTO_HOPOPTS || next === IPPROTO_DSTOPTS;
    next = bytes[p];
    if (options) {
      const optionsEnd = endOfOptions(bytes, p + 2, p + length);
      if (optionsEnd > capturedEnd) {
        h.markMalformed(optionsEnd > ipEnd ? IPV6_BAD_OPTION : IPV6_TRUNCATED_EXTENSION);
        complete = false;
        break;
      }
    }
    p += length;
  }

  h.ipProto = next;
  h.protocol = ipProtocolName(next);
  h.ipHeaderLength = p - offset;
  const transportBytes = ipEnd > p ? ipEnd - p : 0;
  h.payloadLength = transportBytes;
  if (!complete) {
    h.headerEnd = capturedEnd > p ? capturedEnd : p;
    return;
  }
  h.headerEnd = p;
  if (h.isFragment) return;
  decodeTransport(bytes, view, p, capturedEnd, transportBytes, next, h);
}

/**
 * Where the type-length-value options starting at `start` end, walking until
 * `headerEnd`. The last option may run past its header (a corrupt length);
 * tshark then reads on into the packet, and fails only past its end.
 */
function endOfOptions(bytes: Uint8Array, start: number, headerEnd: number): number {
  let o = start;
  while (o < headerEnd) {
    if (bytes[o] === IPV6_OPTION_PAD1) {
      o++;
      continue;
    }
    if (o + 2 > headerEnd) return o + 2;
    o += 2 + bytes[o + 1];
  }
  return o;
}

/**
 * The Jumbo Payload option's length in a hop-by-hop header at `p` (the
 * bytes after the IPv6 header), or -1 when the header or option is missing.
 */
function jumboPayloadLength(
  bytes: Uint8Array,
  view: DataView,
  p: number,
  end: number,
): number {
  if (p + 2 > end) return -1;
  const headerEnd = p + ((bytes[p + 1] + 1) << 3);
  let o = p + 2;
  while (o + 2 <= headerEnd && o + 2 <= end) {
    const type = bytes[o];
    if (type === IPV6_OPTION_PAD1) {
      o++;
      continue;
    }
    if (type === IPV6_OPTION_JUMBO && bytes[o + 1] === 4 && o + 6 <= end) {
      return view.getUint32(o + 2);
    }
    o += 2 + bytes[o + 1];
  }
  return -1;
}

/** Flags an extension header that does not fit; returns false to stop the walk. */
function extensionCutOff(
  needed: number,
  ipEnd: number,
  h: PacketHeaders,
): boolean {
  h.markMalformed(needed > ipEnd ? IPV6_BAD_EXTENSION : IPV6_TRUNCATED_EXTENSION);
  return false;
}

/**
 * Decodes an ARP (or RARP, same layout) packet; IPv4-over-anything ARP fills
 * the addresses.
 */
export function decodeArp(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  protocolName: string,
  h: PacketHeaders,
): void {
  const end = h.captureEnd;
  h.protocol = protocolName;
  if (end - offset < ARP_FIXED_BYTES) {
    h.markMalformed(ARP_TRUNCATED);
    h.headerEnd = end > offset ? end : offset;
    return;
  }
  const hardwareLength = bytes[offset + 4];
  const protocolLength = bytes[offset + 5];
  h.arpOpcode = view.getUint16(offset + 6);
  const bodyEnd = offset + ARP_FIXED_BYTES + 2 * (hardwareLength + protocolLength);
  if (
    view.getUint16(offset + 2) === ETHERTYPE_IPV4 &&
    protocolLength === IPV4_ADDRESS_BYTES
  ) {
    // Each address only if captured: a cut packet keeps its sender.
    const sender = offset + ARP_FIXED_BYTES + hardwareLength;
    const target = sender + IPV4_ADDRESS_BYTES + hardwareLength;
    if (sender + IPV4_ADDRESS_BYTES <= end) {
      h.addressFamily = 4;
      h.srcAddrOffset = sender;
    }
    if (target + IPV4_ADDRESS_BYTES <= end) h.dstAddrOffset = target;
  }
  if (bodyEnd > end) {
    h.markMalformed(ARP_TRUNCATED);
    h.headerEnd = end;
    return;
  }
  h.headerEnd = bodyEnd;
}
