/**
 * Reads an Arrow IPC body into a {@linkcode ColumnarBatch}, checking it as
 * strictly as the JSON path checks records: the schema (every field known,
 * none twice, the required ones there, each of a type that holds its
 * values), then per column the lengths, validity bitmaps, offsets and
 * dictionary indexes against the buffers they point into, and every value
 * against its field's rule in `PACKET_FIELDS` (strings through the same
 * `checkValue` as JSON, once per dictionary entry a row uses). The first
 * problem is reported with its column and row; nothing is half-read.
 *
 * Accepted beyond the schema the agent writes, so other Arrow writers work
 * as they are: any integer type whose values fit the field, `Float32` for
 * the timestamp, plain `Utf8` as well as dictionaries with any index type up
 * to 32 bits, the `Null` type for an all-null nullable field, fields
 * declared nullable that hold no null, optional fields left out (they take
 * their defaults), fields in any order, and several record batches.
 *
 * @module
 */
import {
  type Data,
  type DataType,
  type Dictionary,
  type Field,
  type Float,
  type Int,
  type RecordBatch,
  RecordBatchReader,
  Type,
  type Vector,
} from "apache-arrow";
import type { RecordIssue } from "./packet_schema.ts";
import { checkValue, type FieldSpec } from "./packet_schema.ts";
import { type ColumnSpec, maxBinaryBytes, PACKET_COLUMNS } from "./packet_column_layout.ts";
import {
  type ColumnarBatch,
  type NumericArray,
  numericArray,
  type PacketColumn,
} from "./columnar_batch.ts";
import { ColumnarBatchBuilder } from "./columnar_batch_builder.ts";
import { checkArrowStreamBounds } from "./_arrow_stream_bounds.ts";
import { registerArrowCodecs, withArrowDecompressionBudget } from "./arrow_codecs.ts";

/** Options for {@link readArrowBatch}. */
export interface ReadArrowBatchOptions {
  /** Most records accepted; more gives a result with `tooManyRecords`. */
  maxRecords: number;
  /**
   * Most bytes the body's buffers may decompress to, when the writer used
   * Arrow's own buffer compression. @default 67108864
   */
  maxDecompressedBytes?: number;
}

/** Result of {@link readArrowBatch}. */
export type ArrowBatchResult =
  | { ok: true; batch: ColumnarBatch }
  | { ok: false; issue: RecordIssue; tooManyRecords?: number };

/** A problem found while reading; turned into the result's issue. */
class Problem extends Error {
  constructor(readonly issue: RecordIssue) {
    super(issue.message);
  }
}

const fail = (record: number | null, field: string | null, message: string): never => {
  throw new Problem({ record, field, message });
};

const COLUMN_BY_NAME = new Map(PACKET_COLUMNS.map((column) => [column.name as string, column]));
const decoder = new TextDecoder("utf-8", { fatal: true });

function describe(type: DataType): string {
  return String(type);
}

/** What a field's Arrow type must be, in words (for the 400 answer). */
function expectedType(spec: ColumnSpec): string {
  switch (spec.storage) {
    case "bool":
      return "Bool";
    case "string":
      return "Utf8 or Dictionary<Int8..Int32/Uint8..Uint32, Utf8>";
    case "binary":
      return "Binary";
    default:
      return spec.field.kind.type === "number"
        ? "Float64, Float32 or an integer type"
        : "an integer type";
  }
}

function typeFits(spec: ColumnSpec, type: DataType): boolean {
  if (type.typeId === Type.Null) return spec.nullable;
  switch (spec.storage) {
    case "bool":
      return type.typeId === Type.Bool;
    case "binary":
      return type.typeId === Type.Binary;
    case "string":
      if (type.typeId === Type.Utf8) return true;
      if (type.typeId !== Type.Dictionary) return false;
      return (type as Dictionary).dictionary.typeId === Type.Utf8 &&
        (type as Dictionary).indices.bitWidth <= 32;
    default:
      if (type.typeId === Type.Int) return true;
      return spec.field.kind.type === "number" && type.typeId === Type.Float &&
        (type as Float).precision >= 1;
  }
}

