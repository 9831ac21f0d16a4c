/**
 * The byte-level CSV reading under `asn_ranges.ts`: rows, fields, numbers,
 * IPv6 addresses and organisation names read straight from the file's bytes.
 *
 * Decoding the 21 MB IPv4 table to a string, then slicing each line and
 * splitting it into strings, took 680 ms per start (1,000 ms for the IPv6
 * table, whose addresses went through `parseIp` and bigint): issue 15. Here a
 * row is a handful of offsets into the bytes, numbers and addresses are
 * parsed from those, and a name is kept once, as bytes, and becomes a
 * string when first looked up.
 * Anything off the plain form (a field that is not plain digits, an IPv6
 * address with an IPv4 tail or a zone, a malformed one) is decoded and
 * handed to the code the string parser used (`Number`, `parseIp`), so the
 * results and the errors are the same as before in every case.
 *
 * @module
 */

import { parseIp } from "../packet/address_parse.ts";

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;
const COLON = 58;

// No BOM handling here: a table given as bytes has had its BOM removed, as
// TextDecoder did when it decoded the whole table.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

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

/** The table's bytes: a string is encoded, a leading byte-order mark of bytes dropped. */
export function tableBytes(table: string | Uint8Array): Uint8Array {
  if (typeof table === "string") return new TextEncoder().encode(table);
  if (table.length >= 3 && table[0] === 0xef && table[1] === 0xbb && table[2] === 0xbf) {
    return table.subarray(3);
  }
  return table;
}

/**
 * Walks the non-empty lines of a table, each split into its four fields as
 * offsets: `first`, `last` and `asn` are [start, end) pairs, the organisation
 * is its content (inside the quotes, if quoted).
 */
export class RowReader {
  /** 1-based number of the current line, counting empty ones. */
  lineNumber = 0;
  firstStart = 0;
  firstEnd = 0;
  lastEnd = 0;
  asnEnd = 0;
  orgStart = 0;
  orgEnd = 0;
  /** Whether the quoted organisation holds `""` escapes. */
  orgEscaped = false;
  #lineEnd = 0;
  #position = 0;

  constructor(readonly bytes: Uint8Array) {}

  /** Moves to the next non-empty line; false at the end of the table. */
  next(): boolean {
    const bytes = this.bytes;
    const length = bytes.length;
    let position = this.#position;
    while (position < length) {
      const start = position;
      let c1 = -1;
      let c2 = -1;
      let c3 = -1;
      let end = start;
      while (end < length) {
        const byte = bytes[end];
        if (byte === LF) break;
        if (byte === COMMA && c3 < 0) {
          if (c1 < 0) c1 = end;
          else if (c2 < 0) c2 = end;
          else c3 = end;
        }
        end++;
      }
      this.lineNumber++;
      position = end + 1;
      if (end > start && bytes[end - 1] === CR) end--;
      if (end === start) continue;
      this.#position = position;
      this.firstStart = start;
      this.#lineEnd = end;
      if (c3 < 0) this.fail(`expected 4 fields: ${this.lineText()}`);
      this.firstEnd = c1;
      this.lastEnd = c2;
      this.asnEnd = c3;
      let orgStart = c3 + 1;
      let orgEnd = end;
      this.orgEscaped = false;
      if (orgStart < orgEnd && bytes[orgStart] === QUOTE) {
        if (orgEnd - orgStart < 2 || bytes[orgEnd - 1] !== QUOTE) {
          this.fail(`unterminated quoted field: ${this.lineText()}`);
        }
        orgStart++;
        orgEnd--;
        for (let i = orgStart; i + 1 < orgEnd; i++) {
          if (bytes[i] === QUOTE && bytes[i + 1] === QUOTE) {
            this.orgEscaped = true;
            break;
          }
        }
      }
      this.orgStart = orgStart;
      this.orgEnd = orgEnd;
      return true;
    }
    this.#position = position;
    return false;
  }

  /** Throws an {@linkcode AsnTableError} naming the current line. */
  fail(message: string): never {
    throw new AsnTableError(`line ${this.lineNumber}: ${message}`);
  }

