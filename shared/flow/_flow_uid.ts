/**
 * Flow uids: "F" + 22 base64url characters of a fast 128-bit hash of the
 * flow key, its first packet time and its same-instant suffix.
 *
 * @module
 */

import { endpointAFirst } from "./_flow_key.ts";

/** What {@linkcode flowUid} reads of a flow, and the hash lanes it keeps there. */
export interface UidParts {
  /** The table key. */
  key: string;
  /** First packet time, epoch seconds. */
  firstSeen: number;
  /** Disambiguates flows on one key starting at the same instant. */
  uidSuffix: number;
  /** The uid hash lanes after the key; valid when `keyLanesSet`. */
  keyLane0: number;
  /** See `keyLane0`. */
  keyLane1: number;
  /** See `keyLane0`. */
  keyLane2: number;
  /** See `keyLane0`. */
  keyLane3: number;
  /** The lanes hold the hash of `key`. */
  keyLanesSet: boolean;
}

/**
 * The parts of a tuple key, `canonicalKey(scope, proto, a, aPort, b, bPort)`
 * (`_flow_key.ts`), for {@linkcode flowUid} to hash without the key string.
 */
export interface TupleKey {
  /** The key's scope (`keyScope`, no VLANs). */
  scope: string;
  /** IP protocol number. */
  proto: number;
  /** One endpoint's address. */
  a: string;
  /** Its port. */
  aPort: number;
  /** The other endpoint's address. */
  b: string;
  /** Its port. */
  bPort: number;
}

/**
 * The flow uid: "F" + 22 base64url characters (120 bits) of a 128-bit hash of
 * `${key}|${firstSeen}|${uidSuffix}` (the key, the first packet time and the
 * same-instant suffix). Uniqueness is all that is needed (no adversary
 * chooses keys to collide uids in our own table), so a fast multiply-xor
 * hash with four 32-bit lanes replaces a cryptographic one. The hash runs
 * one part at a time, so the lanes after the key can come from the previous
 * flow on the same key, and are kept for the next one. With `tuple`, the
 * key is that tuple key, hashed from its parts without making the string
 * (the same characters, so the same uid).
 */
export function flowUid(
  flow: UidParts,
  previous: UidParts | undefined,
  tuple: TupleKey | null = null,
): string {
  if (previous !== undefined && previous.keyLanesSet) {
    uidLanes[0] = previous.keyLane0;
    uidLanes[1] = previous.keyLane1;
    uidLanes[2] = previous.keyLane2;
    uidLanes[3] = previous.keyLane3;
  } else {
    seedLanes();
    if (tuple === null) hashUidText(flow.key);
    else hashTupleKey(tuple);
  }
  flow.keyLane0 = uidLanes[0];
  flow.keyLane1 = uidLanes[1];
  flow.keyLane2 = uidLanes[2];
  flow.keyLane3 = uidLanes[3];
  flow.keyLanesSet = true;
  return finishUid(flow.firstSeen, flow.uidSuffix);
}

/**
 * A 30-bit hash of a flow key (a Smi): the first uid hash lane after the
 * key, masked, so a flow whose uid is made has it for nothing
 * ({@linkcode keyHashOfLanes}).
 */
export function keyHash(key: string): number {
  seedLanes();
  hashUidText(key);
  return uidLanes[0] & KEY_HASH_MASK;
}

/** {@linkcode keyHash} of the key of a flow whose `keyLanesSet`. */
export function keyHashOfLanes(flow: UidParts): number {
  return flow.keyLane0 & KEY_HASH_MASK;
}

const KEY_HASH_MASK = 0x3fffffff;

function seedLanes(): void {
  uidLanes[0] = 0x9e3779b9 | 0;
  uidLanes[1] = 0x85ebca6b | 0;
  uidLanes[2] = 0xc2b2ae35 | 0;
  uidLanes[3] = 0x27d4eb2f;
}