/** Checks that `buffer` holds at least `need` elements. */
function needLength(
  buffer: { length: number } | undefined | null,
  need: number,
  field: string,
  what: string,
): void {
  const have = buffer?.length ?? 0;
  if (have < need) {
    fail(null, field, `${what} holds ${have} entries, fewer than the ${need} its length needs`);
  }
}

function present(bitmap: Uint8Array | null, i: number): boolean {
  return bitmap === null || (bitmap[i >> 3] & (1 << (i & 7))) !== 0;
}

/** The validity bitmap of `data` after checking its size, or null when it has no nulls. */
function validityOf(data: Data, field: string): Uint8Array | null {
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  if (!bitmap || bitmap.length === 0) {
    if (data.nullCount > 0) fail(null, field, "validity bitmap is missing");
    return null;
  }
  needLength(bitmap, (data.length + 7) >> 3, field, "validity bitmap");
  return bitmap;
}

/** Reads the strings of a Utf8 vector (one or more chunks), null for null entries. */
function utf8Entries(vector: Vector, field: string): (string | null)[] {
  const out: (string | null)[] = [];
  for (const chunk of vector.data as Data[]) {
    if (chunk.type.typeId !== Type.Utf8) fail(null, field, "dictionary values must be Utf8");
    out.push(...utf8Values(chunk, field, "dictionary entry"));
  }
  return out;
}

function utf8Values(data: Data, field: string, what: string): (string | null)[] {
  const length = data.length;
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const validity = validityOf(data, field);
  needLength(offsets, length + 1, field, `offsets of ${what}s`);
  const out: (string | null)[] = new Array(length);
  for (let i = 0; i < length; i++) {
    if (!present(validity, i)) {
      out[i] = null;
      continue;
    }
    const start = offsets[i], end = offsets[i + 1];
    if (start < 0 || end < start || end > (bytes?.length ?? 0)) {
      fail(
        null,
        field,
        `${what} ${i} has offsets ${start}..${end} outside its ${bytes?.length ?? 0} bytes`,
      );
    }
    try {
      out[i] = decoder.decode(bytes.subarray(start, end));
    } catch {
      fail(null, field, `${what} ${i} is not valid UTF-8`);
    }
  }
  return out;
}

/**
 * One record batch's column for `spec`: checked, and in the canonical
 * storage (the arrays of `data` themselves when the type already is).
 */
function readColumn(
  spec: ColumnSpec,
  data: Data,
  firstRow: number,
): PacketColumn {
  const field = spec.name;
  const kind = spec.field.kind;
  const length = data.length;
  const row = (i: number) => firstRow + i;
  const nullRow = (validity: Uint8Array | null): void => {
    if (spec.nullable || validity === null) return;
    for (let i = 0; i < length; i++) {
      if (!present(validity, i)) fail(row(i), field, "must not be null");
    }
  };

  if (data.type.typeId === Type.Null) {
    // Every value null; only a nullable field gets here.
    const validity = new Uint8Array((length + 7) >> 3);
    return nullColumn(spec, length, validity);
  }

  switch (spec.storage) {
    case "bool": {
      const validity = validityOf(data, field);
      nullRow(validity);
      needLength(data.values as Uint8Array, (length + 7) >> 3, field, "value bitmap");
      return {
        storage: "bool",
        bits: data.values as Uint8Array,
        validity: spec.nullable ? validity : null,
      };
    }
    case "binary": {
      const validity = validityOf(data, field);
      nullRow(validity);
      const offsets = data.valueOffsets as Int32Array;
      const bytes = (data.values as Uint8Array | undefined) ?? new Uint8Array(0);
      needLength(offsets, length + 1, field, "offsets");
      const maxBytes = maxBinaryBytes(spec.field);
      for (let i = 0; i < length; i++) {
        const start = offsets[i], end = offsets[i + 1];
        if (start < 0 || end < start || end > bytes.length) {
          fail(
            row(i),
            field,
            `offsets ${start}..${end} lie outside the column's ${bytes.length} bytes`,
          );
        }
        if (present(validity, i) && end - start > maxBytes) {
          fail(row(i), field, `expected at most ${maxBytes} bytes`);
        }
      }
      return { storage: "binary", offsets, bytes, validity: spec.nullable ? validity : null };
    }
    case "string":
      return readStringColumn(spec, data, firstRow);
    default:
      return readNumericColumn(spec, data, firstRow, kind);
  }
}

