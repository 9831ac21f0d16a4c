/**
 * Builds captured frames from header fields: the inverse of
 * {@linkcode decodePacket}, for property tests, benchmarks and synthetic
 * traffic. Checksums are computed, so tshark and real stacks accept the
 * frames.
 *
 * @module
 */

import { concatBytes } from "../concat_bytes.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "./link_types.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from "./ether_types.ts";
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from "./packet_record.ts";
import { IPPROTO_AH, IPPROTO_FRAGMENT } from "./ip_protocols.ts";
import type {
  ArpSpec,
  EncoderLink,
  Ipv4Spec,
  Ipv6Spec,
  PacketSpec,
  TransportSpec,
} from "./packet_spec.ts";

// The spec types, for importers of this module.
export type * from "./packet_spec.ts";

const LINK_TYPES: Readonly<Record<EncoderLink, number>> = {
  ethernet: LINKTYPE_ETHERNET,
  raw: LINKTYPE_RAW,
  ipv4: LINKTYPE_IPV4,
  ipv6: LINKTYPE_IPV6,
  null: LINKTYPE_NULL,
  loop: LINKTYPE_LOOP,
  sll: LINKTYPE_LINUX_SLL,
  sll2: LINKTYPE_LINUX_SLL2,
};
const BSD_AF_INET = 2;
const BSD_AF_INET6 = 24;
const ARPHRD_ETHER = 1;

/** The LINKTYPE_ value of an encoder link layer, for file headers and decode options. */
export function linkTypeOf(link: EncoderLink = "ethernet"): number {
  return LINK_TYPES[link];
}

/** Parses a dotted quad into 4 bytes. */
export function parseIpv4(text: string): Uint8Array {
  const parts = text.split(".");
  const bytes = new Uint8Array(4);
  if (parts.length !== 4) throw new RangeError(`Cannot parse IPv4 address: ${text}`);
  parts.forEach((part, i) => {
    const value = Number(part);
    if (!/^\d{1,3}$/.test(part) || value > 255) {
      throw new RangeError(`Cannot parse IPv4 address: ${text}`);
    }
    bytes[i] = value;
  });
  return bytes;
}

/** Parses any RFC 4291 IPv6 text form (with `::` and a trailing dotted quad) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let body = text;
  let tail: Uint8Array | undefined;
  const lastColon = body.lastIndexOf(":");
  if (body.slice(lastColon + 1).includes(".")) {
    tail = parseIpv4(body.slice(lastColon + 1));
    body = body.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) throw new RangeError(`Cannot parse IPv6 address: ${text}`);
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const rest = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const groups = halves.length === 2
    ? [...head, ...Array(8 - head.length - rest.length).fill("0"), ...rest]
    : head;
  if (groups.length !== 8) throw new RangeError(`Cannot parse IPv6 address: ${text}`);
  groups.forEach((group, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) {
      throw new RangeError(`Cannot parse IPv6 address: ${text}`);
    }
    const value = parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** Parses a colon- or dash-separated MAC into 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new RangeError(`Cannot parse MAC address: ${text}`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** RFC 1071 one's-complement sum, folded, not inverted. */
function onesSum(parts: Uint8Array[]): number {
  let sum = 0;
  let odd = false;
  let pending = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      if (odd) sum += pending | part[i];
      else pending = part[i] << 8;
      odd = !odd;
    }
  }
  if (odd) sum += pending;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function checksum(parts: Uint8Array[]): number {
  return ~onesSum(parts) & 0xffff;
}

function padTo4(bytes: Uint8Array | undefined): Uint8Array {
  if (bytes === undefined) return new Uint8Array(0);
  const out = new Uint8Array((bytes.length + 3) & ~3);
  out.set(bytes);
  return out;
}

function transportNumber(transport: TransportSpec): number {
  switch (transport.protocol) {
    case "tcp":
      return IPPROTO_TCP;
    case "udp":
      return IPPROTO_UDP;
    case "sctp":
      return IPPROTO_SCTP;
    case "icmp":
      return IPPROTO_ICMP;
    case "icmpv6":
      return IPPROTO_ICMPV6;
    case "other":
      return transport.number;
  }
}