/** Hashes `|${firstSeen}|${suffix}` into the lanes and renders the uid. */
function finishUid(firstSeen: number, suffix: number): string {
  if (!hashSecondsText(firstSeen, suffix)) hashUidText(`|${firstSeen}|${suffix}`);
  return renderUid();
}

/**
 * The uid of the text `${key}|${firstSeen}|${uidSuffix}` itself, hashed as a
 * string: what {@linkcode flowUid} must equal (for tests).
 */
export function uidOfText(text: string): string {
  seedLanes();
  hashUidText(text);
  return renderUid();
}

/** Renders the uid of the hash in the lanes. */
function renderUid(): string {
  let h1 = uidLanes[0];
  let h2 = uidLanes[1];
  let h3 = uidLanes[2];
  let h4 = uidLanes[3];
  // Cross the lanes, then avalanche each (MurmurHash3's fmix32).
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  const codes = uidCodes;
  codes[0] = 70; // 'F'
  base64Word(fmix32(h1), codes, 1);
  base64Word(fmix32(h2), codes, 7);
  base64Word(fmix32(h3), codes, 13);
  base64Word(fmix32(h4), codes, 19);
  // Of the last word, only the first 4 characters are kept.
  return String.fromCharCode.apply(null, codes);
}

/** The four hash lanes of {@linkcode flowUid}. */
const uidLanes = new Int32Array(4);
/** Character codes of a uid: "F" + 22 base64url characters (the last word's 6th dropped). */
const uidCodes: number[] = new Array(23).fill(0);

/**
 * Feeds the characters of `|${seconds}|${suffix}` into the lanes without
 * making the string when `seconds` is a whole number of microseconds from 1
 * to 2^32 (every capture with microsecond timestamps); returns false,
 * hashing nothing, for any other number. Printing the fraction (JavaScript's
 * shortest round-trip form) was a sixth of what a flow's uid cost, besides
 * the strings left as garbage.
 *
 * The same characters as JavaScript prints: `n / 1e6` is the double nearest
 * n millionths (both exact, the division correctly rounded), so when it is
 * `seconds`, the decimal of n millionths reads back as `seconds`; below 2^32
 * doubles are at most 2^-21 apart, under a millionth, so no other decimal of
 * six places or fewer does, and JavaScript prints that one, trailing zeros
 * dropped (and the point with them).
 */
function hashSecondsText(seconds: number, suffix: number): boolean {
  if (!(seconds >= 1 && seconds < 4294967296) || suffix >>> 0 !== suffix) return false;
  const micros = Math.round(seconds * 1e6);
  if (micros / 1e6 !== seconds) return false;
  const chars = textCodes;
  let fraction = micros % 1e6;
  let length = 0;
  chars[length++] = 124; // '|'
  length = writeDigits((micros - fraction) / 1e6, chars, length);
  if (fraction !== 0) {
    let places = 6;
    while (fraction % 10 === 0) {
      fraction /= 10;
      places--;
    }
    chars[length++] = 46; // '.'
    for (let at = length + places - 1; at >= length; at--) {
      const next = Math.floor(fraction / 10);
      chars[at] = 48 + fraction - next * 10;
      fraction = next;
    }
    length += places;
  }
  chars[length++] = 124;
  length = writeDigits(suffix, chars, length);
  hashCodes(chars, length);
  return true;
}

/**
 * Writes the decimal digits of `value` (a whole number, 0 to 2^32) as
 * character codes at `chars[at..]`; returns the index after them.
 */
function writeDigits(value: number, chars: Int32Array, at: number): number {
  let end = at;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) end++;
  let rest = value;
  for (let i = end; i >= at; i--) {
    const next = Math.floor(rest / 10);
    chars[i] = 48 + rest - next * 10;
    rest = next;
  }
  return end + 1;
}

/** Character codes of `|${seconds}|${suffix}` (see {@linkcode hashSecondsText}). */
const textCodes = new Int32Array(32);