function nullColumn(spec: ColumnSpec, length: number, validity: Uint8Array): PacketColumn {
  switch (spec.storage) {
    case "bool":
      return { storage: "bool", bits: new Uint8Array((length + 7) >> 3), validity };
    case "string":
      return { storage: "string", indices: new Int32Array(length), dictionary: [], validity };
    case "binary":
      return {
        storage: "binary",
        offsets: new Int32Array(length + 1),
        bytes: new Uint8Array(0),
        validity,
      };
    default:
      return { storage: spec.storage, values: numericArray(spec.storage, length), validity };
  }
}

const SAME_ARRAY: Record<string, (values: unknown) => boolean> = {
  f64: (v) => v instanceof Float64Array,
  u32: (v) => v instanceof Uint32Array,
  u16: (v) => v instanceof Uint16Array,
  u8: (v) => v instanceof Uint8Array,
};

function readNumericColumn(
  spec: ColumnSpec,
  data: Data,
  firstRow: number,
  kind: FieldSpec["kind"],
): PacketColumn {
  const field = spec.name;
  const length = data.length;
  const validity = validityOf(data, field);
  const source = data.values as ArrayLike<number | bigint>;
  needLength(source, length, field, "values");
  const isInt = data.type.typeId === Type.Int;
  const wide = isInt && (data.type as Int).bitWidth === 64;
  const [min, max] = kind.type === "int" || kind.type === "number" ? [kind.min, kind.max] : [4, 6];
  const same = SAME_ARRAY[spec.storage](source);
  const values = same ? source as NumericArray : numericArray(spec.storage, length);
  for (let i = 0; i < length; i++) {
    if (!present(validity, i)) {
      if (!spec.nullable) fail(firstRow + i, field, "must not be null");
      if (!same) values[i] = 0;
      continue;
    }
    const v = wide ? Number(source[i] as bigint) : source[i] as number;
    if (kind.type === "ipVersion") {
      if (v !== 4 && v !== 6) fail(firstRow + i, field, "expected 4 or 6");
    } else if (!(v >= min && v <= max)) {
      // Also catches NaN and infinities.
      fail(
        firstRow + i,
        field,
        `expected ${kind.type === "int" ? "an integer" : "a number"} from ${min} to ${max}`,
      );
    }
    if (!same) values[i] = v;
  }
  return {
    storage: spec.storage as NumericStorageName,
    values,
    validity: spec.nullable ? validity : null,
  };
}

type NumericStorageName = "f64" | "u32" | "u16" | "u8";