/** Builds the transport header followed by the payload, checksummed. */
function encodeTransport(
  transport: TransportSpec,
  payload: Uint8Array,
  pseudoHeader: (protocol: number, length: number) => Uint8Array,
): Uint8Array {
  switch (transport.protocol) {
    case "tcp": {
      const options = padTo4(transport.options);
      const header = new Uint8Array(20 + options.length);
      const view = new DataView(header.buffer);
      view.setUint16(0, transport.srcPort);
      view.setUint16(2, transport.dstPort);
      view.setUint32(4, (transport.seq ?? 0) >>> 0);
      view.setUint32(8, (transport.ack ?? 0) >>> 0);
      header[12] = (header.length / 4) << 4;
      header[13] = transport.flags ?? 0x02;
      view.setUint16(14, transport.window ?? 65535);
      view.setUint16(18, transport.urgent ?? 0);
      header.set(options, 20);
      const length = header.length + payload.length;
      view.setUint16(16, checksum([pseudoHeader(IPPROTO_TCP, length), header, payload]));
      return concatBytes([header, payload]);
    }
    case "udp": {
      const header = new Uint8Array(8);
      const view = new DataView(header.buffer);
      view.setUint16(0, transport.srcPort);
      view.setUint16(2, transport.dstPort);
      view.setUint16(4, 8 + payload.length);
      const sum = checksum([pseudoHeader(IPPROTO_UDP, 8 + payload.length), header, payload]);
      view.setUint16(6, sum === 0 ? 0xffff : sum);
      return concatBytes([header, payload]);
    }
    case "sctp": {
      const header = new Uint8Array(12);
      const view = new DataView(header.buffer);
      view.setUint16(0, transport.srcPort);
      view.setUint16(2, transport.dstPort);
      view.setUint32(4, (transport.verificationTag ?? 0) >>> 0);
      return concatBytes([header, payload]);
    }
    case "icmp":
    case "icmpv6": {
      const header = new Uint8Array(8);
      const view = new DataView(header.buffer);
      header[0] = transport.type;
      header[1] = transport.code;
      view.setUint16(4, transport.id ?? 0);
      view.setUint16(6, transport.seq ?? 0);
      const parts = transport.protocol === "icmpv6"
        ? [pseudoHeader(IPPROTO_ICMPV6, 8 + payload.length), header, payload]
        : [header, payload];
      view.setUint16(2, checksum(parts));
      return concatBytes([header, payload]);
    }
    case "other":
      return payload;
  }
}

function encodeIpv4(
  ip: Ipv4Spec,
  transport: TransportSpec | undefined,
  payload: Uint8Array,
): Uint8Array {
  const src = parseIpv4(ip.src);
  const dst = parseIpv4(ip.dst);
  const fragOffset = ip.fragOffset ?? 0;
  if (fragOffset % 8 !== 0 || fragOffset > 0xffff) {
    throw new RangeError(
      `Cannot encode IPv4 as 'fragOffset' must be a multiple of 8 up to 65528: current value is ${fragOffset}`,
    );
  }
  const protocol = transport ? transportNumber(transport) : 0xfd;
  const pseudo = (proto: number, length: number) => {
    const p = new Uint8Array(12);
    p.set(src, 0);
    p.set(dst, 4);
    p[9] = proto;
    new DataView(p.buffer).setUint16(10, length);
    return p;
  };
  const body = transport && fragOffset === 0
    ? encodeTransport(transport, payload, pseudo)
    : payload;
  const options = padTo4(ip.options);
  const header = new Uint8Array(20 + options.length);
  const view = new DataView(header.buffer);
  header[0] = 0x40 | (header.length / 4);
  header[1] = ip.tos ?? 0;
  view.setUint16(2, header.length + body.length);
  view.setUint16(4, ip.id ?? 0);
  view.setUint16(
    6,
    (ip.dontFragment ? 0x4000 : 0) | (ip.moreFragments ? 0x2000 : 0) |
      (fragOffset >> 3),
  );
  header[8] = ip.ttl ?? 64;
  header[9] = protocol;
  header.set(src, 12);
  header.set(dst, 16);
  header.set(options, 20);
  view.setUint16(10, checksum([header]));
  return concatBytes([header, body]);
}

function encodeIpv6(
  ip: Ipv6Spec,
  transport: TransportSpec | undefined,
  payload: Uint8Array,
): Uint8Array {
  const src = parseIpv6(ip.src);
  const dst = parseIpv6(ip.dst);
  const protocol = transport ? transportNumber(transport) : 59;
  const pseudo = (proto: number, length: number) => {
    const p = new Uint8Array(40);
    p.set(src, 0);
    p.set(dst, 16);
    new DataView(p.buffer).setUint32(32, length);
    p[39] = proto;
    return p;
  };
  const extensions = ip.extensionHeaders ?? [];
  const laterFragment = extensions.some((e) => e.type === IPPROTO_FRAGMENT && e.offset > 0);
  const body = transport && !laterFragment ? encodeTransport(transport, payload, pseudo) : payload;
  // Build extension headers back to front so each knows its next header.
  const chain: Uint8Array[] = [];
  let next = protocol;
  for (let i = extensions.length - 1; i >= 0; i--) {
    const ext = extensions[i];
    let bytes: Uint8Array;
    if (ext.type === IPPROTO_FRAGMENT) {
      bytes = new Uint8Array(8);
      const view = new DataView(bytes.buffer);
      view.setUint16(2, (ext.offset & 0xfff8) | (ext.more ? 1 : 0));
      view.setUint32(4, ext.id >>> 0);
    } else if (ext.type === IPPROTO_AH) {
      const words = Math.max(3, Math.ceil((12 + (ext.bodyBytes ?? 12)) / 4));
      bytes = new Uint8Array(words * 4);
      bytes[1] = words - 2;
    } else {
      const units = Math.max(1, Math.ceil((2 + (ext.bodyBytes ?? 6)) / 8));
      bytes = new Uint8Array(units * 8);
      bytes[1] = units - 1;
      // One PadN option fills the body, so the header parses as valid options.
      bytes[2] = 1;
      bytes[3] = bytes.length - 4;
    }
    bytes[0] = next;
    next = ext.type;
    chain.unshift(bytes);
  }
  const header = new Uint8Array(40);
  const view = new DataView(header.buffer);
  const payloadLength = chain.reduce((n, c) => n + c.length, 0) + body.length;
  view.setUint32(
    0,
    ((6 << 28) | ((ip.trafficClass ?? 0) << 20) | ((ip.flowLabel ?? 0) & 0xfffff)) >>> 0,
  );
  view.setUint16(4, payloadLength);
  header[6] = next;
  header[7] = ip.hopLimit ?? 64;
  header.set(src, 8);
  header.set(dst, 24);
  return concatBytes([header, ...chain, body]);
}

