/**
 * The per-kind loops of `encodeRawPacketCopy` (raw_packet_copy.ts): what a
 * row's cell of each kind of column costs, and the writing of a pass of rows'
 * cells. Apart from the batch-level code (entries, buffers, passes) so that
 * each file holds one concern; the move changed neither the COPY bytes of nine
 * kit captures (same SHA-256) nor their encoding's CPU time beyond the noise
 * of 5 A/B pairs. Every constant a loop reads is this module's own: an
 * imported one would be loaded at each use, not folded in.
 *
 * @module
 */
import type { NumericArray } from "../packet/columnar_batch.ts";

/** Adds each row's cell of a dictionary column: its entry's bytes, or 4 for a NULL. */
export function addEntryBytes(
  rowBytes: Int32Array,
  indices: Int32Array,
  lengths: Int32Array,
  validity: Uint8Array | null,
  count: number,
): void {
  if (validity === null) {
    for (let i = 0; i < count; i++) rowBytes[i] += lengths[indices[i]];
    return;
  }
  for (let i = 0; i < count; i++) {
    rowBytes[i] += (validity[i >> 3] & (1 << (i & 7))) !== 0 ? lengths[indices[i]] : 4;
  }
}

/** Adds each row's cell of a binary column: 4 bytes of length and the value's. */
export function addBinaryBytes(
  rowBytes: Int32Array,
  offsets: Int32Array,
  validity: Uint8Array | null,
  count: number,
): void {
  for (let i = 0; i < count; i++) {
    const present = validity === null || (validity[i >> 3] & (1 << (i & 7))) !== 0;
    rowBytes[i] += 4 + (present ? offsets[i + 1] - offsets[i] : 0);
  }
}

/** Adds each row's cell of a fixed-size column with NULLs: `bytes`, or 4 for a NULL. */
export function addFixedBytes(
  rowBytes: Int32Array,
  bytes: number,
  validity: Uint8Array,
  count: number,
): void {
  for (let i = 0; i < count; i++) {
    rowBytes[i] += (validity[i >> 3] & (1 << (i & 7))) !== 0 ? bytes : 4;
  }
}

// One writer per kind: each loop sees one kind of cell (and few kinds of typed
// array), which the JIT turns into straight stores. Each writes rows from..to-1
// at `at[row]` and moves `at[row]` past the cell.

/** Writes rows `from`..`to`-1 of a smallint column. */
export function writeInt2(
  view: DataView,
  at: Int32Array,
  values: NumericArray,
  validity: Uint8Array | null,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const p = at[i];
    if (validity !== null && (validity[i >> 3] & (1 << (i & 7))) === 0) {
      view.setInt32(p, -1);
      at[i] = p + 4;
      continue;
    }
    view.setInt32(p, 2);
    view.setInt16(p + 4, values[i]);
    at[i] = p + 6;
  }
}

/** Writes rows `from`..`to`-1 of an integer column. */
export function writeInt4(
  view: DataView,
  at: Int32Array,
  values: NumericArray,
  validity: Uint8Array | null,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const p = at[i];
    if (validity !== null && (validity[i >> 3] & (1 << (i & 7))) === 0) {
      view.setInt32(p, -1);
      at[i] = p + 4;
      continue;
    }
    view.setInt32(p, 4);
    view.setInt32(p + 4, values[i]);
    at[i] = p + 8;
  }
}

/** Writes rows `from`..`to`-1 of a bigint column. */
export function writeInt8(
  view: DataView,
  at: Int32Array,
  values: NumericArray,
  validity: Uint8Array | null,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const p = at[i];
    if (validity !== null && (validity[i >> 3] & (1 << (i & 7))) === 0) {
      view.setInt32(p, -1);
      at[i] = p + 4;
      continue;
    }
    // Every integer field is below 2^32 (the layout stores them in u32 at most).
    const value = values[i];
    view.setInt32(p, 8);
    view.setUint32(p + 4, Math.floor(value / 4294967296));
    view.setUint32(p + 8, value >>> 0);
    at[i] = p + 12;
  }
}

/** Writes rows `from`..`to`-1 of a double precision column. */
export function writeFloat8(
  view: DataView,
  at: Int32Array,
  values: NumericArray,
  validity: Uint8Array | null,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const p = at[i];
    if (validity !== null && (validity[i >> 3] & (1 << (i & 7))) === 0) {
      view.setInt32(p, -1);
      at[i] = p + 4;
      continue;
    }
    view.setInt32(p, 8);
    view.setFloat64(p + 4, values[i]);
    at[i] = p + 12;
  }
}

/** Writes rows `from`..`to`-1 of a boolean column. */
export function writeBool(
  out: Uint8Array,
  view: DataView,
  at: Int32Array,
  bits: Uint8Array,
  validity: Uint8Array | null,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const p = at[i];
    if (validity !== null && (validity[i >> 3] & (1 << (i & 7))) === 0) {
      view.setInt32(p, -1);
      at[i] = p + 4;
      continue;
    }
    view.setInt32(p, 1);
    out[p + 4] = (bits[i >> 3] >> (i & 7)) & 1;
    at[i] = p + 5;
  }
}

/** Short values are copied byte by byte: cheaper than a call to `set` for a few bytes. */
const SHORT_COPY = 32;

/** Writes rows `from`..`to`-1 of a dictionary column from its entries' COPY value bytes. */
export function writeEntries(
  out: Uint8Array,
  view: DataView,
  at: Int32Array,
  indices: Int32Array,
  entries: Uint8Array[],
  validity: Uint8Array | null,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const p = at[i];
    if (validity !== null && (validity[i >> 3] & (1 << (i & 7))) === 0) {
      view.setInt32(p, -1);
      at[i] = p + 4;
      continue;
    }
    const bytes = entries[indices[i]];
    const length = bytes.length;
    if (length <= SHORT_COPY) {
      for (let b = 0; b < length; b++) out[p + b] = bytes[b];
    } else {
      out.set(bytes, p);
    }
    at[i] = p + length;
  }
}

/** Writes rows `from`..`to`-1 of a bytea column. */
export function writeBytea(
  out: Uint8Array,
  view: DataView,
  at: Int32Array,
  offsets: Int32Array,
  bytes: Uint8Array,
  validity: Uint8Array | null,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const p = at[i];
    if (validity !== null && (validity[i >> 3] & (1 << (i & 7))) === 0) {
      view.setInt32(p, -1);
      at[i] = p + 4;
      continue;
    }
    const start = offsets[i], end = offsets[i + 1];
    const length = end - start;
    view.setInt32(p, length);
    if (length <= SHORT_COPY) {
      for (let b = 0; b < length; b++) out[p + 4 + b] = bytes[start + b];
    } else {
      out.set(bytes.subarray(start, end), p + 4);
    }
    at[i] = p + 4 + length;
  }
}
