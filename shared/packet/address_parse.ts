/**
 * Address text to bytes, the inverse of `address_format.ts`: Community ID
 * hashes addresses in network byte order, and binary COPY sends `inet`
 * values as bytes.
 *
 * @module
 */

import { parseIpv6GroupsInto } from "./_ipv6_groups.ts";

/**
 * Parses an IPv4 dotted quad or an IPv6 address (any RFC 4291 text form,
 * including `::` and an embedded IPv4 tail; a `%zone` suffix is ignored)
 * into 4 or 16 bytes. Returns null when the text is not an address.
 */
export function parseIp(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  if (text.indexOf(":") >= 0 && parseIpv6GroupsInto(text, out, 0)) return out;
  const length = parseIpInto(text, out, 0);
  if (length === 0) return null;
  return length === 4 ? out.slice(0, 4) : out;
}

/**
 * Parses an address like {@linkcode parseIp} straight into `out` at
 * `offset`, without allocating for IPv4 or for IPv6 in the form decoders
 * print (the per-flow hot path). Returns the number of bytes written (4 or
 * 16), or 0 when the text is not an address.
 */
export function parseIpInto(text: string, out: Uint8Array, offset: number): number {
  if (text.indexOf(":") < 0) return parseIpv4Into(text, out, offset) ? 4 : 0;
  if (parseIpv6GroupsInto(text, out, offset)) return 16;
  // A zone, an IPv4 tail, or text that is not an address.
  const v6 = parseIpv6(text);
  if (v6 === null) return 0;
  out.set(v6, offset);
  return 16;
}

function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) { // '.'
      if (digits === 0 || part === 3) return false;
      out[offset + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      if (value > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  if (digits === 0 || part !== 3) return false;
  out[offset + 3] = value;
  return true;
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (part.length === 0 || part.length > 3 || !/^[0-9]+$/.test(part)) {
      return null;
    }
    const value = Number(part);
    if (value > 255) return null;
    out[i] = value;
  }
  return out;
}

function parseIpv6(input: string): Uint8Array | null {
  const zone = input.indexOf("%");
  const text = zone >= 0 ? input.slice(0, zone) : input;
  const out = new Uint8Array(16);
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const groups: number[] = [];
  const parseGroups = (list: string[], allowV4Tail: boolean): number[] | null => {
    const result: number[] = [];
    for (let i = 0; i < list.length; i++) {
      const group = list[i];
      if (allowV4Tail && i === list.length - 1 && group.includes(".")) {
        const v4 = parseIpv4(group);
        if (v4 === null) return null;
        result.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
      result.push(parseInt(group, 16));
    }
    return result;
  };
  const headGroups = parseGroups(head, halves.length === 1);
  const tailGroups = parseGroups(tail, true);
  if (headGroups === null || tailGroups === null) return null;
  if (halves.length === 1) {
    if (headGroups.length !== 8) return null;
    groups.push(...headGroups);
  } else {
    const missing = 8 - headGroups.length - tailGroups.length;
    if (missing < 1) return null;
    groups.push(...headGroups, ...new Array(missing).fill(0), ...tailGroups);
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i] >>> 8;
    out[i * 2 + 1] = groups[i] & 0xff;
  }
  return out;
}
