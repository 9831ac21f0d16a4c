/**
 * Rows in PostgreSQL's binary COPY format (`COPY ... FROM STDIN (FORMAT
 * binary)`): per row a 16-bit field count, then per field a 32-bit length
 * (-1 for NULL) and the value in the type's binary send format, all
 * big-endian. The server stores such values without parsing text, which is
 * what makes COPY the fastest way in.
 *
 * @module
 */
import { parseIpInto } from "../packet/address_parse.ts";

/** The stream header: signature, flags (no OIDs) and an empty extension area. */
export const COPY_BINARY_HEADER: Uint8Array = new Uint8Array([
  0x50,
  0x47,
  0x43,
  0x4f,
  0x50,
  0x59,
  0x0a,
  0xff,
  0x0d,
  0x0a,
  0x00, // PGCOPY\n\377\r\n\0
  0,
  0,
  0,
  0, // flags
  0,
  0,
  0,
  0, // header extension length
]);

/** The stream trailer: a field count of -1. */
export const COPY_BINARY_TRAILER: Uint8Array = new Uint8Array([0xff, 0xff]);

const TWO_POW_32 = 4294967296;
/** Addresses remembered by {@link CopyBinaryRows.inet} before it starts over. */
const MAX_CACHED_ADDRESSES = 65_536;
/** inet's address family codes in its send format (PGSQL_AF_INET, PGSQL_AF_INET6). */
const PGSQL_AF_INET = 2;
const PGSQL_AF_INET6 = 3;

/**
 * Appends rows in the binary COPY format to a growing buffer; `take()` hands
 * over what was written so far. Values are checked as they are written: a
 * value PostgreSQL would reject throws here, before anything is sent.
 *
 * @example
 * ```ts
 * const rows = new CopyBinaryRows();
 * rows.row(2);
 * rows.text("a");
 * rows.int4(null);
 * await copy.write(rows.take());
 * ```
 */
export class CopyBinaryRows {
  #bytes: Uint8Array;
  #view: DataView;
  #at = 0;
  readonly #encoder = new TextEncoder();
  readonly #ip = new Uint8Array(16);
  /**
   * Recently written addresses and their bytes: a pass writes each host's
   * address over and over, and parsing IPv6 text is the slow part.
   */
  #ips = new Map<string, Uint8Array>();

  /** @param initialBytes first buffer size; it doubles as needed. */
  constructor(initialBytes = 1 << 16) {
    this.#bytes = new Uint8Array(Math.max(64, initialBytes));
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Bytes written since the last `take()`. */
  get byteLength(): number {
    return this.#at;
  }

  /**
   * Returns the bytes written so far and starts empty again. Without `next`
   * they are a copy; with it they are the buffer itself, handed over, and
   * writing goes on in `next` (at least 64 bytes), so a caller that recycles
   * the buffers once sent copies nothing.
   */
  take(next?: Uint8Array): Uint8Array {
    if (next === undefined) {
      const out = this.#bytes.slice(0, this.#at);
      this.#at = 0;
      return out;
    }
    if (next.length < 64 || next.buffer === this.#bytes.buffer) {
      throw new RangeError(
        `Cannot go on in a buffer of ${next.length} bytes: it must hold 64 and be another`,
      );
    }
    const out = this.#bytes.subarray(0, this.#at);
    this.#bytes = next;
    this.#view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.#at = 0;
    return out;
  }

  #reserve(bytes: number): void {
    const need = this.#at + bytes;
    if (need <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** Appends bytes as they are (the stream header and trailer). */
  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.#at);
    this.#at += bytes.length;
  }

  /** Starts a row of `fields` values. */
  row(fields: number): void {
    this.#reserve(2);
    this.#view.setInt16(this.#at, fields);
    this.#at += 2;
  }

  /** A NULL value. */
  null(): void {
    this.#reserve(4);
    this.#view.setInt32(this.#at, -1);
    this.#at += 4;
  }

  /** A `text` value as UTF-8; NUL is refused (PostgreSQL text cannot hold it). */
  text(value: string | null): void {
    if (value === null) return this.null();
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.#reserve(4 + value.length * 3);
    const start = this.#at + 4;
    let at = start;
    const bytes = this.#bytes;
    let ascii = true;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      if (c === 0) throw new RangeError(`Cannot COPY text with a NUL character: ${value}`);
      bytes[at++] = c;
    }
    if (!ascii) {
      if (value.includes("\0")) {
        throw new RangeError(`Cannot COPY text with a NUL character: ${value}`);
      }
      at = start + this.#encoder.encodeInto(value, bytes.subarray(start)).written;
    }
    this.#view.setInt32(this.#at, at - start);
    this.#at = at;
  }

