/**
 * Address-to-ASN lookup over the ip-location-db ASN tables: CSV rows of
 * `first,last,asn,organisation` (inclusive ranges, sorted, not overlapping),
 * the IPv4 table with numeric addresses, the IPv6 table with text ones.
 *
 * The rows become sorted typed arrays searched by bisection, and the
 * organisation names one interned string each: about 500,000 ranges in
 * 20 MB, with no object per range. Ranges must start in order; where one
 * starts inside the range before it (the published tables have a few such
 * overlaps), the later one, usually the more specific, wins the overlap.
 *
 * @module
 */

import { AsnTableError, grown, NameTable, RowReader, tableBytes } from "./_asn_csv.ts";

export { AsnTableError };

/** The autonomous system an address belongs to. */
export interface AsnEntry {
  /** AS number. */
  asn: number;
  /** The AS's organisation as the table names it, or null when it names none. */
  organization: string | null;
}

/** The ranges of one address family, searched by {@linkcode AsnRanges.find}. */
export interface AsnRanges {
  /** Number of ranges. */
  readonly size: number;
  /** The entry whose range holds `address` (4 or 16 bytes, as its table), or null. */
  find(address: Uint8Array): AsnEntry | null;
}

/**
 * Reads the IPv4 table whose addresses are numbers (`asn-ipv4-num.csv`), as
 * the file's bytes (a leading byte-order mark is skipped) or as text.
 *
 * @throws {AsnTableError} for a malformed row or unsorted ranges
 */
export function parseAsnIpv4Table(table: string | Uint8Array): AsnRanges {
  const rows = new RowReader(tableBytes(table));
  // The shipped table has rows of about 52 bytes.
  let capacity = Math.max(16, Math.ceil(rows.bytes.length / 48));
  let firsts = new Uint32Array(capacity);
  let lasts = new Uint32Array(capacity);
  let asns = new Uint32Array(capacity);
  let orgs = new Uint32Array(capacity);
  const names = new NameTable();
  let count = 0;
  let previousFirst = -1;
  while (rows.next()) {
    const first = rows.first();
    const last = rows.last();
    if (!Number.isInteger(first) || !Number.isInteger(last) || first > last || last > 0xffffffff) {
      rows.fail(
        `bad range '${rows.text(rows.firstStart, rows.firstEnd)}'..'${
          rows.text(rows.firstEnd + 1, rows.lastEnd)
        }'`,
      );
    }
    if (first <= previousFirst) rows.fail("ranges do not start in ascending order");
    previousFirst = first;
    // An overlap: the range before now ends where this one starts.
    if (count > 0 && first <= lasts[count - 1]) lasts[count - 1] = first - 1;
    if (count === capacity) {
      capacity *= 2;
      firsts = grown(firsts, capacity);
      lasts = grown(lasts, capacity);
      asns = grown(asns, capacity);
      orgs = grown(orgs, capacity);
    }
    firsts[count] = first;
    lasts[count] = last;
    asns[count] = rows.asn();
    orgs[count] = rows.orgEscaped
      ? names.internEscaped(rows.bytes, rows.orgStart, rows.orgEnd)
      : names.intern(rows.bytes, rows.orgStart, rows.orgEnd);
    count++;
  }
  const first = firsts.slice(0, count);
  const last = lasts.slice(0, count);
  const asn = asns.slice(0, count);
  const org = orgs.slice(0, count);
  return {
    size: count,
    find(address: Uint8Array): AsnEntry | null {
      if (address.length !== 4) return null;
      const value = ((address[0] << 24) | (address[1] << 16) | (address[2] << 8) | address[3]) >>>
        0;
      // The last range starting at or before the address.
      let low = 0;
      let high = first.length - 1;
      let found = -1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        if (first[middle] <= value) {
          found = middle;
          low = middle + 1;
        } else {
          high = middle - 1;
        }
      }
      if (found < 0 || value > last[found]) return null;
      return { asn: asn[found], organization: names.name(org[found]) };
    },
  };
}

/** -1, 0 or 1 as the 128-bit value of four words at `a[i]` is below, at or above `b[j]`'s. */
function compare128(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  for (let k = 0; k < 4; k++) {
    if (a[i + k] !== b[j + k]) return a[i + k] < b[j + k] ? -1 : 1;
  }
  return 0;
}

