/**
 * The IPv6 text form packet decoders print (1–4 hex digits a group, at
 * most one `::`, no zone, no IPv4 tail), parsed without allocating: most
 * addresses a parser here sees are in it (Community ID's two a flow, a
 * GeoIP lookup's endpoint, `inet` values for binary COPY). Other forms go
 * to the general parser in address_parse.ts, which accepts or refuses them.
 *
 * @module
 */

/** Groups of an IPv6 address being parsed (scratch). */
const groups = new Uint16Array(8);

/**
 * Parses `h:h:...` with at most one `::` into 16 bytes at `out[offset]`;
 * false (having written nothing) for any other text, which the general
 * parser then accepts or rejects.
 */
export function parseIpv6GroupsInto(text: string, out: Uint8Array, offset: number): boolean {
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
