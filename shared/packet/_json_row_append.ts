/**
 * The JSON ingest appends of {@linkcode ColumnarBatchBuilder}: a parsed
 * record checked and appended in one pass (`appendJsonRecord`, for
 * `readJsonBatch`), and a record as `scanJsonBatch` read it from the body's
 * bytes (`appendScannedRow`). Both check every value as `checkValue` would
 * and write into the builder's {@linkcode ColumnStore}.
 *
 * The tables they read per column are this module's own constants, and the
 * ways of writing a column are `const enum`s: Deno's compiler inlines a
 * `const enum` only in its own file, and V8 folds a module's own constants
 * into the code that reads them but loads an imported one at every use.
 *
 * @module
 */
import { COLUMN_INDEX, PACKET_COLUMNS } from "./packet_column_layout.ts";
import {
  COLUMN_COUNT,
  IS_STAGED,
  NUMERIC_COUNT,
  NUMERIC_SLOT,
  STAGED_COUNT,
  STRING_COUNT,
  STRING_SLOT,
} from "./_row_staging.ts";
import { checkValue, type RecordIssue } from "./packet_schema.ts";
import type { ScannedJsonRow } from "./columnar_batch_inputs.ts";
import type { ColumnStore } from "./_column_store.ts";

const DATA = COLUMN_INDEX.get("data")!;
/** Whether each column is an app-layer one (written straight into its column, not staged). */
const IS_APP_COLUMN = IS_STAGED.map((staged) => !staged);

/** How {@link appendScannedRow} writes a column. */
const enum ScannedWrite {
  Number,
  AppNumber,
  Bool,
  Binary,
  String,
  AppString,
}
const SCANNED_WRITE: readonly ScannedWrite[] = PACKET_COLUMNS.map(({ storage }, c) =>
  storage === "bool"
    ? ScannedWrite.Bool
    : storage === "binary"
    ? ScannedWrite.Binary
    : storage === "string"
    ? IS_APP_COLUMN[c] ? ScannedWrite.AppString : ScannedWrite.String
    : IS_APP_COLUMN[c]
    ? ScannedWrite.AppNumber
    : ScannedWrite.Number
);
if (SCANNED_WRITE.some((write, c) => write === ScannedWrite.Bool && IS_APP_COLUMN[c])) {
  throw new Error("_json_row_append: appendScannedRow stages every boolean column");
}
/** The staged columns of each kind, in column order, for appendScannedRow's loops. */
const scannedColumns = (write: ScannedWrite) =>
  Int32Array.from(
    SCANNED_WRITE.flatMap((kind, c) => c < STAGED_COUNT && kind === write ? [c] : []),
  );
const SCANNED_NUMBERS = scannedColumns(ScannedWrite.Number);
const SCANNED_BOOLS = scannedColumns(ScannedWrite.Bool);
const SCANNED_STRINGS = scannedColumns(ScannedWrite.String);
if (
  SCANNED_NUMBERS.some((c, k) => NUMERIC_SLOT[c] !== k) ||
  NUMERIC_COUNT !== SCANNED_NUMBERS.length ||
  SCANNED_WRITE.some((write, c) =>
    c >= STAGED_COUNT
      ? write !== ScannedWrite.AppNumber && write !== ScannedWrite.AppString
      : write === ScannedWrite.Binary
      ? c !== DATA
      : write === ScannedWrite.AppNumber || write === ScannedWrite.AppString
  )
) {
  throw new Error("_json_row_append: appendScannedRow's column lists do not fit the layout");
}