function readStringColumn(spec: ColumnSpec, data: Data, firstRow: number): PacketColumn {
  const field = spec.name;
  const kind = spec.field.kind;
  const length = data.length;
  let validity = validityOf(data, field);
  let entries: (string | null)[];
  let indices: Int32Array;
  if (data.type.typeId === Type.Utf8) {
    // A plain string column: made into a dictionary here.
    const values = utf8Values(data, field, "value");
    const seen = new Map<string, number>();
    entries = [];
    indices = new Int32Array(length);
    for (let i = 0; i < length; i++) {
      const value = values[i];
      if (value === null) continue;
      let index = seen.get(value);
      if (index === undefined) {
        index = entries.length;
        seen.set(value, index);
        entries.push(value);
      }
      indices[i] = index;
    }
  } else {
    if (!data.dictionary) fail(null, field, "dictionary is missing");
    entries = utf8Entries(data.dictionary!, field);
    const source = data.values as ArrayLike<number>;
    needLength(source, length, field, "dictionary indexes");
    indices = source instanceof Int32Array
      ? source
      : Int32Array.from({ length }, (_, i) => source[i]);
  }
  // Each entry is checked once, the first time a row uses it, so the error names that row.
  const status = new Uint8Array(entries.length); // 0 unchecked, 1 valid, 2 null entry
  let nulledByEntry = false;
  for (let i = 0; i < length; i++) {
    if (!present(validity, i)) {
      if (!spec.nullable) fail(firstRow + i, field, "must not be null");
      continue;
    }
    const index = indices[i];
    if (!(index >= 0 && index < entries.length)) {
      fail(
        firstRow + i,
        field,
        `dictionary index ${index} is outside the ${entries.length} entries`,
      );
    }
    if (status[index] === 0) {
      const value = entries[index];
      if (value === null) status[index] = 2;
      else {
        const problem = checkValue(kind, value);
        if (problem) fail(firstRow + i, field, problem);
        status[index] = 1;
      }
    }
    if (status[index] === 2) {
      if (!spec.nullable) fail(firstRow + i, field, "must not be null");
      nulledByEntry = true;
    }
  }
  if (nulledByEntry) {
    // Rows pointing at a null entry are null: fold that into a bitmap of our own.
    const own = new Uint8Array((length + 7) >> 3);
    for (let i = 0; i < length; i++) {
      if (present(validity, i) && status[indices[i]] !== 2) own[i >> 3] |= 1 << (i & 7);
    }
    validity = own;
  }
  return {
    storage: "string",
    indices,
    dictionary: entries as string[],
    validity: spec.nullable ? validity : null,
  };
}

/** A column for an optional field the batch left out: its default in every row. */
function defaultColumn(spec: ColumnSpec, length: number, columns: PacketColumn[]): PacketColumn {
  const fallback = spec.field.default;
  if (fallback === "length") {
    const lengthColumn = columns[PACKET_COLUMNS.findIndex((c) => c.name === "length")];
    const values = numericArray(spec.storage, length);
    values.set((lengthColumn as { values: NumericArray }).values.subarray(0, length));
    return { storage: spec.storage as NumericStorageName, values, validity: null };
  }
  if (fallback === null || fallback === undefined) {
    return nullColumn(spec, length, new Uint8Array((length + 7) >> 3));
  }
  switch (spec.storage) {
    case "bool": {
      const bits = new Uint8Array((length + 7) >> 3);
      if (fallback === true) bits.fill(0xff);
      return { storage: "bool", bits, validity: null };
    }
    case "string":
    case "binary":
      throw new Error(`${spec.name}: no default for a ${spec.storage} column`);
    default: {
      const values = numericArray(spec.storage, length);
      values.fill(fallback as number);
      return { storage: spec.storage, values, validity: null };
    }
  }
}

/** Checks the schema; returns each field's position among the batch's columns (-1: absent). */
function checkSchema(fields: readonly Field[]): number[] {
  const positions = PACKET_COLUMNS.map(() => -1);
  fields.forEach((arrowField, position) => {
    const spec = COLUMN_BY_NAME.get(arrowField.name);
    if (!spec) fail(null, arrowField.name, `unknown field ${arrowField.name}`);
    if (positions[spec!.index] >= 0) fail(null, arrowField.name, "field appears twice");
    if (!typeFits(spec!, arrowField.type)) {
      fail(
        null,
        arrowField.name,
        `expected ${expectedType(spec!)}, not ${describe(arrowField.type)}`,
      );
    }
    positions[spec!.index] = position;
  });
  for (const spec of PACKET_COLUMNS) {
    if (spec.field.required && positions[spec.index] < 0) fail(null, spec.name, "missing field");
  }
  return positions;
}

