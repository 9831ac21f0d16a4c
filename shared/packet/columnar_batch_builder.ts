/**
 * Builds a {@linkcode ColumnarBatch} packet by packet into arrays it keeps
 * and reuses batch after batch: the agent appends decoded headers straight
 * from the capture buffer (no record object, no string per packet: an
 * address becomes a string only the first time a batch sees it), and the
 * JSON ingest path appends validated records.
 *
 * The types of what it appends from are in columnar_batch_inputs.ts, the
 * capture path's field order in header_fields.ts; both are exported from
 * here too.
 *
 * @module
 */
import type { PacketRecord } from "./packet_record.ts";
import type { PacketHeaders } from "./packet_headers.ts";
import { COLUMN_INDEX, PACKET_COLUMNS } from "./packet_column_layout.ts";
import type {
  BinaryColumn,
  ColumnarBatch,
  NumericArray,
  PacketColumn,
  StringColumn,
} from "./columnar_batch.ts";
import { isPresent, numericArray } from "./columnar_batch.ts";
import {
  BLOCK_ROWS,
  COLUMN_COUNT,
  grown,
  IS_STAGED,
  NUMERIC_COUNT,
  NUMERIC_SLOT,
  packValidity,
  STAGED_COUNT,
  STRING_COUNT,
  STRING_SLOT,
  unstageIndices,
  unstageNumbers,
} from "./_row_staging.ts";
import { formatIpv4, formatIpv6, formatMac } from "./address_format.ts";
import { APP_RECORD_FIELD_NAMES, type AppRecordFields } from "../app_layer/app_record_fields.ts";
import { checkValue, type RecordIssue } from "./packet_schema.ts";
import type { AppendHeadersOptions, ScannedJsonRow } from "./columnar_batch_inputs.ts";
import { HEADER_FIELDS } from "./header_fields.ts";

export type * from "./columnar_batch_inputs.ts";
export * from "./header_fields.ts";

const column = (name: keyof PacketRecord): number => {
  const index = COLUMN_INDEX.get(name);
  if (index === undefined) throw new Error(`PACKET_FIELDS has no field ${name}`);
  return index;
};
const [
  TIMESTAMP,
  INTERFACE,
  SRC_IP,
  DST_IP,
  PROTOCOL,
  SRC_PORT,
  DST_PORT,
  LENGTH,
  CAPLEN,
  LINK_TYPE,
  ETH_SRC,
  ETH_DST,
  ETHER_TYPE,
  VLAN_ID,
  VLAN_INNER_ID,
  IP_VERSION,
  IP_PROTO,
  TTL,
  IP_ID,
  IP_TOS,
  IP_HEADER_LENGTH,
  IP_FLOW_LABEL,
  FRAG_OFFSET,
  MORE_FRAGMENTS,
  DONT_FRAGMENT,
  IS_FRAGMENT,
  TCP_SEQ,
  TCP_ACK,
  TCP_FLAGS,
  TCP_WINDOW,
  TCP_HEADER_LENGTH,
  ICMP_TYPE,
  ICMP_CODE,
  ICMP_ID,
  ICMP_SEQ,
  ARP_OPCODE,
  TUNNEL_TYPE,
  TUNNEL_SRC_IP,
  TUNNEL_DST_IP,
  TUNNEL_ID,
  TUNNEL_DEPTH,
  PAYLOAD_LENGTH,
  MALFORMED,
  MALFORMED_REASON,
  DATA,
] = HEADER_FIELDS.map(column);
/** Column of each app-layer field, in {@link APP_RECORD_FIELD_NAMES} order. */
const APP_COLUMNS = APP_RECORD_FIELD_NAMES.map(column);
/** The app-layer columns by name, for writing a record's fields one by one (see #appendApp). */
const APP = {
  app_protocol: column("app_protocol"),
  dns_query: column("dns_query"),
  dns_qtype: column("dns_qtype"),
  dns_rcode: column("dns_rcode"),
  dns_answers: column("dns_answers"),
  dns_cnames: column("dns_cnames"),
  dns_ttl: column("dns_ttl"),
  dns_names: column("dns_names"),
  tls_sni: column("tls_sni"),
  tls_alpn: column("tls_alpn"),
  tls_versions: column("tls_versions"),
  tls_ja3: column("tls_ja3"),
  tls_ja4: column("tls_ja4"),
  tls_version: column("tls_version"),
  tls_cipher: column("tls_cipher"),
  http_method: column("http_method"),
  http_host: column("http_host"),
  http_path: column("http_path"),
  http_user_agent: column("http_user_agent"),
  http_status: column("http_status"),
  ssh_banner: column("ssh_banner"),
  dhcp_hostname: column("dhcp_hostname"),
  dhcp_requested_ip: column("dhcp_requested_ip"),
} as const satisfies Record<keyof AppRecordFields, number>;
if (Object.keys(APP).length !== APP_RECORD_FIELD_NAMES.length) {
  throw new Error("columnar_batch_builder: #appendApp does not write every app-layer field");
}