/** How {@link appendJsonRecord} checks a column's values before `checkValue`. */
const enum QuickCheck {
  /** A number from the kind's `min` to `max` (an integer where `QUICK_INTEGER`). */
  Number,
  /** A string: one already in the column's dictionary was checked when it was added. */
  String,
  /** `checkValue` every time (booleans, base64, the IP version). */
  None,
}
const QUICK_CHECK: readonly QuickCheck[] = PACKET_COLUMNS.map(({ field, storage }) =>
  field.kind.type === "int" || field.kind.type === "number"
    ? QuickCheck.Number
    : storage === "string"
    ? QuickCheck.String
    : QuickCheck.None
);
const QUICK_MIN = Float64Array.from(
  PACKET_COLUMNS,
  ({ field: { kind } }) => kind.type === "int" || kind.type === "number" ? kind.min : 0,
);
const QUICK_INTEGER: readonly boolean[] = PACKET_COLUMNS.map(({ field }) =>
  field.kind.type === "int"
);
const QUICK_MAX = Float64Array.from(
  PACKET_COLUMNS,
  ({ field: { kind } }) => kind.type === "int" || kind.type === "number" ? kind.max : 0,
);

/**
 * Writes text `v` (present) into column `c` of `row`, staged or app-layer,
 * checking it with `checkValue` only when it is new to the batch's
 * dictionary (which holds only checked values): what is wrong with it, or null.
 */
function checkedText(store: ColumnStore, c: number, row: number, v: string): string | null {
  let index: number | undefined;
  if (v === store.lastString[c]) index = store.lastIndex[c];
  else {
    index = store.dictionaries[c]!.get(v);
    if (index === undefined) {
      const problem = checkValue(PACKET_COLUMNS[c].field.kind, v);
      if (problem !== null) return problem;
      index = store.index(c, v);
    }
    store.lastString[c] = v;
    store.lastIndex[c] = index;
  }
  if (IS_APP_COLUMN[c]) {
    store.indices[c]![row] = index;
    store.validity[c]![row >> 3] |= 1 << (row & 7);
    store.appPresent[c]++;
  } else {
    store.stagedIndices[row * STRING_COUNT + STRING_SLOT[c]] = index;
    store.nulls[row * STAGED_COUNT + c] = 0;
  }
  return null;
}

/**
 * Checks and appends one parsed JSON record that has every field of
 * `PACKET_FIELDS` as its own keys, in that order (what `JSON.stringify` of
 * a `PacketRecord` makes, so what agents send; the caller checks the
 * keys first, see `hasEveryFieldInOrder`). One pass instead of
 * `validatePacketBatch` and then `appendRecord`: the values are read
 * by `for…in` over the record's own keys, which V8 turns into loads by
 * field position, where reading them by each field's name (twice) was most
 * of the JSON path's validation and append. Returns the first wrong value,
 * in field order, as `validatePacketBatch` names it (the same message), or
 * null. After a wrong value the batch holds a partial row: discard it.
 */
export function appendJsonRecord(
  store: ColumnStore,
  raw: Record<string, unknown>,
  record: number,
): RecordIssue | null {
  const row = store.row();
  let c = 0;
  for (const key in raw) {
    const v = raw[key];
    const spec = PACKET_COLUMNS[c];
    const app = IS_APP_COLUMN[c];
    if (v === null) {
      if (!spec.nullable) return { record, field: key, message: "must not be null" };
      if (!app) {
        switch (spec.storage) {
          case "bool":
            store.bool(c, row, false);
            store.present(c, row, false);
            break;
          case "string":
            store.str(c, row, null);
            break;
          case "binary":
            store.endBinary(row, false);
            break;
          default:
            store.set(c, row, 0);
            store.present(c, row, false);
        }
      }
      c++;
      continue;
    }
    switch (QUICK_CHECK[c]) {
      case QuickCheck.Number:
        // Only finite numbers pass (the bounds are), as checkValue wants.
        if (
          typeof v !== "number" || !(v >= QUICK_MIN[c] && v <= QUICK_MAX[c]) ||
          (QUICK_INTEGER[c] && !Number.isInteger(v))
        ) {
          const problem = checkValue(spec.field.kind, v);
          if (problem !== null) return { record, field: key, message: problem };
        }
        if (app) store.appNum(c, row, v as number);
        else {
          store.set(c, row, v as number);
          store.present(c, row, true);
        }
        break;
      case QuickCheck.String: {
        if (typeof v !== "string") {
          return { record, field: key, message: checkValue(spec.field.kind, v)! };
        }
        const problem = checkedText(store, c, row, v);
        if (problem !== null) return { record, field: key, message: problem };
        break;
      }
      default: {
        const problem = checkValue(spec.field.kind, v);
        if (problem !== null) return { record, field: key, message: problem };
        switch (spec.storage) {
          case "bool":
            store.bool(c, row, v === true);
            store.present(c, row, true);
            break;
          case "binary":
            store.binary(row, Uint8Array.fromBase64(v as string));
            break;
          default:
            if (app) store.appNum(c, row, v as number);
            else {
              store.set(c, row, v as number);
              store.present(c, row, true);
            }
        }
      }
    }
    c++;
  }
  return null;
}