/**
 * Feeds the characters of the tuple key `${scope}|${proto}|${low}|${lowPort}|${high}|${highPort}`
 * into the lanes, the endpoints in `canonicalKey`'s order.
 */
function hashTupleKey(t: TupleKey): void {
  const aFirst = endpointAFirst(t.a, t.aPort, t.b, t.bPort);
  hashUidText(t.scope);
  hashNumberText(t.proto);
  hashNumberText(-1);
  hashUidText(aFirst ? t.a : t.b);
  hashNumberText(aFirst ? t.aPort : t.bPort);
  hashNumberText(-1);
  hashUidText(aFirst ? t.b : t.a);
  hashNumberText(aFirst ? t.bPort : t.aPort);
}

/**
 * Feeds `|` and the decimal digits of `value` (a whole number from 0 to
 * 2^32), or `|` alone for -1, into the lanes.
 */
function hashNumberText(value: number): void {
  const chars = textCodes;
  chars[0] = 124; // '|'
  hashCodes(chars, value < 0 ? 1 : writeDigits(value, chars, 1));
}

/** Feeds the character codes `chars[0..length)` into {@linkcode uidLanes}, as {@linkcode hashUidText} does a string's. */
function hashCodes(chars: Int32Array, length: number): void {
  let h1 = uidLanes[0];
  let h2 = uidLanes[1];
  let h3 = uidLanes[2];
  let h4 = uidLanes[3];
  for (let i = 0; i < length; i++) {
    const c = chars[i];
    h1 = Math.imul(((h1 ^ c) << 13) | ((h1 ^ c) >>> 19), 0x01000193);
    h2 = Math.imul(((h2 ^ c) << 17) | ((h2 ^ c) >>> 15), 0x5bd1e995);
    h3 = Math.imul(((h3 ^ c) << 11) | ((h3 ^ c) >>> 21), 0x1b873593);
    h4 = Math.imul(((h4 ^ c) << 7) | ((h4 ^ c) >>> 25), 0xcc9e2d51);
  }
  uidLanes[0] = h1;
  uidLanes[1] = h2;
  uidLanes[2] = h3;
  uidLanes[3] = h4;
}

/** Feeds the characters of `text` into {@linkcode uidLanes}. */
function hashUidText(text: string): void {
  let h1 = uidLanes[0];
  let h2 = uidLanes[1];
  let h3 = uidLanes[2];
  let h4 = uidLanes[3];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(((h1 ^ c) << 13) | ((h1 ^ c) >>> 19), 0x01000193);
    h2 = Math.imul(((h2 ^ c) << 17) | ((h2 ^ c) >>> 15), 0x5bd1e995);
    h3 = Math.imul(((h3 ^ c) << 11) | ((h3 ^ c) >>> 21), 0x1b873593);
    h4 = Math.imul(((h4 ^ c) << 7) | ((h4 ^ c) >>> 25), 0xcc9e2d51);
  }
  uidLanes[0] = h1;
  uidLanes[1] = h2;
  uidLanes[2] = h3;
  uidLanes[3] = h4;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const BASE64URL_CODES = Array.from(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
  (c) => c.charCodeAt(0),
);

/**
 * 30 bits of a word as 5 base64url characters, plus 2 more bits as a sixth,
 * written as character codes at `codes[at..]` (a sixth past the end of
 * `codes` is dropped).
 */
function base64Word(word: number, codes: number[], at: number): void {
  codes[at] = BASE64URL_CODES[(word >>> 26) & 63];
  codes[at + 1] = BASE64URL_CODES[(word >>> 20) & 63];
  codes[at + 2] = BASE64URL_CODES[(word >>> 14) & 63];
  codes[at + 3] = BASE64URL_CODES[(word >>> 8) & 63];
  if (at + 4 < codes.length) codes[at + 4] = BASE64URL_CODES[(word >>> 2) & 63];
  if (at + 5 < codes.length) codes[at + 5] = BASE64URL_CODES[word & 3];
}