function readRecordBatch(
  batch: RecordBatch,
  positions: number[],
  firstRow: number,
): ColumnarBatch {
  const count = batch.numRows;
  const columns: PacketColumn[] = new Array(PACKET_COLUMNS.length);
  const children = batch.data.children;
  // Defaults last: `caplen` copies `length`.
  for (const spec of PACKET_COLUMNS) {
    const position = positions[spec.index];
    if (position < 0) continue;
    const data = children[position];
    if (!data || data.length !== count) {
      fail(null, spec.name, `column has ${data?.length ?? 0} values in a batch of ${count} rows`);
    }
    if (data.offset !== 0) fail(null, spec.name, "column data must start at offset 0");
    columns[spec.index] = readColumn(spec, data, firstRow);
  }
  for (const spec of PACKET_COLUMNS) {
    if (positions[spec.index] < 0) columns[spec.index] = defaultColumn(spec, count, columns);
  }
  return { count, columns };
}

/**
 * Reads and checks an Arrow IPC stream (or file) of packets. Returns the
 * batch, or the first problem with its column (`field`) and row (`record`,
 * counted across record batches; null for a problem of the whole column or
 * stream).
 *
 * @example
 * ```ts
 * const result = readArrowBatch(body, { maxRecords: 20_000 });
 * if (!result.ok) return c.json({ error: result.issue.message }, 400);
 * ```
 */
export function readArrowBatch(
  bytes: Uint8Array,
  options: ReadArrowBatchOptions,
): ArrowBatchResult {
  registerArrowCodecs();
  const bounds = checkArrowStreamBounds(bytes, options.maxRecords);
  if (!bounds.ok) {
    if (bounds.rows !== undefined) {
      return {
        ok: false,
        tooManyRecords: bounds.rows,
        issue: { record: null, field: null, message: bounds.message },
      };
    }
    return {
      ok: false,
      issue: {
        record: null,
        field: null,
        message: `not a readable Arrow IPC stream: ${bounds.message}`,
      },
    };
  }
  let batches: RecordBatch[];
  let fields: readonly Field[];
  try {
    const reader = RecordBatchReader.from(bytes).open();
    if (!reader.schema) throw new Error("no schema message");
    fields = reader.schema.fields;
    batches = withArrowDecompressionBudget(
      options.maxDecompressedBytes ?? 64 * 1024 * 1024,
      () => reader.readAll(),
    );
  } catch (error) {
    return {
      ok: false,
      issue: {
        record: null,
        field: null,
        message: `not a readable Arrow IPC stream: ${(error as Error)?.message ?? error}`,
      },
    };
  }
  let total = 0;
  for (const batch of batches) total += batch.numRows;
  if (total > options.maxRecords) {
    return {
      ok: false,
      tooManyRecords: total,
      issue: { record: null, field: null, message: `batch has ${total} records` },
    };
  }
  try {
    if (total === 0) fail(null, null, "expected at least one record");
    const positions = checkSchema(fields);
    const parts: ColumnarBatch[] = [];
    let firstRow = 0;
    for (const batch of batches) {
      if (batch.schema.fields.length !== fields.length) {
        fail(null, null, "a record batch does not match the stream's schema");
      }
      if (batch.numRows === 0) continue;
      parts.push(readRecordBatch(batch, positions, firstRow));
      firstRow += batch.numRows;
    }
    if (parts.length === 1) return { ok: true, batch: parts[0] };
    const builder = new ColumnarBatchBuilder(total);
    for (const part of parts) {
      for (let i = 0; i < part.count; i++) builder.appendRow(part, i);
    }
    return { ok: true, batch: builder.build() };
  } catch (error) {
    if (error instanceof Problem) return { ok: false, issue: error.issue };
    // Anything else is a structure the checks above did not foresee: still the sender's fault.
    return {
      ok: false,
      issue: {
        record: null,
        field: null,
        message: `malformed Arrow batch: ${(error as Error)?.message ?? error}`,
      },
    };
  }
}
