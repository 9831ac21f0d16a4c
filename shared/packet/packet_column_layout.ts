/**
 * How each field of {@link PACKET_FIELDS} is held as a column: the one place
 * that turns the field table into storage types. The in-memory columns
 * ({@linkcode PacketColumns}), the Arrow schema on the wire, the column block
 * the aggregator reads and the binary COPY into `raw_packets` all derive
 * their layout from here, so a field added to the table reaches every one of
 * them.
 *
 * @module
 */
import type { PacketRecord } from "./packet_record.ts";
import { type FieldSpec, PACKET_FIELDS } from "./packet_schema.ts";

/** Fixed-width numeric storage, chosen from a field's range. */
export type NumericStorage = "f64" | "u32" | "u16" | "u8";

/**
 * Storage of one column: numbers in the narrowest unsigned typed array their
 * range fits (f64 otherwise), booleans as a bitmap, strings as indexes into a
 * per-batch dictionary, and the captured bytes (`data`) as one binary column
 * (offsets into one byte buffer).
 */
export type ColumnStorage = NumericStorage | "bool" | "string" | "binary";

/** One column: its field, where it sits, and how it is stored. */
export interface ColumnSpec {
  /** The field it holds. */
  field: FieldSpec;
  /** The field's name. */
  name: keyof PacketRecord;
  /** Position in {@link PACKET_FIELDS} (and in every column list derived from it). */
  index: number;
  /** How its values are held. */
  storage: ColumnStorage;
  /** May hold nulls. */
  nullable: boolean;
}

/** The storage a field's kind and range call for. */
export function columnStorageOf(field: FieldSpec): ColumnStorage {
  const kind = field.kind;
  switch (kind.type) {
    case "int":
      if (kind.min < 0 || kind.max > 0xffffffff) return "f64";
      return kind.max <= 0xff ? "u8" : kind.max <= 0xffff ? "u16" : "u32";
    case "ipVersion":
      return "u8";
    case "number":
      return "f64";
    case "bool":
      return "bool";
    case "base64":
      return "binary";
    case "text":
    case "enum":
    case "ip":
    case "mac":
      return "string";
  }
}

/** Every column, in {@link PACKET_FIELDS} order. */
export const PACKET_COLUMNS: readonly ColumnSpec[] = PACKET_FIELDS.map((field, index) => ({
  field,
  name: field.name,
  index,
  storage: columnStorageOf(field),
  nullable: field.nullable,
}));

/** Column position of each field by name. */
export const COLUMN_INDEX: ReadonlyMap<string, number> = new Map(
  PACKET_COLUMNS.map((column) => [column.name, column.index]),
);

/** The largest binary value a `base64` field of this length limit decodes to. */
export function maxBinaryBytes(field: FieldSpec): number {
  return field.kind.type === "base64" ? Math.floor(field.kind.maxLength / 4) * 3 : 0;
}
