/**
 * What {@linkcode ColumnarBatchBuilder} appends a packet from, besides a
 * record: the frame metadata of the capture path (`appendHeaders`), and one
 * JSON record as the ingest scanner read it (`appendScannedRow`). The types
 * only; the appending is in columnar_batch_builder.ts (the JSON ingest's in
 * _json_row_append.ts).
 *
 * @module
 */
import type { PayloadCapture } from "./decode_packet.ts";
import type { AppRecordFields } from "../app_layer/app_record_fields.ts";

/** Frame metadata for {@link ColumnarBatchBuilder.appendHeaders}. */
export interface AppendHeadersOptions {
  /** Capture time, epoch seconds with a fraction. */
  timestampSec: number;
  /** Capture interface (or file) name. */
  interfaceName: string;
  /** What `data` keeps: the whole frame, its headers, or nothing. */
  payloadCapture: PayloadCapture;
  /**
   * The packet's application-layer fields (extracted before `data` is cut),
   * or null/absent when it has none.
   */
  app?: AppRecordFields | null;
}

/**
 * One JSON record as `scanJsonBatch` read it, for
 * {@link ColumnarBatchBuilder.appendScannedRow}: per column (field order), a
 * null flag (1 = null), the number (a boolean as 1 or 0), or the text; the
 * captured bytes, decoded.
 */
export interface ScannedJsonRow {
  /** Per column: the value of a numeric or boolean column (0 when null). */
  numbers: Float64Array;
  /** Per column: 1 when the value is null. */
  nulls: Uint8Array;
  /** Per column: the value of a text column (null otherwise). */
  strings: (string | null)[];
  /** The decoded `data`, in its first {@link byteLength} bytes. */
  bytes: Uint8Array;
  /** Bytes of `data`. */
  byteLength: number;
  /**
   * Whether any app-layer column holds a value (they come after every staged
   * column); false lets the append stop at the staged ones.
   */
  appPresent: boolean;
}