/** Whether each column is an app-layer one (written straight into its column, not staged). */
const IS_APP_COLUMN = IS_STAGED.map((staged) => !staged);
if (APP_COLUMNS.some((c) => !IS_APP_COLUMN[c])) {
  throw new Error("columnar_batch_builder: an app-layer column is staged");
}
/** How {@link ColumnarBatchBuilder.appendScannedRow} writes a column. */
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
  throw new Error("columnar_batch_builder: appendScannedRow stages every boolean column");
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
  throw new Error("columnar_batch_builder: appendScannedRow's column lists do not fit the layout");
}

/** How {@link ColumnarBatchBuilder.appendJsonRecord} checks a column's values before `checkValue`. */
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
 * Appends packets into reusable columns. `build()` returns a view of the
 * current batch that stays valid until the next `append*` or `reset()`; a
 * caller that keeps a batch longer encodes it first (the agent does, into
 * Arrow, the moment a batch closes).
 *
 * @example
 * ```ts
 * const builder = new ColumnarBatchBuilder(100);
 * builder.appendHeaders(frame, decodeHeaders(frame, { linkType: 1 }, headers), {
 *   timestampSec: 1700000000.5, interfaceName: "eth0", payloadCapture: "headers",
 * });
 * const body = encodeArrowBatch(builder.build());
 * builder.reset();
 * ```
 */
export class ColumnarBatchBuilder {
  #capacity: number;
  #count = 0;
  /** Per column; only the arrays of its storage are set. */
  readonly #values: (NumericArray | null)[] = [];
  readonly #bits: (Uint8Array | null)[] = [];
  readonly #indices: (Int32Array | null)[] = [];
  readonly #validity: (Uint8Array | null)[] = [];
  readonly #dictionaries: (Map<string, number> | null)[] = [];
  readonly #dictionaryValues: string[][] = [];
  /** Per string column: the last value appended and its index (most packets repeat it). */
  readonly #lastString: (string | null)[] = [];
  readonly #lastIndex: number[] = [];
  /**
   * Appends write rows here, not into the columns: every numeric value of a
   * row side by side as float64 (by {@link NUMERIC_SLOT}), every dictionary
   * index (by {@link STRING_SLOT}), and a null flag per column (1 = null),
   * for every column but the app-layer ones (see `#appPresent`).
   * A packet then touches a few cache lines instead of one per column (a
   * batch's columns are larger than L2), and each store has one array type.
   * `build()` turns the rows into the columns, block by block.
   */
  #staged: Float64Array;
  #stagedIndices: Int32Array;
  #nulls: Uint8Array;
  #offsets: Int32Array;
  #bytes: Uint8Array;
  #byteLength = 0;
  /**
   * Per column: app-layer values present in this batch. The app-layer
   * columns are written straight into their arrays, and only where a packet
   * has a value: 90 % of packets carry none, and their rows are already
   * zero (index 0, value 0, validity bit clear), because `reset()` clears
   * the arrays of every app-layer column the batch wrote to. A packet without
   * app-layer fields then costs one check instead of a null per column.
   */
  readonly #appPresent: Int32Array = new Int32Array(COLUMN_COUNT);

