/**
 * Builds tunnel headers, the inverse of the tunnel decoders, for tests and
 * synthetic traffic. A tunnelled frame is the outer packet built by
 * {@linkcode encodePacket} whose payload is a tunnel header followed by the
 * inner packet (another `encodePacket` frame: Ethernet for VXLAN, Geneve,
 * ERSPAN and bridging GRE, raw IP for the rest).
 *
 * @example
 * ```ts
 * const inner = encodePacket({ ethernet: {}, ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2" } });
 * const frame = encodePacket({
 *   ip: { version: 4, src: "192.0.2.1", dst: "192.0.2.2" },
 *   transport: { protocol: "udp", srcPort: 49152, dstPort: 4789 },
 *   payload: concatBytes([vxlanHeader({ vni: 42 }), inner]),
 * });
 * ```
 *
 * @module
 */
import { concatBytes } from "../concat_bytes.ts";

/** GRE header fields (RFC 2784 / 2890; version 1 is PPTP's enhanced GRE, RFC 2637). */
export interface GreSpec {
  /** EtherType of the payload (0x0800, 0x86dd, 0x6558 bridging, 0x88be/0x22eb ERSPAN, 0x880b PPP). */
  protocolType: number;
  /** Checksum present (C bit), computed over the header and payload. @default {false} */
  checksum?: boolean;
  /** Key (K bit); for version 1, the call id (the payload length is filled in). */
  key?: number;
  /** Sequence number (S bit). */
  sequence?: number;
  /** Acknowledgement number (version 1, A bit). */
  ack?: number;
  /** Version, 0 or 1 (other values are for malformed tests). @default {0} */
  version?: number;
}

/** A GRE packet: the header for `spec`, then `payload`. */
export function grePacket(spec: GreSpec, payload: Uint8Array): Uint8Array {
  const version = spec.version ?? 0;
  const words: number[] = [];
  let flags = version & 7;
  if (spec.checksum) {
    flags |= 0x8000;
    words.push(0);
  }
  if (spec.key !== undefined) {
    flags |= 0x2000;
    words.push(version === 1 ? (payload.length << 16 | (spec.key & 0xffff)) >>> 0 : spec.key);
  }
  if (spec.sequence !== undefined) {
    flags |= 0x1000;
    words.push(spec.sequence);
  }
  if (spec.ack !== undefined) {
    flags |= 0x0080;
    words.push(spec.ack);
  }
  const out = new Uint8Array(4 + 4 * words.length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, flags);
  view.setUint16(2, spec.protocolType);
  words.forEach((word, i) => view.setUint32(4 + 4 * i, word >>> 0));
  out.set(payload, 4 + 4 * words.length);
  if (spec.checksum) view.setUint16(4, internetChecksum(out));
  return out;
}

/** RFC 1071 one's-complement sum, as GRE's checksum uses. */
function internetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** ERSPAN header fields; type II (version 1) or type III (version 2). */
export interface ErspanSpec {
  /** 2 for type II, 3 for type III. */
  type: 2 | 3;
  /** Session id, 10 bits. */
  sessionId: number;
  /** Original VLAN, 12 bits. @default {0} */
  vlan?: number;
  /** Type II index, 20 bits. @default {0} */
  index?: number;
  /** Type III frame type: 0 Ethernet. @default {0} */
  frameType?: number;
  /** Type III: append the 8-byte platform-specific subheader (O bit). @default {false} */
  platformSubheader?: boolean;
  /** Type III timestamp. @default {0} */
  timestamp?: number;
}

/** An ERSPAN type II (8 bytes) or type III (12, or 20 with the subheader) header. */
export function erspanHeader(spec: ErspanSpec): Uint8Array {
  const length = spec.type === 2 ? 8 : spec.platformSubheader ? 20 : 12;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint16(0, (spec.type === 2 ? 1 : 2) << 12 | (spec.vlan ?? 0) & 0xfff);
  view.setUint16(2, spec.sessionId & 0x3ff);
  if (spec.type === 2) {
    view.setUint32(4, (spec.index ?? 0) & 0xfffff);
  } else {
    view.setUint32(4, spec.timestamp ?? 0);
    view.setUint16(10, (spec.frameType ?? 0) << 10 | (spec.platformSubheader ? 1 : 0));
  }
  return out;
}

/** A VXLAN header (RFC 7348): the I flag, then the 24-bit VNI. */
export function vxlanHeader(spec: { vni: number; flags?: number }): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = spec.flags ?? 0x08;
  new DataView(out.buffer).setUint32(4, (spec.vni & 0xffffff) << 8 >>> 0);
  return out;
}

/** One Geneve option (RFC 8926 §3.5). */
export interface GeneveOptionSpec {
  /** Option class. */
  optionClass: number;
  /** Option type (the high bit is "critical"). */
  type: number;
  /** Option data, a multiple of 4 bytes up to 124. */
  data: Uint8Array;
}

/** Geneve header fields. */
export interface GeneveSpec {
  /** Virtual network identifier, 24 bits. */
  vni: number;
  /** EtherType of the payload. @default {0x6558} */
  protocolType?: number;
  /** Options. @default {[]} */
  options?: GeneveOptionSpec[];
  /** Version, 0 (others for malformed tests). @default {0} */
  version?: number;
  /** OAM frame (O bit). @default {false} */
  oam?: boolean;
}

