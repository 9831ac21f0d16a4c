/**
 * Address-to-string formatting for packet records: dotted-quad IPv4, RFC 5952
 * IPv6 (as glibc's `inet_ntop` and tshark print it) and colon-separated MAC.
 * Each reads straight from the captured bytes; lookup tables are built on
 * first use so formatting is a few array reads and concatenations, and
 * recently seen addresses come from a small cache without building a string.
 *
 * @module
 */

let decimal: string[] | undefined;
let hexByte: string[] | undefined;
let hexWord: string[] | undefined;

function decimalTable(): string[] {
  if (decimal === undefined) {
    decimal = new Array<string>(256);
    for (let i = 0; i < 256; i++) decimal[i] = String(i);
  }
  return decimal;
}

function hexByteTable(): string[] {
  if (hexByte === undefined) {
    hexByte = new Array<string>(256);
    for (let i = 0; i < 256; i++) hexByte[i] = i.toString(16).padStart(2, "0");
  }
  return hexByte;
}

function hexWordTable(): string[] {
  if (hexWord === undefined) {
    hexWord = new Array<string>(0x10000);
    for (let i = 0; i < 0x10000; i++) hexWord[i] = i.toString(16);
  }
  return hexWord;
}

/**
 * Direct-mapped caches of recently formatted addresses. Traffic repeats the
 * same few hosts, so most lookups hit and no string is built; a miss just
 * overwrites its slot. Keys are the address bytes as 32-bit words.
 */
const CACHE_SLOTS = 4096;
const CACHE_MASK = CACHE_SLOTS - 1;

class AddressCache {
  readonly keys: Uint32Array;
  readonly values: (string | undefined)[] = new Array(CACHE_SLOTS);
  constructor(readonly words: number) {
    this.keys = new Uint32Array(CACHE_SLOTS * words);
  }
}

let ipv4Cache: AddressCache | undefined;
let macCache: AddressCache | undefined;
let ipv6Cache: AddressCache | undefined;

function word(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) |
    (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

function slotOf(hash: number): number {
  return (hash ^ (hash >>> 12) ^ (hash >>> 24)) & CACHE_MASK;
}

/**
 * Formats the 4 bytes at `offset` as a dotted quad (`192.0.2.1`).
 *
 * @example
 * ```ts
 * formatIpv4(new Uint8Array([192, 0, 2, 1]), 0); // "192.0.2.1"
 * ```
 */
export function formatIpv4(bytes: Uint8Array, offset: number): string {
  const cache = ipv4Cache ??= new AddressCache(1);
  const key = word(bytes, offset);
  const slot = slotOf(key);
  const cached = cache.values[slot];
  if (cached !== undefined && cache.keys[slot] === key) return cached;
  const d = decimal ?? decimalTable();
  const text = d[bytes[offset]] + "." + d[bytes[offset + 1]] + "." +
    d[bytes[offset + 2]] + "." + d[bytes[offset + 3]];
  cache.keys[slot] = key;
  cache.values[slot] = text;
  return text;
}

/**
 * Formats the 6 bytes at `offset` as a lowercase colon-separated MAC
 * (`00:1b:21:0a:0b:0c`), the form tshark prints.
 */
export function formatMac(bytes: Uint8Array, offset: number): string {
  const cache = macCache ??= new AddressCache(2);
  const high = (bytes[offset] << 8) | bytes[offset + 1];
  const low = word(bytes, offset + 2);
  const slot = slotOf(low ^ (high * 0x9e37));
  const cached = cache.values[slot];
  if (
    cached !== undefined && cache.keys[2 * slot] === high &&
    cache.keys[2 * slot + 1] === low
  ) {
    return cached;
  }
  const h = hexByte ?? hexByteTable();
  const text = h[bytes[offset]] + ":" + h[bytes[offset + 1]] + ":" +
    h[bytes[offset + 2]] + ":" + h[bytes[offset + 3]] + ":" +
    h[bytes[offset + 4]] + ":" + h[bytes[offset + 5]];
  cache.keys[2 * slot] = high;
  cache.keys[2 * slot + 1] = low;
  cache.values[slot] = text;
  return text;
}

/**
 * Formats the 16 bytes at `offset` as an IPv6 address in RFC 5952 form:
 * lowercase hex, no leading zeros, the longest run of two or more zero groups
 * (the first on a tie) written `::`. IPv4-compatible (`::a.b.c.d`) and
 * IPv4-mapped (`::ffff:a.b.c.d`) addresses end in a dotted quad, as glibc's
 * `inet_ntop` and therefore tshark print them.
 *
 * @example
 * ```ts
 * const a = new Uint8Array(16);
 * a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8; a[15] = 1;
 * formatIpv6(a, 0); // "2001:db8::1"
 * ```
 */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  const cache = ipv6Cache ??= new AddressCache(4);
  const w0 = word(bytes, offset);
  const w1 = word(bytes, offset + 4);
  const w2 = word(bytes, offset + 8);
  const w3 = word(bytes, offset + 12);
  const slot = slotOf(w0 ^ Math.imul(w1, 31) ^ Math.imul(w2, 17) ^ Math.imul(w3, 13));
  const k = 4 * slot;
  const cached = cache.values[slot];
  if (
    cached !== undefined && cache.keys[k] === w0 && cache.keys[k + 1] === w1 &&
    cache.keys[k + 2] === w2 && cache.keys[k + 3] === w3
  ) {
    return cached;
  }
  const text = buildIpv6(bytes, offset);
  cache.keys[k] = w0;
  cache.keys[k + 1] = w1;
  cache.keys[k + 2] = w2;
  cache.keys[k + 3] = w3;
  cache.values[slot] = text;
  return text;
}

function buildIpv6(bytes: Uint8Array, offset: number): string {
  const h = hexWord ?? hexWordTable();
  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const o = offset + 2 * i;
    if (bytes[o] === 0 && bytes[o + 1] === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLength) {
        bestLength = i - runStart + 1;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestLength < 2) {
    bestStart = -1;
    bestLength = 0;
  }

  // inet_ntop's embedded-IPv4 rule: ::a.b.c.d and ::ffff:a.b.c.d.
  if (
    bestStart === 0 &&
    (bestLength === 6 ||
      (bestLength === 5 && bytes[offset + 10] === 0xff &&
        bytes[offset + 11] === 0xff))
  ) {
    return (bestLength === 6 ? "::" : "::ffff:") +
      formatIpv4(bytes, offset + 12);
  }

  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += "::";
      i += bestLength - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLength) text += ":";
    const o = offset + 2 * i;
    text += h[(bytes[o] << 8) | bytes[o + 1]];
  }
  return text;
}
