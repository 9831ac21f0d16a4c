/**
 * Community ID v1 flow hashing, the flow identifier Zeek, Suricata, Arkime and
 * Wireshark emit, so that a flow here can be looked up in their logs.
 *
 * The hash input is, in network byte order: the 2-byte seed, the smaller
 * endpoint's address, the other address, the IP protocol, one zero byte of
 * padding and, for port protocols, the two ports in the same endpoint order.
 * ICMP and ICMPv6 use Zeek's type/code mapping as ports; their one-way types
 * are never reordered. The SHA-1 digest is rendered as `1:` plus base64.
 *
 * @module
 */

import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from "../packet/packet_record.ts";
import { icmpPortEquivalents } from "./_icmp_ports.ts";
import { parseIpInto } from "./_ip.ts";
import { sha1 } from "./_sha1.ts";

/** The endpoints of one flow or packet, as Community ID takes them. */
export interface CommunityIdTuple {
  /** Source address (IPv4 dotted quad or IPv6 text). */
  srcIp: string;
  /** Destination address, of the same family as `srcIp`. */
  dstIp: string;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP, ...). */
  ipProto: number;
  /** Source port; for ICMP/ICMPv6 the message type. Null for port-less protocols. */
  srcPort: number | null;
  /** Destination port; for ICMP/ICMPv6 the message code. Null for port-less protocols. */
  dstPort: number | null;
}

/** Options of {@linkcode communityId}. */
export interface CommunityIdOptions {
  /**
   * Seed separating Community ID "domains"; 0..65535.
   * @default {0}
   */
  seed?: number;
  /**
   * Render the digest as base64 (the standard form); false gives hex.
   * @default {true}
   */
  base64?: boolean;
}

/** Protocols whose Community ID includes ports (ICMP types count as ports). */
const PORT_PROTOCOLS = new Set([
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
]);

/**
 * Computes the Community ID v1 string of a flow tuple, or null when the tuple
 * cannot be hashed (unparsable or mixed-family addresses, or a port protocol
 * without ports, such as a non-first fragment), which the spec allows a
 * monitor to report as "no ID".
 *
 * @example
 * ```ts
 * communityId({ srcIp: "128.232.110.120", dstIp: "66.35.250.204", ipProto: 6, srcPort: 34855, dstPort: 80 });
 * // "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
 * ```
 */
export function communityId(
  tuple: CommunityIdTuple,
  options: CommunityIdOptions = {},
): string | null {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff) {
    throw new RangeError(
      `Cannot compute Community ID as 'seed' must be an integer 0..65535: current value is ${seed}`,
    );
  }
  const { ipProto } = tuple;
  if (!Number.isInteger(ipProto) || ipProto < 0 || ipProto > 255) return null;
  const srcLength = parseIpInto(tuple.srcIp, SRC, 0);
  const dstLength = parseIpInto(tuple.dstIp, DST, 0);
  if (srcLength === 0 || srcLength !== dstLength) return null;

  const hasPorts = PORT_PROTOCOLS.has(ipProto);
  let srcPort = 0;
  let dstPort = 0;
  let oneWay = false;
  if (hasPorts) {
    if (tuple.srcPort === null || tuple.dstPort === null) return null;
    srcPort = tuple.srcPort;
    dstPort = tuple.dstPort;
    if (ipProto === IPPROTO_ICMP || ipProto === IPPROTO_ICMPV6) {
      [srcPort, dstPort, oneWay] = icmpPortEquivalents(ipProto, srcPort, dstPort);
    }
    if (
      !Number.isInteger(srcPort) || !Number.isInteger(dstPort) ||
      srcPort < 0 || srcPort > 0xffff || dstPort < 0 || dstPort > 0xffff
    ) {
      return null;
    }
  }

  let first = SRC;
  let second = DST;
  if (!oneWay) {
    const order = compareBytes(SRC, DST, srcLength);
    if (order > 0 || (order === 0 && hasPorts && srcPort > dstPort)) {
      first = DST;
      second = SRC;
      [srcPort, dstPort] = [dstPort, srcPort];
    }
  }

  // seed(2) . first . second . proto(1) . pad(1) [. port(2) . port(2)]
  const input = INPUT;
  input[0] = seed >>> 8;
  input[1] = seed & 0xff;
  input.set(first.subarray(0, srcLength), 2);
  input.set(second.subarray(0, srcLength), 2 + srcLength);
  let offset = 2 + srcLength * 2;
  input[offset++] = ipProto;
  input[offset++] = 0;
  if (hasPorts) {
    input[offset++] = srcPort >>> 8;
    input[offset++] = srcPort & 0xff;
    input[offset++] = dstPort >>> 8;
    input[offset++] = dstPort & 0xff;
  }
  const digest = sha1(input, offset);
  if (options.base64 === false) {
    let hex = "";
    for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
    return `1:${hex}`;
  }
  return `1:${bytesToBase64(digest)}`;
}

// Scratch buffers: the computation is synchronous, so one set suffices.
const SRC = new Uint8Array(16);
const DST = new Uint8Array(16);
const INPUT = new Uint8Array(2 + 16 * 2 + 2 + 4);

function compareBytes(a: Uint8Array, b: Uint8Array, length: number): number {
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard padded base64 (a 20-byte digest becomes 28 characters). */
function bytesToBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += BASE64[n >>> 18] + BASE64[(n >>> 12) & 63] + BASE64[(n >>> 6) & 63] + BASE64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += BASE64[n >>> 18] + BASE64[(n >>> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += BASE64[n >>> 18] + BASE64[(n >>> 12) & 63] + BASE64[(n >>> 6) & 63] + "=";
  }
  return out;
}
