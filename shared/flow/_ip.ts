/**
 * IP address text <-> bytes helpers for the flow code: Community ID hashes
 * addresses in network byte order, and the ICMP-error quote parser has to
 * print quoted addresses exactly as the packet decoders do (dotted quad,
 * RFC 5952 IPv6) so that they match flow keys.
 *
 * @module
 */

import { parseIpInto as parseAnyIpInto } from "../packet/address_parse.ts";

export { parseIp } from "../packet/address_parse.ts";
// One formatter for addresses everywhere: the decoder's, which prints what tshark prints.
export { formatIpv4, formatIpv6 } from "../packet/address_format.ts";

/**
 * `parseIpInto` of `shared/packet/address_parse.ts` (same results), with
 * the IPv6 forms packet decoders print (hex groups, at most one `::`)
 * parsed without allocating: Community ID parses two addresses per new
 * flow. Anything else (a zone, an IPv4 tail, invalid text) goes to the
 * general parser.
 */
export function parseIpInto(text: string, out: Uint8Array, offset: number): number {
  if (text.indexOf(":") >= 0 && parseIpv6Into(text, out, offset)) return 16;
  return parseAnyIpInto(text, out, offset);
}

/** Groups of an IPv6 address being parsed (scratch). */
const groups = new Uint16Array(8);

/**
 * Parses `h:h:...` with at most one `::` into 16 bytes at `out[offset]`;
 * false (having written nothing) for any other text, which the general
 * parser then accepts or rejects.
 */
function parseIpv6Into(text: string, out: Uint8Array, offset: number): boolean {
  const length = text.length;
  let count = 0; // groups read
  let gap = -1; // index in `groups` where `::` stands
  let i = 0;
  if (length >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
    if (i === length) return fill(out, offset, count, gap);
  }
  for (;;) {
    // One group of 1 to 4 hex digits.
    let value = 0;
    let digits = 0;
    while (i < length) {
      const c = text.charCodeAt(i);
      const d = c >= 48 && c <= 57
        ? c - 48
        : c >= 97 && c <= 102
        ? c - 87
        : c >= 65 && c <= 70
        ? c - 55
        : -1;
      if (d < 0) break;
      if (++digits > 4) return false;
      value = value * 16 + d;
      i++;
    }
    if (digits === 0 || count === 8) return false;
    groups[count++] = value;
    if (i === length) return fill(out, offset, count, gap);
    if (text.charCodeAt(i) !== 58) return false; // a '.', '%' or junk: not this form
    i++;
    if (i < length && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
      if (i === length) return fill(out, offset, count, gap);
    } else if (i === length) {
      return false; // a trailing single ':'
    }
  }
}

/** Writes the groups read, the gap filled with zeros; false when they do not make 8. */
function fill(out: Uint8Array, offset: number, count: number, gap: number): boolean {
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const zeros = 8 - count;
  let g = 0;
  for (let slot = 0; slot < 8; slot++) {
    const value = gap >= 0 && slot >= gap && slot < gap + zeros ? 0 : groups[g++];
    out[offset + slot * 2] = value >>> 8;
    out[offset + slot * 2 + 1] = value & 0xff;
  }
  return true;
}