  /** A `jsonb` value: format version 1, then the JSON text as UTF-8. */
  jsonb(json: string | null): void {
    if (json === null) return this.null();
    const bytes = this.#encoder.encode(json);
    this.#reserve(5 + bytes.length);
    this.#view.setInt32(this.#at, bytes.length + 1);
    this.#bytes[this.#at + 4] = 1;
    this.#bytes.set(bytes, this.#at + 5);
    this.#at += 5 + bytes.length;
  }

  /** An `int2` value. */
  int2(value: number | null): void {
    if (value === null) return this.null();
    if (!Number.isInteger(value) || value < -32768 || value > 32767) {
      throw new RangeError(`Cannot COPY ${value} as int2`);
    }
    this.#reserve(6);
    this.#view.setInt32(this.#at, 2);
    this.#view.setInt16(this.#at + 4, value);
    this.#at += 6;
  }

  /** An `int4` value. */
  int4(value: number | null): void {
    if (value === null) return this.null();
    if (!Number.isInteger(value) || value < -2147483648 || value > 2147483647) {
      throw new RangeError(`Cannot COPY ${value} as int4`);
    }
    this.#reserve(8);
    this.#view.setInt32(this.#at, 4);
    this.#view.setInt32(this.#at + 4, value);
    this.#at += 8;
  }

  /** An `int8` value (a safe integer). */
  int8(value: number | null): void {
    if (value === null) return this.null();
    if (!Number.isSafeInteger(value)) throw new RangeError(`Cannot COPY ${value} as int8`);
    this.#reserve(12);
    const high = Math.floor(value / TWO_POW_32);
    this.#view.setInt32(this.#at, 8);
    this.#view.setInt32(this.#at + 4, high);
    this.#view.setUint32(this.#at + 8, value - high * TWO_POW_32);
    this.#at += 12;
  }

  /** A `float4` value (rounded to float32, as PostgreSQL would). */
  float4(value: number | null): void {
    if (value === null) return this.null();
    this.#reserve(8);
    this.#view.setInt32(this.#at, 4);
    this.#view.setFloat32(this.#at + 4, value);
    this.#at += 8;
  }

  /** A `float8` value. */
  float8(value: number | null): void {
    if (value === null) return this.null();
    this.#reserve(12);
    this.#view.setInt32(this.#at, 8);
    this.#view.setFloat64(this.#at + 4, value);
    this.#at += 12;
  }

  /**
   * A `bytea` value of `length` bytes that `fill` writes into the buffer
   * (at the offset it is given), so large values need no copy of their own.
   */
  bytea(length: number, fill: (view: DataView, byteOffset: number) => void): void {
    this.#reserve(4 + length);
    this.#view.setInt32(this.#at, length);
    fill(this.#view, this.#at + 4);
    this.#at += 4 + length;
  }

  /** An `inet` host address from its text (dotted quad or IPv6). */
  inet(value: string | null): void {
    if (value === null) return this.null();
    let address = this.#ips.get(value);
    if (address === undefined) {
      const length = parseIpInto(value, this.#ip, 0);
      if (length === 0) throw new RangeError(`Cannot COPY '${value}' as inet: not an IP address`);
      address = this.#ip.slice(0, length);
      if (this.#ips.size >= MAX_CACHED_ADDRESSES) this.#ips = new Map();
      this.#ips.set(value, address);
    }
    const length = address.length;
    this.#reserve(8 + length);
    const view = this.#view;
    view.setInt32(this.#at, 4 + length);
    view.setUint8(this.#at + 4, length === 4 ? PGSQL_AF_INET : PGSQL_AF_INET6);
    view.setUint8(this.#at + 5, length * 8); // prefix bits: a host address
    view.setUint8(this.#at + 6, 0); // not cidr
    view.setUint8(this.#at + 7, length);
    this.#bytes.set(address, this.#at + 8);
    this.#at += 8 + length;
  }
}