  /**

   * Creates a builder with room for `capacity` records (it grows as needed).

   *

   * @param capacity packets the arrays hold before they grow (they double).

   */
  constructor(capacity = 128) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create a columnar batch builder as 'capacity' must be an integer >= 1: current value is ${capacity}`,
      );
    }
    this.#capacity = capacity;
    for (const spec of PACKET_COLUMNS) {
      const { storage } = spec;
      const numeric = storage !== "bool" && storage !== "string" && storage !== "binary";
      this.#values.push(numeric ? numericArray(storage, capacity) : null);
      this.#bits.push(storage === "bool" ? new Uint8Array((capacity + 7) >> 3) : null);
      this.#indices.push(storage === "string" ? new Int32Array(capacity) : null);
      this.#validity.push(spec.nullable ? new Uint8Array((capacity + 7) >> 3) : null);
      this.#dictionaries.push(storage === "string" ? new Map() : null);
      this.#dictionaryValues.push([]);
      this.#lastString.push(null);
      this.#lastIndex.push(0);
    }
    this.#staged = new Float64Array(NUMERIC_COUNT * capacity);
    this.#stagedIndices = new Int32Array(STRING_COUNT * capacity);
    this.#nulls = new Uint8Array(STAGED_COUNT * capacity);
    this.#offsets = new Int32Array(capacity + 1);
    this.#bytes = new Uint8Array(capacity * 128);
  }

  /** Packets in the current batch. */
  get count(): number {
    return this.#count;
  }

  /** Packets the arrays hold before they next grow. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Forgets the current batch, keeping the arrays for the next. */
  reset(): void {
    const count = this.#count;
    for (let i = 0; i < APP_COLUMNS.length; i++) {
      const c = APP_COLUMNS[i];
      if (this.#appPresent[c] === 0) continue;
      this.#appPresent[c] = 0;
      this.#indices[c]?.fill(0, 0, count);
      this.#values[c]?.fill(0, 0, count);
      this.#validity[c]!.fill(0, 0, (count + 7) >> 3);
    }
    this.#count = 0;
    this.#byteLength = 0;
    for (let c = 0; c < PACKET_COLUMNS.length; c++) {
      this.#dictionaries[c]?.clear();
      this.#dictionaryValues[c] = [];
      this.#lastString[c] = null;
    }
  }

  /** The current batch: a view valid until the next append or `reset()`. */
  build(): ColumnarBatch {
    const count = this.#count;
    const anyNull = new Int32Array(COLUMN_COUNT);
    for (let from = 0; from < count; from += BLOCK_ROWS) {
      const to = Math.min(count, from + BLOCK_ROWS);
      for (let c = 0; c < STAGED_COUNT; c++) {
        const bitmap = this.#validity[c];
        if (bitmap !== null) anyNull[c] |= packValidity(this.#nulls, c, from, to, bitmap);
        const values = this.#values[c];
        if (values !== null) {
          unstageNumbers(this.#staged, NUMERIC_COUNT, NUMERIC_SLOT[c], from, to, values);
        }
        const indices = this.#indices[c];
        if (indices !== null) {
          unstageIndices(this.#stagedIndices, STRING_COUNT, STRING_SLOT[c], from, to, indices);
        }
      }
    }
    for (let i = 0; i < APP_COLUMNS.length; i++) {
      const c = APP_COLUMNS[i];
      anyNull[c] = this.#appPresent[c] < count ? 1 : 0;
    }
    const columns: PacketColumn[] = PACKET_COLUMNS.map((spec, c) => {
      const validity = anyNull[c] !== 0 ? this.#validity[c] : null;
      switch (spec.storage) {
        case "bool":
          return { storage: "bool", bits: this.#bits[c]!, validity };
        case "string":
          return {
            storage: "string",
            indices: this.#indices[c]!,
            dictionary: this.#dictionaryValues[c],
            validity,
          };
        case "binary":
          return {
            storage: "binary",
            offsets: this.#offsets,
            bytes: this.#bytes,
            validity,
          };
        default:
          return { storage: spec.storage, values: this.#values[c]!, validity };
      }
    });
    return { count, columns };
  }

  #grow(): void {
    const capacity = this.#capacity * 2;
    for (let c = 0; c < PACKET_COLUMNS.length; c++) {
      const values = this.#values[c];
      if (values) this.#values[c] = grown(values, capacity);
      const indices = this.#indices[c];
      if (indices) this.#indices[c] = grown(indices, capacity);
      const bits = this.#bits[c];
      if (bits) this.#bits[c] = grown(bits, (capacity + 7) >> 3);
      const validity = this.#validity[c];
      if (validity) this.#validity[c] = grown(validity, (capacity + 7) >> 3);
    }
    this.#offsets = grown(this.#offsets, capacity + 1);
    this.#staged = grown(this.#staged, NUMERIC_COUNT * capacity);
    this.#stagedIndices = grown(this.#stagedIndices, STRING_COUNT * capacity);
    this.#nulls = grown(this.#nulls, STAGED_COUNT * capacity);
    this.#capacity = capacity;
  }

  #reserveBytes(length: number): void {
    const need = this.#byteLength + length;
    if (need <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < need) size *= 2;
    const bytes = new Uint8Array(size);
    bytes.set(this.#bytes.subarray(0, this.#byteLength));
    this.#bytes = bytes;
  }

  #present(c: number, row: number, present: boolean): void {
    this.#nulls[row * STAGED_COUNT + c] = present ? 0 : 1;
  }

  /** A number that is never null. */
  #set(c: number, row: number, value: number): void {
    this.#staged[row * NUMERIC_COUNT + NUMERIC_SLOT[c]] = value;
  }

  /** A number, or null when `value` is negative (PacketHeaders' "absent"). */
  #num(c: number, row: number, value: number): void {
    const present = value >= 0;
    this.#staged[row * NUMERIC_COUNT + NUMERIC_SLOT[c]] = present ? value : 0;
    this.#nulls[row * STAGED_COUNT + c] = present ? 0 : 1;
  }

  #bool(c: number, row: number, value: boolean): void {
    const bits = this.#bits[c]!;
    if (value) bits[row >> 3] |= 1 << (row & 7);
    else bits[row >> 3] &= ~(1 << (row & 7));
  }

  #str(c: number, row: number, value: string | null): void {
    if (value === null) {
      this.#stagedIndices[row * STRING_COUNT + STRING_SLOT[c]] = 0;
      this.#nulls[row * STAGED_COUNT + c] = 1;
      return;
    }
    this.#stagedIndices[row * STRING_COUNT + STRING_SLOT[c]] = this.#index(c, value);
    this.#nulls[row * STAGED_COUNT + c] = 0;
  }

  /** The index of `value` in column `c`'s dictionary of this batch (added when new). */
  #index(c: number, value: string): number {
    if (value === this.#lastString[c]) return this.#lastIndex[c];
    const dictionary = this.#dictionaries[c]!;
    let index = dictionary.get(value);
    if (index === undefined) {
      index = dictionary.size;
      dictionary.set(value, index);
      this.#dictionaryValues[c].push(value);
    }
    this.#lastString[c] = value;
    this.#lastIndex[c] = index;
    return index;
  }

  /** An app-layer text, straight into its column; null leaves the row's zeros as they are. */
  #appStr(c: number, row: number, value: string | null): void {
    if (value === null) return;
    this.#indices[c]![row] = this.#index(c, value);
    this.#validity[c]![row >> 3] |= 1 << (row & 7);
    this.#appPresent[c]++;
  }

  /** An app-layer number (present), straight into its column. */
  #appNum(c: number, row: number, value: number): void {
    this.#values[c]![row] = value;
    this.#validity[c]![row >> 3] |= 1 << (row & 7);
    this.#appPresent[c]++;
  }

  /** Starts a row; returns its index. */
  #row(): number {
    if (this.#count === this.#capacity) this.#grow();
    return this.#count++;
  }

  /** Ends the binary value of `row` (an empty one when nothing was written). */
  #endBinary(row: number, present: boolean): void {
    this.#offsets[row + 1] = this.#byteLength;
    this.#present(DATA, row, present);
  }

  /**
   * Appends one packet from its decoded headers and the frame they were
   * decoded from, as `decodePacket` would make its record, without
   * allocating (addresses are formatted through the formatters' caches and
   * looked up in this batch's dictionaries).
   */
  appendHeaders(frame: Uint8Array, h: PacketHeaders, options: AppendHeadersOptions): void {
    const row = this.#row();
    this.#offsets[row] = this.#byteLength;
    const v6 = h.addressFamily === 6;
    this.#set(TIMESTAMP, row, options.timestampSec);
    this.#str(INTERFACE, row, options.interfaceName);
    this.#str(
      SRC_IP,
      row,
      h.srcAddrOffset < 0
        ? null
        : v6
        ? formatIpv6(frame, h.srcAddrOffset)
        : formatIpv4(frame, h.srcAddrOffset),
    );
    this.#str(
      DST_IP,
      row,
      h.dstAddrOffset < 0
        ? null
        : v6
        ? formatIpv6(frame, h.dstAddrOffset)
        : formatIpv4(frame, h.dstAddrOffset),
    );
    this.#str(PROTOCOL, row, h.protocol);
    this.#set(LENGTH, row, h.wireLength);
    this.#set(CAPLEN, row, h.caplen);
    this.#str(ETH_SRC, row, h.ethSrcOffset < 0 ? null : formatMac(frame, h.ethSrcOffset));
    this.#str(ETH_DST, row, h.ethDstOffset < 0 ? null : formatMac(frame, h.ethDstOffset));
    // Layer by layer, in smaller methods: in one method making all ~30
    // numeric writes, the profile showed a third more self time in #num
    // (likely V8's inlining budget for one function running out).
    this.#appendLinkAndIp(row, h);
    this.#appendTransport(row, h);
    this.#str(TUNNEL_TYPE, row, h.tunnelType);
    const tunnelV6 = h.tunnelAddressFamily === 6;
    this.#str(
      TUNNEL_SRC_IP,
      row,
      h.tunnelSrcOffset < 0
        ? null
        : tunnelV6
        ? formatIpv6(frame, h.tunnelSrcOffset)
        : formatIpv4(frame, h.tunnelSrcOffset),
    );
    this.#str(
      TUNNEL_DST_IP,
      row,
      h.tunnelDstOffset < 0
        ? null
        : tunnelV6
        ? formatIpv6(frame, h.tunnelDstOffset)
        : formatIpv4(frame, h.tunnelDstOffset),
    );
    this.#num(TUNNEL_ID, row, h.tunnelId);
    this.#set(TUNNEL_DEPTH, row, h.tunnelDepth);
    this.#set(PAYLOAD_LENGTH, row, h.payloadLength);
    this.#bool(MALFORMED, row, h.malformedReason !== null);
    this.#str(MALFORMED_REASON, row, h.malformedReason);
    switch (options.payloadCapture) {
      case "none":
        this.#endBinary(row, false);
        break;
      case "full":
        this.#reserveBytes(frame.length);
        this.#bytes.set(frame, this.#byteLength);
        this.#byteLength += frame.length;
        this.#endBinary(row, true);
        break;
      case "headers": {
        // A copy loop, not subarray(): no view object per packet for a few dozen bytes.
        const end = h.headerEnd;
        this.#reserveBytes(end);
        const bytes = this.#bytes;
        let at = this.#byteLength;
        for (let i = 0; i < end; i++) bytes[at++] = frame[i];
        this.#byteLength = at;
        this.#endBinary(row, true);
        break;
      }
      default:
        throw new RangeError(
          `Cannot append a packet as 'payloadCapture' must be "full", "headers" or "none": current value is ${options.payloadCapture}`,
        );
    }
    this.#appendApp(row, options.app ?? null);
  }

  #appendLinkAndIp(row: number, h: PacketHeaders): void {
    this.#num(LINK_TYPE, row, h.linkType);
    this.#num(ETHER_TYPE, row, h.etherType);
    this.#num(VLAN_ID, row, h.vlanId);
    this.#num(VLAN_INNER_ID, row, h.vlanInnerId);
    this.#num(IP_VERSION, row, h.ipVersion === 0 ? -1 : h.ipVersion);
    this.#num(IP_PROTO, row, h.ipProto);
    this.#num(TTL, row, h.ttl);
    this.#num(IP_ID, row, h.ipId);
    this.#num(IP_TOS, row, h.ipTos);
    this.#num(IP_HEADER_LENGTH, row, h.ipHeaderLength);
    this.#num(IP_FLOW_LABEL, row, h.ipFlowLabel);
    this.#num(FRAG_OFFSET, row, h.fragOffset);
    this.#bool(MORE_FRAGMENTS, row, h.moreFragments);
    this.#bool(DONT_FRAGMENT, row, h.dontFragment);
    this.#bool(IS_FRAGMENT, row, h.isFragment);
  }

  #appendTransport(row: number, h: PacketHeaders): void {
    this.#num(SRC_PORT, row, h.srcPort);
    this.#num(DST_PORT, row, h.dstPort);
    this.#num(TCP_SEQ, row, h.tcpSeq);
    this.#num(TCP_ACK, row, h.tcpAck);
    this.#num(TCP_FLAGS, row, h.tcpFlags);
    this.#num(TCP_WINDOW, row, h.tcpWindow);
    this.#num(TCP_HEADER_LENGTH, row, h.tcpHeaderLength);
    this.#num(ICMP_TYPE, row, h.icmpType);
    this.#num(ICMP_CODE, row, h.icmpCode);
    this.#num(ICMP_ID, row, h.icmpId);
    this.#num(ICMP_SEQ, row, h.icmpSeq);
    this.#num(ARP_OPCODE, row, h.arpOpcode);
  }

  /**
   * Writes the app-layer fields of `row`: only those present (a row's
   * app-layer columns start out null, see `#appPresent`), so a packet without
   * metadata costs nothing here.
   */
  #appendApp(row: number, app: AppRecordFields | null): void {
    if (app === null) return;
    // Field by field: reading them by a computed name made a slow keyed load of each.
    // A number is null when absent or negative (as `#num` takes it).
    this.#appStr(APP.app_protocol, row, app.app_protocol);
    this.#appStr(APP.dns_query, row, app.dns_query);
    const qtype = app.dns_qtype, rcode = app.dns_rcode, ttl = app.dns_ttl;
    if (qtype !== null && qtype >= 0) this.#appNum(APP.dns_qtype, row, qtype);
    if (rcode !== null && rcode >= 0) this.#appNum(APP.dns_rcode, row, rcode);
    this.#appStr(APP.dns_answers, row, app.dns_answers);
    this.#appStr(APP.dns_cnames, row, app.dns_cnames);
    if (ttl !== null && ttl >= 0) this.#appNum(APP.dns_ttl, row, ttl);
    this.#appStr(APP.dns_names, row, app.dns_names);
    this.#appStr(APP.tls_sni, row, app.tls_sni);
    this.#appStr(APP.tls_alpn, row, app.tls_alpn);
    this.#appStr(APP.tls_versions, row, app.tls_versions);
    this.#appStr(APP.tls_ja3, row, app.tls_ja3);
    this.#appStr(APP.tls_ja4, row, app.tls_ja4);
    const version = app.tls_version, cipher = app.tls_cipher, status = app.http_status;
    if (version !== null && version >= 0) this.#appNum(APP.tls_version, row, version);
    if (cipher !== null && cipher >= 0) this.#appNum(APP.tls_cipher, row, cipher);
    this.#appStr(APP.http_method, row, app.http_method);
    this.#appStr(APP.http_host, row, app.http_host);
    this.#appStr(APP.http_path, row, app.http_path);
    this.#appStr(APP.http_user_agent, row, app.http_user_agent);
    if (status !== null && status >= 0) this.#appNum(APP.http_status, row, status);
    this.#appStr(APP.ssh_banner, row, app.ssh_banner);
    this.#appStr(APP.dhcp_hostname, row, app.dhcp_hostname);
    this.#appStr(APP.dhcp_requested_ip, row, app.dhcp_requested_ip);
  }

  /** Appends one record (already validated against `PACKET_FIELDS`): the JSON path. */
  appendRecord(record: PacketRecord): void {
    const row = this.#row();
    this.#offsets[row] = this.#byteLength;
    for (const spec of PACKET_COLUMNS) {
      const c = spec.index;
      const value = record[spec.name];
      if (IS_APP_COLUMN[c]) {
        if (value === null) continue;
        if (spec.storage === "string") this.#appStr(c, row, value as string);
        else this.#appNum(c, row, value as number);
        continue;
      }
      switch (spec.storage) {
        case "bool":
          this.#bool(c, row, value === true);
          this.#present(c, row, value !== null);
          break;
        case "string":
          this.#str(c, row, value as string | null);
          break;
        case "binary":
          if (value === null) this.#endBinary(row, false);
          else {
            const bytes = Uint8Array.fromBase64(value as string);
            this.#reserveBytes(bytes.length);
            this.#bytes.set(bytes, this.#byteLength);
            this.#byteLength += bytes.length;
            this.#endBinary(row, true);
          }
          break;
        default:
          this.#set(c, row, value === null ? 0 : value as number);
          this.#present(c, row, value !== null);
      }
    }
  }

  /**
   * Writes text `v` (present) into column `c` of `row`, staged or app-layer,
   * checking it with `checkValue` only when it is new to the batch's
   * dictionary (which holds only checked values): what is wrong with it, or null.
   */
  #checkedText(c: number, row: number, v: string): string | null {
    let index: number | undefined;
    if (v === this.#lastString[c]) index = this.#lastIndex[c];
    else {
      index = this.#dictionaries[c]!.get(v);
      if (index === undefined) {
        const problem = checkValue(PACKET_COLUMNS[c].field.kind, v);
        if (problem !== null) return problem;
        index = this.#index(c, v);
      }
      this.#lastString[c] = v;
      this.#lastIndex[c] = index;
    }
    if (IS_APP_COLUMN[c]) {
      this.#indices[c]![row] = index;
      this.#validity[c]![row >> 3] |= 1 << (row & 7);
      this.#appPresent[c]++;
    } else {
      this.#stagedIndices[row * STRING_COUNT + STRING_SLOT[c]] = index;
      this.#nulls[row * STAGED_COUNT + c] = 0;
    }
    return null;
  }

  /**
   * Checks and appends one parsed JSON record that has every field of
   * `PACKET_FIELDS` as its own keys, in that order (what `JSON.stringify` of
   * a {@link PacketRecord} makes, so what agents send; the caller checks the
   * keys first, see `hasEveryFieldInOrder`). One pass instead of
   * `validatePacketBatch` and then {@link appendRecord}: the values are read
   * by `for…in` over the record's own keys, which V8 turns into loads by
   * field position, where reading them by each field's name (twice) was most
   * of the JSON path's validation and append. Returns the first wrong value,
   * in field order, as `validatePacketBatch` names it (the same message), or
   * null. After a wrong value the batch holds a partial row: discard it.
   */
  appendJsonRecord(raw: Record<string, unknown>, record: number): RecordIssue | null {
    const row = this.#row();
    this.#offsets[row] = this.#byteLength;
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
              this.#bool(c, row, false);
              this.#present(c, row, false);
              break;
            case "string":
              this.#str(c, row, null);
              break;
            case "binary":
              this.#endBinary(row, false);
              break;
            default:
              this.#set(c, row, 0);
              this.#present(c, row, false);
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
          if (app) this.#appNum(c, row, v as number);
          else {
            this.#set(c, row, v as number);
            this.#present(c, row, true);
          }
          break;
        case QuickCheck.String: {
          if (typeof v !== "string") {
            return { record, field: key, message: checkValue(spec.field.kind, v)! };
          }
          const problem = this.#checkedText(c, row, v);
          if (problem !== null) return { record, field: key, message: problem };
          break;
        }
        default: {
          const problem = checkValue(spec.field.kind, v);
          if (problem !== null) return { record, field: key, message: problem };
          switch (spec.storage) {
            case "bool":
              this.#bool(c, row, v === true);
              this.#present(c, row, true);
              break;
            case "binary": {
              const bytes = Uint8Array.fromBase64(v as string);
              this.#reserveBytes(bytes.length);
              this.#bytes.set(bytes, this.#byteLength);
              this.#byteLength += bytes.length;
              this.#endBinary(row, true);
              break;
            }
            default:
              if (app) this.#appNum(c, row, v as number);
              else {
                this.#set(c, row, v as number);
                this.#present(c, row, true);
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
  appendScannedRow(scanned: ScannedJsonRow, record: number): RecordIssue | null {
    const row = this.#row();
    this.#offsets[row] = this.#byteLength;
    const { numbers, nulls, strings } = scanned;
    // Column kind by column kind, each in a loop of its own (a switch on
    // every column's kind cost as much as the stores): every staged column's
    // null flag as scanned, the numbers into their staged slots, the booleans,
    // the captured bytes, then the texts (checked when new to the batch).
    const stagedNulls = this.#nulls;
    const nullAt = row * STAGED_COUNT;
    for (let c = 0; c < STAGED_COUNT; c++) stagedNulls[nullAt + c] = nulls[c];
    const staged = this.#staged;
    const numberAt = row * NUMERIC_COUNT;
    for (let k = 0; k < SCANNED_NUMBERS.length; k++) {
      staged[numberAt + k] = numbers[SCANNED_NUMBERS[k]];
    }
    for (let k = 0; k < SCANNED_BOOLS.length; k++) {
      const c = SCANNED_BOOLS[k];
      this.#bool(c, row, numbers[c] === 1);
    }
    if (nulls[DATA] === 1) this.#endBinary(row, false);
    else {
      const length = scanned.byteLength;
      this.#reserveBytes(length);
      // A loop, not set(subarray()): no view object a packet for a few dozen bytes.
      const from = scanned.bytes, to = this.#bytes;
      let at = this.#byteLength;
      for (let i = 0; i < length; i++) to[at++] = from[i];
      this.#byteLength = at;
      this.#endBinary(row, true);
    }
    for (let k = 0; k < SCANNED_STRINGS.length; k++) {
      const c = SCANNED_STRINGS[k];
      const v = strings[c];
      if (nulls[c] === 1 || v === null) this.#str(c, row, null);
      else {
        const problem = this.#checkedText(c, row, v);
        if (problem !== null) return { record, field: PACKET_COLUMNS[c].name, message: problem };
      }
    }
    // A null app-layer value writes nothing (the row's zeros stand), so a
    // record without any (most packets) ends with the staged columns.
    if (!scanned.appPresent) return null;
    for (let c = STAGED_COUNT; c < COLUMN_COUNT; c++) {
      if (nulls[c] === 1) continue;
      if (SCANNED_WRITE[c] === ScannedWrite.AppNumber) this.#appNum(c, row, numbers[c]);
      else {
        const v = strings[c];
        if (v === null) continue;
        const problem = this.#checkedText(c, row, v);
        if (problem !== null) return { record, field: PACKET_COLUMNS[c].name, message: problem };
      }
    }
    return null;
  }

  /** Appends packet `row` of another batch (splitting or joining batches). */
  appendRow(source: ColumnarBatch, sourceRow: number): void {
    const row = this.#row();
    this.#offsets[row] = this.#byteLength;
    for (const spec of PACKET_COLUMNS) {
      const c = spec.index;
      const from = source.columns[c];
      const present = isPresent(from.validity, sourceRow);
      if (IS_APP_COLUMN[c]) {
        if (!present) continue;
        if (from.storage === "string") {
          this.#appStr(c, row, (from as StringColumn).dictionary[from.indices[sourceRow]]);
        } else if (from.storage !== "bool" && from.storage !== "binary") {
          this.#appNum(c, row, from.values[sourceRow]);
        }
        continue;
      }
      switch (from.storage) {
        case "bool":
          this.#bool(c, row, (from.bits[sourceRow >> 3] & (1 << (sourceRow & 7))) !== 0);
          this.#present(c, row, present);
          break;
        case "string":
          this.#str(
            c,
            row,
            present ? (from as StringColumn).dictionary[from.indices[sourceRow]] : null,
          );
          break;
        case "binary": {
          const { offsets, bytes } = from as BinaryColumn;
          if (!present) this.#endBinary(row, false);
          else {
            const start = offsets[sourceRow], end = offsets[sourceRow + 1];
            this.#reserveBytes(end - start);
            this.#bytes.set(bytes.subarray(start, end), this.#byteLength);
            this.#byteLength += end - start;
            this.#endBinary(row, true);
          }
          break;
        }
        default:
          this.#set(c, row, present ? from.values[sourceRow] : 0);
          this.#present(c, row, present);
      }
    }
  }
}
