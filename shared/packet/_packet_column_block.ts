/**
 * The layout of a packet column block (the format is described in
 * packet_columns.ts), shared by its writer (packet_columns.ts) and its reader
 * (packet_columns_reader.ts): the columns and how each is stored, the
 * header's magic and layout id, and where each column's bitmap and values
 * lie for a given record count and string index width.
 *
 * @module
 */
import type { PacketRecord } from "./packet_record.ts";
import { PACKET_FIELDS } from "./packet_schema.ts";
import { columnStorageOf } from "./packet_column_layout.ts";
import { PacketColumnsError } from "./packet_columns_error.ts";

/** How a column's values are stored in a block; `data` is kept in the string table. */
export type Storage = "f64" | "u32" | "u16" | "u8" | "bool" | "string";

/** A column of the block, in PACKET_FIELDS order. */
export interface Column {
  /** The record field it holds. */
  name: keyof PacketRecord;
  /** How its values are stored. */
  storage: Storage;
  /** Whether it has a presence bitmap. */
  nullable: boolean;
}

/** The block's storage: the column layout's, with `data` kept in the string table. */
function storageOf(field: (typeof PACKET_FIELDS)[number]): Storage {
  const storage = columnStorageOf(field);
  return storage === "binary" ? "string" : storage;
}

/** The block's columns, one per field of PACKET_FIELDS, in that order. */
export const COLUMNS: readonly Column[] = PACKET_FIELDS.map((field) => ({
  name: field.name,
  storage: storageOf(field),
  nullable: field.nullable,
}));

/** The block's first four bytes. */
export const MAGIC = 0x43504154; // "TAPC" read as a little-endian u32
/** Bytes of the header, before the first column. */
export const HEADER_BYTES = 16;

/**
 * FNV-1a over the column list: any change to fields, widths or nullability
 * changes it. The last flag marks `data`, kept for ICMP/ICMPv6 packets only.
 */
export const LAYOUT_ID = (() => {
  const text = COLUMNS.map((c) => `${c.name}:${c.storage}:${c.nullable}:${c.name === "data"}`)
    .join(",");
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
})();

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes of one value of `storage`, a string index taking `stringWidth`. */
function widthOf(storage: Storage, stringWidth: number): number {
  switch (storage) {
    case "f64":
      return 8;
    case "u32":
      return 4;
    case "u16":
      return 2;
    case "u8":
    case "bool":
      return 1;
    case "string":
      return stringWidth;
  }
}

const align = (offset: number, width: number) => Math.ceil(offset / width) * width;

/** Byte offsets of each column's bitmap and values, and where the string table starts. */
export function planLayout(count: number, stringWidth: number) {
  const bitmapBytes = Math.ceil(count / 8);
  let offset = HEADER_BYTES;
  const bitmaps: number[] = [];
  const values: number[] = [];
  for (const column of COLUMNS) {
    if (column.nullable) {
      bitmaps.push(offset);
      offset += bitmapBytes;
    } else {
      bitmaps.push(-1);
    }
    const width = widthOf(column.storage, stringWidth);
    offset = align(offset, width);
    values.push(offset);
    offset += count * width;
  }
  return { bitmaps, values, stringsAt: align(offset, 4) };
}

/** A view of a column's values at `offset` in `buffer`, typed by their width. */
export function valueArray(
  buffer: ArrayBuffer,
  storage: Storage,
  stringWidth: number,
  offset: number,
  count: number,
): Float64Array | Uint32Array | Uint16Array | Uint8Array {
  switch (widthOf(storage, stringWidth)) {
    case 8:
      return new Float64Array(buffer, offset, count);
    case 4:
      return new Uint32Array(buffer, offset, count);
    case 2:
      return new Uint16Array(buffer, offset, count);
    default:
      return new Uint8Array(buffer, offset, count);
  }
}

/** Throws {@linkcode PacketColumnsError} on a big-endian host: block values are little-endian. */
export function assertLittleEndianHost(): void {
  if (!LITTLE_ENDIAN_HOST) {
    throw new PacketColumnsError("packet column blocks need a little-endian host");
  }
}
