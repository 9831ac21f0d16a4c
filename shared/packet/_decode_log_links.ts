/**
 * Firewall log link layers: Linux netfilter's NFLOG (LINKTYPE 239,
 * `tcpdump -i nflog:N`) and BSD pf's PFLOG (117, `/var/log/pflog`). Each is
 * a header in front of the logged IP packet, whose version the header's
 * address family gives.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import { decodeIpv4, decodeIpv6 } from "./_decode_ip.ts";
import { decodeBsdFamily, PROTOCOL_UNKNOWN } from "./_decode_bsd_family.ts";
import {
  LINK_TRUNCATED,
  NFLOG_BAD_TLV,
  NFLOG_TRUNCATED,
  PFLOG_BAD_HEADER_LENGTH,
  PFLOG_TRUNCATED,
} from "./_malformed.ts";

/** NFLOG header: address family, version, resource id (the log group). */
const NFLOG_HEADER_BYTES = 4;
const NFLOG_TLV_HEADER_BYTES = 4;
/** `NFULA_PAYLOAD`: the TLV holding the packet from its network layer on. */
const NFULA_PAYLOAD = 9;
/** TLV type bits; the top bit is netlink's "nested" flag. */
const NFULA_TYPE_MASK = 0x7fff;
/** TLV types run to about 20; read in the wrong byte order, any of them is 256 or more. */
const NFULA_TYPE_MAX = 0xff;
/** Linux `AF_INET` and `AF_INET6`. */
const LINUX_AF_INET = 2;
const LINUX_AF_INET6 = 10;

/**
 * Decodes an NFLOG frame: walks the TLVs (length and type in the capturing
 * host's byte order, each padded to 4 bytes) to the payload TLV and decodes
 * the packet in it. The byte order is read off the first TLV's type, which
 * is small in the right order; a file written on the other kind of host is
 * then read as tshark reads it after libpcap's byte swap.
 */
export function decodeNflog(bytes: Uint8Array, view: DataView, h: PacketHeaders): void {
  const end = h.captureEnd;
  if (end < NFLOG_HEADER_BYTES) return noNetwork(end, LINK_TRUNCATED, h);
  const family = bytes[0];
  let offset = NFLOG_HEADER_BYTES;
  const littleEndian = offset + NFLOG_TLV_HEADER_BYTES > end ||
    (view.getUint16(offset + 2, true) & NFULA_TYPE_MASK) <= NFULA_TYPE_MAX;
  while (offset + NFLOG_TLV_HEADER_BYTES <= h.wireEnd) {
    if (offset + NFLOG_TLV_HEADER_BYTES > end) return noNetwork(end, NFLOG_TRUNCATED, h);
    const length = view.getUint16(offset, littleEndian);
    if (length < NFLOG_TLV_HEADER_BYTES) return noNetwork(offset, NFLOG_BAD_TLV, h);
    const type = view.getUint16(offset + 2, littleEndian) & NFULA_TYPE_MASK;
    if (type === NFULA_PAYLOAD) {
      const payload = offset + NFLOG_TLV_HEADER_BYTES;
      const payloadEnd = offset + length;
      if (payloadEnd > h.wireEnd) h.markMalformed(NFLOG_BAD_TLV);
      // The TLV, not the frame, says where the packet ends.
      if (payloadEnd < h.wireEnd) h.wireEnd = payloadEnd;
      if (h.captureEnd > h.wireEnd) h.captureEnd = h.wireEnd;
      h.headerEnd = payload < h.captureEnd ? payload : h.captureEnd;
      switch (family) {
        case LINUX_AF_INET:
          return decodeIpv4(bytes, view, payload, h);
        case LINUX_AF_INET6:
          return decodeIpv6(bytes, view, payload, h);
        default:
          h.protocol = PROTOCOL_UNKNOWN;
          h.payloadLength = h.wireEnd > payload ? h.wireEnd - payload : 0;
          return;
      }
    }
    offset += (length + 3) & ~3;
  }
  // A log message without the packet (e.g. `--nflog-size 0`).
  noNetwork(offset < end ? offset : end, null, h);
}

/**
 * The shortest pfloghdr the dissectors accept: length, family, action and
 * reason, the interface and ruleset names, and the rule numbers, as the
 * first (OpenBSD 3.4) layout had them.
 */
const PFLOG_MIN_HEADER_BYTES = 45;

/**
 * Decodes a PFLOG frame: the header's length is its first byte, and the
 * packet starts at that length rounded up to 4 bytes (`BPF_WORDALIGN`, as
 * the kernels pad it and Wireshark's packet-pflog.c reads it).
 */
export function decodePflog(bytes: Uint8Array, view: DataView, h: PacketHeaders): void {
  const end = h.captureEnd;
  if (end < 2) return noNetwork(end, LINK_TRUNCATED, h);
  const length = bytes[0];
  if (length < PFLOG_MIN_HEADER_BYTES) return noNetwork(end, PFLOG_BAD_HEADER_LENGTH, h);
  const payload = (length + 3) & ~3;
  if (payload > end) return noNetwork(end, PFLOG_TRUNCATED, h);
  h.headerEnd = payload;
  decodeBsdFamily(bytes, view, bytes[1], payload, h);
}

/** A frame whose packet could not be reached: flagged with `reason` unless null. */
function noNetwork(headerEnd: number, reason: string | null, h: PacketHeaders): void {
  h.protocol = PROTOCOL_UNKNOWN;
  h.headerEnd = headerEnd;
  if (reason !== null) h.markMalformed(reason);
}