/** A Geneve header with its options. */
export function geneveHeader(spec: GeneveSpec): Uint8Array {
  const options = (spec.options ?? []).map((option) => {
    const bytes = new Uint8Array(4 + option.data.length);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, option.optionClass);
    bytes[2] = option.type;
    bytes[3] = (option.data.length >> 2) & 0x1f;
    bytes.set(option.data, 4);
    return bytes;
  });
  const optionBytes = concatBytes(options);
  const out = new Uint8Array(8 + optionBytes.length);
  const view = new DataView(out.buffer);
  out[0] = (spec.version ?? 0) << 6 | (optionBytes.length >> 2) & 0x3f;
  out[1] = spec.oam ? 0x80 : 0;
  view.setUint16(2, spec.protocolType ?? 0x6558);
  view.setUint32(4, (spec.vni & 0xffffff) << 8 >>> 0);
  out.set(optionBytes, 8);
  return out;
}

/** One GTP-U extension header (3GPP TS 29.281 §5.2). */
export interface GtpuExtensionSpec {
  /** Extension header type (0x85 PDU session container, 0x40 UDP port, …). */
  type: number;
  /** Content between the length byte and the next-type byte: 4n − 2 bytes. */
  content: Uint8Array;
}

/** GTP-U header fields. */
export interface GtpuSpec {
  /** Tunnel endpoint identifier. */
  teid: number;
  /** Message type: 255 G-PDU (carries a packet), 1 echo request, … @default {255} */
  messageType?: number;
  /** Sequence number (S flag). */
  sequence?: number;
  /** Extension headers (E flag). @default {[]} */
  extensions?: GtpuExtensionSpec[];
  /** Bytes after the header, for the length field. */
  payloadBytes: number;
  /** Version (1; others for malformed tests). @default {1} */
  version?: number;
}

/** A GTP-U header: 8 bytes, 12 with any optional field, then the extension headers. */
export function gtpuHeader(spec: GtpuSpec): Uint8Array {
  const extensions = spec.extensions ?? [];
  const optional = spec.sequence !== undefined || extensions.length > 0;
  const extensionBytes = extensions.reduce((sum, e) => sum + 2 + e.content.length, 0);
  const length = 8 + (optional ? 4 : 0) + extensionBytes;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  out[0] = (spec.version ?? 1) << 5 | 0x10 | (extensions.length > 0 ? 0x04 : 0) |
    (spec.sequence !== undefined ? 0x02 : 0);
  out[1] = spec.messageType ?? 255;
  view.setUint16(2, length - 8 + spec.payloadBytes);
  view.setUint32(4, spec.teid >>> 0);
  if (optional) {
    view.setUint16(8, spec.sequence ?? 0);
    out[11] = extensions[0]?.type ?? 0;
  }
  let at = 12;
  extensions.forEach((extension, i) => {
    out[at] = (2 + extension.content.length) >> 2;
    out.set(extension.content, at + 1);
    at += 1 + extension.content.length;
    out[at] = extensions[i + 1]?.type ?? 0;
    at++;
  });
  return out;
}

/** One MPLS label stack entry. */
export interface MplsLabelSpec {
  /** Label, 20 bits. */
  label: number;
  /** Traffic class, 3 bits. @default {0} */
  trafficClass?: number;
  /** TTL. @default {64} */
  ttl?: number;
}

/** An MPLS label stack (RFC 3032), the bottom-of-stack bit on the last entry. */
export function mplsLabelStack(labels: MplsLabelSpec[]): Uint8Array {
  const out = new Uint8Array(4 * labels.length);
  const view = new DataView(out.buffer);
  labels.forEach((entry, i) => {
    const bottom = i === labels.length - 1 ? 1 : 0;
    view.setUint32(
      4 * i,
      ((entry.label & 0xfffff) << 12 | (entry.trafficClass ?? 0) << 9 | bottom << 8 |
        (entry.ttl ?? 64)) >>> 0,
    );
  });
  return out;
}

/** PPPoE session header fields (RFC 2516) with the PPP protocol that follows. */
export interface PppoeSpec {
  /** Session id. */
  sessionId: number;
  /** PPP protocol: 0x0021 IPv4, 0x0057 IPv6, 0xc021 LCP, … */
  pppProtocol: number;
  /** Send the protocol in one byte (RFC 1661 protocol-field compression). @default {false} */
  compressed?: boolean;
  /** Bytes after the PPP protocol field, for the length field. */
  payloadBytes: number;
}

/** A PPPoE session header and the PPP protocol field. */
export function pppoeHeader(spec: PppoeSpec): Uint8Array {
  const protocolBytes = spec.compressed ? 1 : 2;
  const out = new Uint8Array(6 + protocolBytes);
  const view = new DataView(out.buffer);
  out[0] = 0x11;
  view.setUint16(2, spec.sessionId);
  view.setUint16(4, protocolBytes + spec.payloadBytes);
  if (spec.compressed) out[6] = spec.pppProtocol & 0xff;
  else view.setUint16(6, spec.pppProtocol);
  return out;
}