  /** The line's first 80 characters, for an error message. */
  lineText(): string {
    return this.text(this.firstStart, this.#lineEnd).slice(0, 80);
  }

  /** The bytes [start, end) as text. */
  text(start: number, end: number): string {
    return utf8.decode(this.bytes.subarray(start, end));
  }

  /** The first field as a number, as `Number()` reads it. */
  first(): number {
    return this.#number(this.firstStart, this.firstEnd);
  }

  /** The second field as a number, as `Number()` reads it. */
  last(): number {
    return this.#number(this.firstEnd + 1, this.lastEnd);
  }

  /** The AS number field, checked. */
  asn(): number {
    const start = this.lastEnd + 1;
    const end = this.asnEnd;
    const asn = decimal(this.bytes, start, end);
    if (asn >= 0 && asn <= 0xffffffff) return asn;
    const text = this.text(start, end);
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff || text === "") {
      this.fail(`bad AS number '${text}'`);
    }
    return value;
  }

  #number(start: number, end: number): number {
    const value = decimal(this.bytes, start, end);
    return value >= 0 ? value : Number(this.text(start, end));
  }

  /**
   * Writes the IPv6 address of the first (`field` 0) or second field as four
   * 32-bit words at `out[offset]`; false when it is not an IPv6 address.
   */
  ipv6(field: 0 | 1, out: Uint32Array, offset: number): boolean {
    const start = field === 0 ? this.firstStart : this.firstEnd + 1;
    const end = field === 0 ? this.firstEnd : this.lastEnd;
    if (plainIpv6(this.bytes, start, end, out, offset)) return true;
    const bytes = parseIp(this.text(start, end));
    if (bytes?.length !== 16) return false;
    for (let i = 0; i < 4; i++) {
      out[offset + i] = ((bytes[i * 4] << 24) | (bytes[i * 4 + 1] << 16) |
        (bytes[i * 4 + 2] << 8) | bytes[i * 4 + 3]) >>> 0;
    }
    return true;
  }
}