/**
 * Appends one record read from JSON by `scanJsonBatch`, whose numbers,
 * booleans, nulls and captured bytes it has checked as `checkValue` would
 * (each against its field's kind). Checks each text value the batch has not
 * seen in that column, as {@link appendJsonRecord} does, and returns the
 * first wrong one, or null. After a wrong value the batch holds a partial
 * row: discard it.
 */
export function appendScannedRow(
  store: ColumnStore,
  scanned: ScannedJsonRow,
  record: number,
): RecordIssue | null {
  const row = store.row();
  const { numbers, nulls, strings } = scanned;
  // Column kind by column kind, each in a loop of its own (a switch on
  // every column's kind cost as much as the stores): every staged column's
  // null flag as scanned, the numbers into their staged slots, the booleans,
  // the captured bytes, then the texts (checked when new to the batch).
  const stagedNulls = store.nulls;
  const nullAt = row * STAGED_COUNT;
  for (let c = 0; c < STAGED_COUNT; c++) stagedNulls[nullAt + c] = nulls[c];
  const staged = store.staged;
  const numberAt = row * NUMERIC_COUNT;
  for (let k = 0; k < SCANNED_NUMBERS.length; k++) {
    staged[numberAt + k] = numbers[SCANNED_NUMBERS[k]];
  }
  for (let k = 0; k < SCANNED_BOOLS.length; k++) {
    const c = SCANNED_BOOLS[k];
    store.bool(c, row, numbers[c] === 1);
  }
  if (nulls[DATA] === 1) store.endBinary(row, false);
  else {
    const length = scanned.byteLength;
    store.reserveBytes(length);
    // A loop, not set(subarray()): no view object a packet for a few dozen bytes.
    const from = scanned.bytes, to = store.bytes;
    let at = store.byteLength;
    for (let i = 0; i < length; i++) to[at++] = from[i];
    store.byteLength = at;
    store.endBinary(row, true);
  }
  for (let k = 0; k < SCANNED_STRINGS.length; k++) {
    const c = SCANNED_STRINGS[k];
    const v = strings[c];
    if (nulls[c] === 1 || v === null) store.str(c, row, null);
    else {
      const problem = checkedText(store, c, row, v);
      if (problem !== null) return { record, field: PACKET_COLUMNS[c].name, message: problem };
    }
  }
  // A null app-layer value writes nothing (the row's zeros stand), so a
  // record without any (most packets) ends with the staged columns.
  if (!scanned.appPresent) return null;
  for (let c = STAGED_COUNT; c < COLUMN_COUNT; c++) {
    if (nulls[c] === 1) continue;
    if (SCANNED_WRITE[c] === ScannedWrite.AppNumber) store.appNum(c, row, numbers[c]);
    else {
      const v = strings[c];
      if (v === null) continue;
      const problem = checkedText(store, c, row, v);
      if (problem !== null) return { record, field: PACKET_COLUMNS[c].name, message: problem };
    }
  }
  return null;
}
