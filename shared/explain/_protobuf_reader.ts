/**
 * A minimal protocol-buffers decoder: walks the fields of one message and
 * hands out varints, fixed-width numbers and length-delimited slices. It
 * knows no schema; the caller picks the fields it wants by number. Enough to
 * read an ONNX tree ensemble without a protobuf dependency (the trainer's
 * writer, models/ml/_protobuf_writer.ts, is the other half).
 *
 * @module
 */

/** Wire type of varint fields. */
export const WIRE_VARINT = 0;
/** Wire type of 64-bit fixed fields. */
export const WIRE_FIXED64 = 1;
/** Wire type of length-delimited fields (strings, bytes, messages, packed lists). */
export const WIRE_LENGTH_DELIMITED = 2;
/** Wire type of 32-bit fixed fields. */
export const WIRE_FIXED32 = 5;

/** One field of a message: its number, wire type and where its value sits. */
export interface ProtoField {
  /** Field number. */
  field: number;
  /** Wire type. */
  wire: number;
  /** The varint value (wire type 0). */
  varint: number;
  /** The bytes of a length-delimited or fixed-width value (a view into the message). */
  bytes: Uint8Array;
}

/** Bytes that are not a valid protobuf message. */
export class ProtobufDecodeError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ProtobufDecodeError";
  }
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ProtobufDecodeError("truncated varint");
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
  throw new ProtobufDecodeError("varint longer than 10 bytes");
}

/** Yields the fields of the message in `buf`, in order. */
export function* protoFields(buf: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    pos = afterKey;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let varint = 0;
    let bytes = buf.subarray(pos, pos);
    if (wire === WIRE_VARINT) {
      [varint, pos] = readVarint(buf, pos);
    } else if (wire === WIRE_LENGTH_DELIMITED) {
      const [len, start] = readVarint(buf, pos);
      if (start + len > buf.length) throw new ProtobufDecodeError(`field ${field} overruns`);
      bytes = buf.subarray(start, start + len);
      pos = start + len;
    } else if (wire === WIRE_FIXED32 || wire === WIRE_FIXED64) {
      const len = wire === WIRE_FIXED32 ? 4 : 8;
      if (pos + len > buf.length) throw new ProtobufDecodeError(`field ${field} overruns`);
      bytes = buf.subarray(pos, pos + len);
      pos += len;
    } else {
      throw new ProtobufDecodeError(`field ${field} has unsupported wire type ${wire}`);
    }
    yield { field, wire, varint, bytes };
  }
}

/** The varints of a repeated integer field, packed or not, appended to `out`. */
export function appendVarints(f: ProtoField, out: number[]): void {
  if (f.wire === WIRE_VARINT) {
    out.push(f.varint);
    return;
  }
  if (f.wire !== WIRE_LENGTH_DELIMITED) {
    throw new ProtobufDecodeError(`field ${f.field} is not an integer list`);
  }
  let pos = 0;
  while (pos < f.bytes.length) {
    const [v, next] = readVarint(f.bytes, pos);
    out.push(v);
    pos = next;
  }
}

/** The float32 values of a repeated float field, packed or not, appended to `out`. */
export function appendFloats(f: ProtoField, out: number[]): void {
  const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  if (f.wire === WIRE_FIXED32) {
    out.push(view.getFloat32(0, true));
    return;
  }
  if (f.wire !== WIRE_LENGTH_DELIMITED || f.bytes.length % 4 !== 0) {
    throw new ProtobufDecodeError(`field ${f.field} is not a float list`);
  }
  for (let pos = 0; pos < f.bytes.length; pos += 4) out.push(view.getFloat32(pos, true));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A length-delimited field as UTF-8 text. */
export function protoString(f: ProtoField): string {
  if (f.wire !== WIRE_LENGTH_DELIMITED) {
    throw new ProtobufDecodeError(`field ${f.field} is not a string`);
  }
  return utf8.decode(f.bytes);
}
