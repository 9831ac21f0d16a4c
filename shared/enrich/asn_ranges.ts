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

import { parseIp } from "../packet/address_parse.ts";

/** Raised for a table that is not in the expected CSV form; names the line. */
export class AsnTableError extends Error {
  /**
   * Creates the error; `cause` is the error underneath, when there is one.
   *
   * @param message what is wrong, and where
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "AsnTableError";
  }
}

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

/** Splits one CSV row into its four fields; the organisation may be quoted with `""` escapes. */
function splitRow(line: string, lineNumber: number): [string, string, string, string] {
  const first = line.indexOf(",");
  const second = line.indexOf(",", first + 1);
  const third = line.indexOf(",", second + 1);
  if (first < 0 || second < 0 || third < 0) {
    throw new AsnTableError(`line ${lineNumber}: expected 4 fields: ${line.slice(0, 80)}`);
  }
  let organization = line.slice(third + 1);
  if (organization.startsWith('"')) {
    if (!organization.endsWith('"') || organization.length < 2) {
      throw new AsnTableError(
        `line ${lineNumber}: unterminated quoted field: ${line.slice(0, 80)}`,
      );
    }
    organization = organization.slice(1, -1).replaceAll('""', '"');
  }
  return [
    line.slice(0, first),
    line.slice(first + 1, second),
    line.slice(second + 1, third),
    organization,
  ];
}

function parseAsn(text: string, lineNumber: number): number {
  const asn = Number(text);
  if (!Number.isInteger(asn) || asn < 0 || asn > 0xffffffff || text === "") {
    throw new AsnTableError(`line ${lineNumber}: bad AS number '${text}'`);
  }
  return asn;
}

/** Interns organisation names: each distinct name is stored once. */
class Names {
  readonly list: (string | null)[] = [];
  readonly #index = new Map<string, number>();

  intern(name: string): number {
    if (name === "") name = "\u0000";
    let index = this.#index.get(name);
    if (index === undefined) {
      index = this.list.length;
      this.list.push(name === "\u0000" ? null : name);
      this.#index.set(name, index);
    }
    return index;
  }
}

function* lines(text: string): Generator<[string, number]> {
  let start = 0;
  let number = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    number++;
    const line = text.slice(start, end > start && text[end - 1] === "\r" ? end - 1 : end);
    start = end + 1;
    if (line.length > 0) yield [line, number];
  }
}

function checkOrder(previousFirst: number | bigint, first: number | bigint, lineNumber: number) {
  if (first <= previousFirst) {
    throw new AsnTableError(`line ${lineNumber}: ranges do not start in ascending order`);
  }
}

/**
 * Reads the IPv4 table whose addresses are numbers (`asn-ipv4-num.csv`).
 *
 * @throws {AsnTableError} for a malformed row or unsorted ranges
 */
export function parseAsnIpv4Table(text: string): AsnRanges {
  const firsts: number[] = [];
  const lasts: number[] = [];
  const asns: number[] = [];
  const orgs: number[] = [];
  const names = new Names();
  for (const [line, n] of lines(text)) {
    const [a, b, asn, organization] = splitRow(line, n);
    const first = Number(a);
    const last = Number(b);
    if (!Number.isInteger(first) || !Number.isInteger(last) || first > last || last > 0xffffffff) {
      throw new AsnTableError(`line ${n}: bad range '${a}'..'${b}'`);
    }
    checkOrder(firsts.at(-1) ?? -1, first, n);
    // An overlap: the range before now ends where this one starts.
    if (lasts.length > 0 && first <= lasts[lasts.length - 1]) lasts[lasts.length - 1] = first - 1;
    firsts.push(first);
    lasts.push(last);
    asns.push(parseAsn(asn, n));
    orgs.push(names.intern(organization));
  }
  const first = Uint32Array.from(firsts);
  const last = Uint32Array.from(lasts);
  const asn = Uint32Array.from(asns);
  const org = Uint32Array.from(orgs);
  return {
    size: first.length,
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
      return { asn: asn[found], organization: names.list[org[found]] };
    },
  };
}

/** The address's high and low 64 bits. */
function halves(bytes: Uint8Array): [bigint, bigint] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return [view.getBigUint64(0), view.getBigUint64(8)];
}

/**
 * Reads the IPv6 table whose addresses are text (`asn-ipv6.csv`).
 *
 * @throws {AsnTableError} for a malformed row or unsorted ranges
 */
export function parseAsnIpv6Table(text: string): AsnRanges {
  // Each address as two 64-bit halves, compared high half first.
  const firstHigh: bigint[] = [];
  const firstLow: bigint[] = [];
  const lastHigh: bigint[] = [];
  const lastLow: bigint[] = [];
  const asns: number[] = [];
  const orgs: number[] = [];
  const names = new Names();
  let previousFirst = -1n;
  let previousLast = -1n;
  for (const [line, n] of lines(text)) {
    const [a, b, asn, organization] = splitRow(line, n);
    const firstBytes = parseIp(a);
    const lastBytes = parseIp(b);
    if (firstBytes?.length !== 16 || lastBytes?.length !== 16) {
      throw new AsnTableError(`line ${n}: bad IPv6 range '${a}'..'${b}'`);
    }
    const [fh, fl] = halves(firstBytes);
    const [lh, ll] = halves(lastBytes);
    const firstValue = (fh << 64n) | fl;
    const lastValue = (lh << 64n) | ll;
    if (firstValue > lastValue) throw new AsnTableError(`line ${n}: bad IPv6 range '${a}'..'${b}'`);
    checkOrder(previousFirst, firstValue, n);
    previousFirst = firstValue;
    if (firstValue <= previousLast && lastHigh.length > 0) {
      // An overlap: the range before now ends where this one starts.
      const end = firstValue - 1n;
      lastHigh[lastHigh.length - 1] = end >> 64n;
      lastLow[lastLow.length - 1] = end & 0xffffffffffffffffn;
    }
    previousLast = lastValue;
    firstHigh.push(fh);
    firstLow.push(fl);
    lastHigh.push(lh);
    lastLow.push(ll);
    asns.push(parseAsn(asn, n));
    orgs.push(names.intern(organization));
  }
  const fh = BigUint64Array.from(firstHigh);
  const fl = BigUint64Array.from(firstLow);
  const lh = BigUint64Array.from(lastHigh);
  const ll = BigUint64Array.from(lastLow);
  const asn = Uint32Array.from(asns);
  const org = Uint32Array.from(orgs);
  return {
    size: fh.length,
    find(address: Uint8Array): AsnEntry | null {
      if (address.length !== 16) return null;
      const [high, low] = halves(address);
      let lo = 0;
      let hi = fh.length - 1;
      let found = -1;
      while (lo <= hi) {
        const middle = (lo + hi) >>> 1;
        if (fh[middle] < high || (fh[middle] === high && fl[middle] <= low)) {
          found = middle;
          lo = middle + 1;
        } else {
          hi = middle - 1;
        }
      }
      if (found < 0) return null;
      if (high > lh[found] || (high === lh[found] && low > ll[found])) return null;
      return { asn: asn[found], organization: names.list[org[found]] };
    },
  };
}