/** Writes the 128-bit value of four words at `from[i]`, less one, to `to[j]`; it is not 0. */
function decrement128(from: Uint32Array, i: number, to: Uint32Array, j: number): void {
  let borrow = 1;
  for (let k = 3; k >= 0; k--) {
    const word = from[i + k];
    to[j + k] = word - borrow;
    borrow = borrow === 1 && word === 0 ? 1 : 0;
  }
}

/**
 * Reads the IPv6 table whose addresses are text (`asn-ipv6.csv`), as the
 * file's bytes (a leading byte-order mark is skipped) or as text.
 *
 * @throws {AsnTableError} for a malformed row or unsorted ranges
 */
export function parseAsnIpv6Table(table: string | Uint8Array): AsnRanges {
  const rows = new RowReader(tableBytes(table));
  // Each address as four 32-bit words, most significant first. The shipped
  // table has rows of about 85 bytes.
  let capacity = Math.max(16, Math.ceil(rows.bytes.length / 80));
  let firsts = new Uint32Array(capacity * 4);
  let lasts = new Uint32Array(capacity * 4);
  let asns = new Uint32Array(capacity);
  let orgs = new Uint32Array(capacity);
  const names = new NameTable();
  const pair = new Uint32Array(8); // this row's first and last
  let count = 0;
  while (rows.next()) {
    const firstOk = rows.ipv6(0, pair, 0);
    const lastOk = rows.ipv6(1, pair, 4);
    if (!firstOk || !lastOk || compare128(pair, 0, pair, 4) > 0) {
      rows.fail(
        `bad IPv6 range '${rows.text(rows.firstStart, rows.firstEnd)}'..'${
          rows.text(rows.firstEnd + 1, rows.lastEnd)
        }'`,
      );
    }
    if (count > 0) {
      const at = (count - 1) * 4;
      if (compare128(pair, 0, firsts, at) <= 0) {
        rows.fail("ranges do not start in ascending order");
      }
      // An overlap: the range before now ends where this one starts.
      if (compare128(pair, 0, lasts, at) <= 0) decrement128(pair, 0, lasts, at);
    }
    if (count === capacity) {
      capacity *= 2;
      firsts = grown(firsts, capacity * 4);
      lasts = grown(lasts, capacity * 4);
      asns = grown(asns, capacity);
      orgs = grown(orgs, capacity);
    }
    firsts.set(pair.subarray(0, 4), count * 4);
    lasts.set(pair.subarray(4, 8), count * 4);
    asns[count] = rows.asn();
    orgs[count] = rows.orgEscaped
      ? names.internEscaped(rows.bytes, rows.orgStart, rows.orgEnd)
      : names.intern(rows.bytes, rows.orgStart, rows.orgEnd);
    count++;
  }
  const first = firsts.slice(0, count * 4);
  const last = lasts.slice(0, count * 4);
  const asn = asns.slice(0, count);
  const org = orgs.slice(0, count);
  return {
    size: count,
    find(address: Uint8Array): AsnEntry | null {
      if (address.length !== 16) return null;
      const a0 = word(address, 0);
      const a1 = word(address, 4);
      const a2 = word(address, 8);
      const a3 = word(address, 12);
      // The last range starting at or before the address.
      let low = 0;
      let high = count - 1;
      let found = -1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        const at = middle * 4;
        const f0 = first[at];
        let below = f0 < a0;
        if (f0 === a0) {
          const f1 = first[at + 1];
          below = f1 < a1 ||
            (f1 === a1 &&
              (first[at + 2] < a2 || (first[at + 2] === a2 && first[at + 3] <= a3)));
        }
        if (below) {
          found = middle;
          low = middle + 1;
        } else {
          high = middle - 1;
        }
      }
      if (found < 0) return null;
      const at = found * 4;
      const l0 = last[at];
      if (a0 !== l0) {
        if (a0 > l0) return null;
      } else if (a1 !== last[at + 1]) {
        if (a1 > last[at + 1]) return null;
      } else if (a2 !== last[at + 2]) {
        if (a2 > last[at + 2]) return null;
      } else if (a3 > last[at + 3]) return null;
      return { asn: asn[found], organization: names.name(org[found]) };
    },
  };
}

function word(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}