/** The value of 1 to 15 plain decimal digits, or -1 for anything else. */
function decimal(bytes: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = bytes[i] - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const groups = new Uint16Array(8);

/**
 * Parses an IPv6 address of hex groups only (1 to 4 digits, at most one
 * `::`) into four words; false for any other form, which `parseIp` then
 * judges, so this never accepts what `parseIp` would not.
 */
function plainIpv6(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint32Array,
  offset: number,
): boolean {
  let count = 0;
  let gap = -1; // group index where `::` stands
  let i = start;
  if (end - start >= 2 && bytes[i] === COLON && bytes[i + 1] === COLON) {
    gap = 0;
    i += 2;
    if (i === end) {
      out.fill(0, offset, offset + 4);
      return true;
    }
  }
  while (true) {
    let value = 0;
    let digits = 0;
    while (i < end && digits < 5) {
      const byte = bytes[i];
      let digit: number;
      if (byte >= 48 && byte <= 57) digit = byte - 48;
      else if (byte >= 97 && byte <= 102) digit = byte - 87;
      else if (byte >= 65 && byte <= 70) digit = byte - 55;
      else break;
      value = (value << 4) | digit;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = value;
    if (i === end) break;
    if (bytes[i] !== COLON) return false;
    i++;
    if (i < end && bytes[i] === COLON) {
      if (gap >= 0) return false;
      gap = count;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const missing = 8 - count;
  for (let word = 0; word < 4; word++) {
    let value = 0;
    for (let half = 0; half < 2; half++) {
      const index = word * 2 + half;
      let group = 0;
      if (gap < 0 || index < gap) group = groups[index];
      else if (index >= gap + missing) group = groups[index - missing];
      value = (value << 16) | group;
    }
    out[offset + word] = value >>> 0;
  }
  return true;
}

/**
 * Interns organisation names by a hash of their bytes: each distinct name is
 * kept once, as bytes, and decoded to a string when first looked up, so a
 * start decodes none. An empty name (or a lone NUL, which the string parser
 * took for one) is null.
 */
export class NameTable {
  /** The decoded names, by index; undefined until first asked for. */
  readonly #names: (string | null | undefined)[] = [];
  #pool = new Uint8Array(1 << 16);
  #poolLength = 0;
  #starts = new Int32Array(1 << 12);
  #hashes = new Int32Array(1 << 12);
  #slots = new Int32Array(1 << 13).fill(-1);
  #nullIndex = -1;
  #scratch = new Uint8Array(256);

  /** The index of the name in `bytes[start, end)`. */
  intern(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    if (length === 0 || (length === 1 && bytes[start] === 0)) {
      if (this.#nullIndex < 0) {
        this.#nullIndex = this.#names.length;
        this.#add(bytes, start, end, 0);
        this.#names[this.#nullIndex] = null;
      }
      return this.#nullIndex;
    }
    let hash = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
    const mask = this.#slots.length - 1;
    const pool = this.#pool;
    for (let slot = hash & mask;; slot = (slot + 1) & mask) {
      const index = this.#slots[slot];
      if (index < 0) {
        const added = this.#names.length;
        this.#add(bytes, start, end, hash);
        this.#slots[slot] = added;
        if (this.#names.length * 2 > this.#slots.length) this.#rehash();
        return added;
      }
      if (this.#hashes[index] !== hash) continue;
      const from = this.#starts[index];
      if (this.#starts[index + 1] - from !== length) continue;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (pool[from + i] !== bytes[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return index;
    }
  }

  /** The index of a quoted name with `""` escapes in `bytes[start, end)`, unescaped first. */
  internEscaped(bytes: Uint8Array, start: number, end: number): number {
    if (this.#scratch.length < end - start) this.#scratch = new Uint8Array(end - start);
    const out = this.#scratch;
    let length = 0;
    for (let i = start; i < end; i++) {
      out[length++] = bytes[i];
      if (bytes[i] === QUOTE && i + 1 < end && bytes[i + 1] === QUOTE) i++;
    }
    return this.intern(out, 0, length);
  }

  /** The name of `index`, or null for the empty one. */
  name(index: number): string | null {
    let name = this.#names[index];
    if (name === undefined) {
      name = utf8.decode(this.#pool.subarray(this.#starts[index], this.#starts[index + 1]));
      this.#names[index] = name;
    }
    return name;
  }

  #add(bytes: Uint8Array, start: number, end: number, hash: number) {
    const index = this.#names.length;
    this.#names.push(undefined);
    if (index + 2 > this.#starts.length) {
      const starts = new Int32Array(this.#starts.length * 2);
      starts.set(this.#starts);
      this.#starts = starts;
      const hashes = new Int32Array(this.#hashes.length * 2);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    const length = end - start;
    if (this.#poolLength + length > this.#pool.length) {
      const pool = new Uint8Array(Math.max(this.#pool.length * 2, this.#poolLength + length));
      pool.set(this.#pool.subarray(0, this.#poolLength));
      this.#pool = pool;
    }
    const pool = this.#pool;
    const at = this.#poolLength;
    for (let i = 0; i < length; i++) pool[at + i] = bytes[start + i];
    this.#starts[index] = this.#poolLength;
    this.#poolLength += length;
    this.#starts[index + 1] = this.#poolLength;
    this.#hashes[index] = hash;
  }

  #rehash() {
    const slots = new Int32Array(this.#slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let index = 0; index < this.#names.length; index++) {
      if (index === this.#nullIndex) continue;
      let slot = this.#hashes[index] & mask;
      while (slots[slot] >= 0) slot = (slot + 1) & mask;
      slots[slot] = index;
    }
    this.#slots = slots;
  }
}

/** A Uint32Array that grows by doubling, for columns whose length is not known ahead. */
export function grown(
  array: Uint32Array<ArrayBuffer>,
  needed: number,
): Uint32Array<ArrayBuffer> {
  if (needed <= array.length) return array;
  const bigger = new Uint32Array(Math.max(needed, array.length * 2));
  bigger.set(array);
  return bigger;
}