function encodeArp(arp: ArpSpec): Uint8Array {
  const body = new Uint8Array(28);
  const view = new DataView(body.buffer);
  view.setUint16(0, ARPHRD_ETHER);
  view.setUint16(2, ETHERTYPE_IPV4);
  body[4] = 6;
  body[5] = 4;
  view.setUint16(6, arp.opcode);
  body.set(parseMac(arp.senderMac), 8);
  body.set(parseIpv4(arp.senderIp), 14);
  body.set(parseMac(arp.targetMac), 18);
  body.set(parseIpv4(arp.targetIp), 24);
  return body;
}

/**
 * Builds one frame, starting at the link-layer header of `spec.link`.
 *
 * @example
 * ```ts
 * const frame = encodePacket({
 *   ip: { version: 4, src: "192.0.2.1", dst: "192.0.2.2" },
 *   transport: { protocol: "tcp", srcPort: 40000, dstPort: 443, flags: 0x02 },
 * });
 * decodePacket(frame, { linkType: linkTypeOf("ethernet"), timestampSec: 0 }).dst_port; // 443
 * ```
 */
export function encodePacket(spec: PacketSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  let network: Uint8Array;
  let etherType: number;
  if (spec.ip !== undefined) {
    network = spec.ip.version === 4
      ? encodeIpv4(spec.ip, spec.transport, payload)
      : encodeIpv6(spec.ip, spec.transport, payload);
    etherType = spec.ip.version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
  } else if (spec.arp !== undefined) {
    network = concatBytes([encodeArp(spec.arp), payload]);
    etherType = ETHERTYPE_ARP;
  } else {
    network = payload;
    etherType = spec.etherType ?? 0x88b5;
  }
  const link = spec.link ?? "ethernet";
  const ethernet = spec.ethernet ?? {};
  const srcMac = parseMac(ethernet.src ?? "02:00:00:00:00:01");
  const tags = (ethernet.vlans ?? []).map((tag, i, all) => {
    const bytes = new Uint8Array(4);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, ((tag.priority ?? 0) << 13) | (tag.id & 0x0fff));
    view.setUint16(2, i + 1 < all.length ? all[i + 1].tpid ?? ETHERTYPE_VLAN : etherType);
    return bytes;
  });
  const firstType = tags.length > 0 ? ethernet.vlans![0].tpid ?? ETHERTYPE_VLAN : etherType;
  switch (link) {
    case "ethernet": {
      const header = new Uint8Array(14);
      header.set(parseMac(ethernet.dst ?? "02:00:00:00:00:02"), 0);
      header.set(srcMac, 6);
      new DataView(header.buffer).setUint16(12, firstType);
      return concatBytes([header, ...tags, network]);
    }
    case "sll": {
      const header = new Uint8Array(16);
      const view = new DataView(header.buffer);
      view.setUint16(2, ARPHRD_ETHER);
      view.setUint16(4, 6);
      header.set(srcMac, 6);
      view.setUint16(14, firstType);
      return concatBytes([header, ...tags, network]);
    }
    case "sll2": {
      const header = new Uint8Array(20);
      const view = new DataView(header.buffer);
      view.setUint16(0, firstType);
      view.setUint32(4, 1);
      view.setUint16(8, ARPHRD_ETHER);
      header[11] = 6;
      header.set(srcMac, 12);
      return concatBytes([header, ...tags, network]);
    }
    case "null":
    case "loop": {
      const header = new Uint8Array(4);
      const family = spec.ip?.version === 6 ? BSD_AF_INET6 : BSD_AF_INET;
      const littleEndian = link === "null" && (spec.nullByteOrder ?? "little") === "little";
      new DataView(header.buffer).setUint32(0, family, littleEndian);
      return concatBytes([header, network]);
    }
    case "raw":
    case "ipv4":
    case "ipv6":
      return network;
  }
}
