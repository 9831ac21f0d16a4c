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
import { sha1Words } from "./_sha1.ts";

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
  if (!hashTuple(tuple.srcIp, tuple.dstIp, tuple.ipProto, tuple.srcPort, tuple.dstPort, seed)) {
    return null;
  }
  if (options.base64 === false) {
    let hex = "1:";
    for (let i = 0; i < 5; i++) hex += (DIGEST[i] >>> 0).toString(16).padStart(8, "0");
    return hex;
  }
  return digestBase64();
}

/**
 * {@linkcode communityId} in base64 for a seed already checked to be an
 * integer 0..65535, without the tuple and options objects: the flow table
 * calls it once per new flow.
 */
export function flowCommunityId(
  srcIp: string,
  dstIp: string,
  ipProto: number,
  srcPort: number | null,
  dstPort: number | null,
  seed: number,
): string | null {
  return hashTuple(srcIp, dstIp, ipProto, srcPort, dstPort, seed) ? digestBase64() : null;
}

/** Digest of the last successful {@linkcode hashTuple}. */
const DIGEST = new Int32Array(5);

/**
 * Hashes a tuple into {@linkcode DIGEST}; false when it cannot be hashed
 * (see {@linkcode communityId}).
 */
function hashTuple(
  srcIp: string,
  dstIp: string,
  ipProto: number,
  tupleSrcPort: number | null,
  tupleDstPort: number | null,
  seed: number,
): boolean {
  if (!Number.isInteger(ipProto) || ipProto < 0 || ipProto > 255) return false;
  const srcLength = parseIpInto(srcIp, SRC, 0);
  const dstLength = parseIpInto(dstIp, DST, 0);
  if (srcLength === 0 || srcLength !== dstLength) return false;

  const hasPorts = PORT_PROTOCOLS.has(ipProto);
  let srcPort = 0;
  let dstPort = 0;
  let oneWay = false;
  if (hasPorts) {
    if (tupleSrcPort === null || tupleDstPort === null) return false;
    srcPort = tupleSrcPort;
    dstPort = tupleDstPort;
    if (ipProto === IPPROTO_ICMP || ipProto === IPPROTO_ICMPV6) {
      [srcPort, dstPort, oneWay] = icmpPortEquivalents(ipProto, srcPort, dstPort);
    }
    if (
      !Number.isInteger(srcPort) || !Number.isInteger(dstPort) ||
      srcPort < 0 || srcPort > 0xffff || dstPort < 0 || dstPort > 0xffff
    ) {
      return false;
    }
  }

  let first = SRC;
  let second = DST;
  if (!oneWay) {
    const order = compareBytes(SRC, DST, srcLength);
    if (order > 0 || (order === 0 && hasPorts && srcPort > dstPort)) {
      first = DST;
      second = SRC;
      const port = srcPort;
      srcPort = dstPort;
      dstPort = port;
    }
  }

  // seed(2) . first . second . proto(1) . pad(1) [. port(2) . port(2)]
  const input = INPUT;
  input[0] = seed >>> 8;
  input[1] = seed & 0xff;
  for (let i = 0; i < srcLength; i++) {
    input[2 + i] = first[i];
    input[2 + srcLength + i] = second[i];
  }
  let offset = 2 + srcLength * 2;
  input[offset++] = ipProto;
  input[offset++] = 0;
  if (hasPorts) {
    input[offset++] = srcPort >>> 8;
    input[offset++] = srcPort & 0xff;
    input[offset++] = dstPort >>> 8;
    input[offset++] = dstPort & 0xff;
  }
  DIGEST.set(sha1Words(input, offset));
  return true;
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
const BASE64_CODES = Array.from(BASE64, (c) => c.charCodeAt(0));
/** Character codes of `1:` plus the 28 base64 characters of a 20-byte digest. */
const CODES: number[] = new Array(30).fill(0);

/**
 * `1:` plus the standard padded base64 of {@linkcode DIGEST} (20 bytes, 28
 * characters), built as one string.
 */
function digestBase64(): string {
  const codes = CODES;
  codes[0] = 49; // '1'
  codes[1] = 58; // ':'
  let at = 2;
  // 20 bytes: six 3-byte groups, then 2 bytes and one '='.
  for (let i = 0; i < 20; i += 3) {
    const b0 = digestByte(i);
    const b1 = digestByte(i + 1);
    if (i + 2 < 20) {
      const n = (b0 << 16) | (b1 << 8) | digestByte(i + 2);
      codes[at++] = BASE64_CODES[n >>> 18];
      codes[at++] = BASE64_CODES[(n >>> 12) & 63];
      codes[at++] = BASE64_CODES[(n >>> 6) & 63];
      codes[at++] = BASE64_CODES[n & 63];
    } else {
      const n = (b0 << 16) | (b1 << 8);
      codes[at++] = BASE64_CODES[n >>> 18];
      codes[at++] = BASE64_CODES[(n >>> 12) & 63];
      codes[at++] = BASE64_CODES[(n >>> 6) & 63];
      codes[at++] = 61; // '='
    }
  }
  return String.fromCharCode.apply(null, codes);
}

/** Byte `i` (0..19) of the big-endian {@linkcode DIGEST}. */
function digestByte(i: number): number {
  return (DIGEST[i >>> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}
