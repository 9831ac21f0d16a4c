/**
 * A minimal protocol-buffers encoder: just the wire types an ONNX model needs
 * (varint, length-delimited, fixed32), written in the order the caller calls
 * them, so the same calls always give the same bytes.
 *
 * @module
 */

/** Wire type of varint fields (int32, int64, enums). */
const WIRE_VARINT = 0;
/** Wire type of length-delimited fields (strings, bytes, messages, packed lists). */
const WIRE_LENGTH_DELIMITED = 2;
/** Wire type of 32-bit fixed fields (float). */
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

/** Appends protobuf fields to a growing buffer. */
export class ProtoWriter {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  #varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot encode a varint as it must be a non-negative safe integer: current value is ${value}`,
      );
    }
    this.#ensure(10);
    // Arithmetic rather than bit operators: these act on 32 bits only.
    while (value >= 0x80) {
      this.#buf[this.#len++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.#buf[this.#len++] = value;
  }

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  /** A varint field (int64, int32, enum); negative values are not supported. */
  uint(field: number, value: number): this {
    this.#tag(field, WIRE_VARINT);
    this.#varint(value);
    return this;
  }

  /** A float field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.#tag(field, WIRE_FIXED32);
    this.#ensure(4);
    this.#view.setFloat32(this.#len, value, true);
    this.#len += 4;
    return this;
  }

  /** A bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, WIRE_LENGTH_DELIMITED);
    this.#varint(value.length);
    this.#ensure(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
    return this;
  }

  /** A string field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** An embedded message field, built by `build` on a fresh writer. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated varint field (repeated int64). */
  packedUints(field: number, values: ArrayLike<number>): this {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.#varint(values[i]);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, data);
  }

  /** The encoded bytes so far (a copy). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
