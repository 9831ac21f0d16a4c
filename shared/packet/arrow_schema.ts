/**
 * The Arrow schema of a packet batch on the wire
 * (`application/vnd.apache.arrow.stream`), derived from the field table:
 * one Arrow field per entry of `PACKET_FIELDS`, in its order, with the type
 * of its column storage and the field's nullability.
 *
 * | storage  | Arrow type                        |
 * | -------- | --------------------------------- |
 * | `f64`    | `Float64`                         |
 * | `u32`    | `Uint32`                          |
 * | `u16`    | `Uint16`                          |
 * | `u8`     | `Uint8`                           |
 * | `bool`   | `Bool`                            |
 * | `string` | `Dictionary<Int32, Utf8>`         |
 * | `binary` | `Binary` (the captured bytes)     |
 *
 * @module
 */
import {
  Binary,
  Bool,
  type DataType,
  Dictionary,
  Field,
  Float64,
  Int32,
  Schema,
  Uint16,
  Uint32,
  Uint8,
  Utf8,
} from "apache-arrow";
import { type ColumnStorage, PACKET_COLUMNS } from "./packet_column_layout.ts";

/** The Arrow type the agent writes for a column storage. */
export function arrowTypeOf(storage: ColumnStorage, dictionaryId: number): DataType {
  switch (storage) {
    case "f64":
      return new Float64();
    case "u32":
      return new Uint32();
    case "u16":
      return new Uint16();
    case "u8":
      return new Uint8();
    case "bool":
      return new Bool();
    case "string":
      return new Dictionary(new Utf8(), new Int32(), dictionaryId);
    case "binary":
      return new Binary();
  }
}

/** The schema of a batch as the agent writes it: every field, in `PACKET_FIELDS` order. */
export const PACKET_ARROW_SCHEMA: Schema = new Schema(
  PACKET_COLUMNS.map((column) =>
    new Field(column.name, arrowTypeOf(column.storage, column.index), column.nullable)
  ),
);

/** The schema as text, one `name: type` line per field (README, OpenAPI, tests). */
export function describeArrowSchema(): string[] {
  return PACKET_ARROW_SCHEMA.fields.map((field) =>
    `${field.name}: ${field.type}${field.nullable ? " (nullable)" : ""}`
  );
}
