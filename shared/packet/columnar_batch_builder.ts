/**
 * Builds a {@linkcode ColumnarBatch} packet by packet into arrays it keeps
 * and reuses batch after batch: the agent appends decoded headers straight
 * from the capture buffer (no record object, no string per packet: an
 * address becomes a string only the first time a batch sees it), and the
 * JSON ingest path appends validated records.
 *
 * The arrays and the writes every append shares are in _column_store.ts, the
 * JSON ingest appends in _json_row_append.ts; the types of what it appends
 * from are in columnar_batch_inputs.ts, the capture path's field order in
 * header_fields.ts (both exported from here too).
 *
 * @module
 */
import type { PacketRecord } from "./packet_record.ts";
import type { PacketHeaders } from "./packet_headers.ts";
import { COLUMN_INDEX, PACKET_COLUMNS } from "./packet_column_layout.ts";
import type { BinaryColumn, ColumnarBatch, StringColumn } from "./columnar_batch.ts";
import { isPresent } from "./columnar_batch.ts";
import { IS_STAGED } from "./_row_staging.ts";
import { formatIpv4, formatIpv6, formatMac } from "./address_format.ts";
import { APP_RECORD_FIELD_NAMES, type AppRecordFields } from "../app_layer/app_record_fields.ts";
import type { RecordIssue } from "./packet_schema.ts";
import type { AppendHeadersOptions, ScannedJsonRow } from "./columnar_batch_inputs.ts";
import { HEADER_FIELDS } from "./header_fields.ts";
import { ColumnStore } from "./_column_store.ts";
import type { ColumnArrays, DetachedBatch } from "./detached_batch.ts";
import { appendJsonRecord, appendScannedRow } from "./_json_row_append.ts";

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
] = HEADER_FIELDS.map(column);
/** The app-layer columns by name, for writing a record's fields one by one (see appendApp). */
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
  throw new Error("columnar_batch_builder: appendApp does not write every app-layer field");
}

/** Whether each column is an app-layer one (written straight into its column, not staged). */
const IS_APP_COLUMN = IS_STAGED.map((staged) => !staged);

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
  readonly #store: ColumnStore;

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
    this.#store = new ColumnStore(capacity);
  }

  /** Packets in the current batch. */
  get count(): number {
    return this.#store.count;
  }

  /** Packets the arrays hold before they next grow. */
  get capacity(): number {
    return this.#store.capacity;
  }

  /** Forgets the current batch, keeping the arrays for the next. */
  reset(): void {
    this.#store.reset();
  }

  /** The current batch: a view valid until the next append or `reset()`. */
  build(): ColumnarBatch {
    return this.#store.build();
  }

  /**
   * Hands over the current batch and the arrays it is in, and empties the
   * builder, which goes on in `spare`'s arrays (from an earlier `detach` of
   * a builder of the same capacity; ignored when they do not fit, e.g. after
   * the builder grew or their buffers were transferred away) or in new ones.
   * No builder writes to the batch's arrays again, so they can be
   * transferred to a worker (`buffers`) instead of copied. A `build()` view
   * taken before shares them.
   */
  detach(spare: ColumnArrays | null = null): DetachedBatch {
    return this.#store.detach(spare);
  }

  /**
   * Appends one packet from its decoded headers and the frame they were
   * decoded from, as `decodePacket` would make its record, without
   * allocating (addresses are formatted through the formatters' caches and
   * looked up in this batch's dictionaries).
   */
  appendHeaders(frame: Uint8Array, h: PacketHeaders, options: AppendHeadersOptions): void {
    const s = this.#store;
    const row = s.row();
    const v6 = h.addressFamily === 6;
    s.set(TIMESTAMP, row, options.timestampSec);
    s.str(INTERFACE, row, options.interfaceName);
    s.str(
      SRC_IP,
      row,
      h.srcAddrOffset < 0
        ? null
        : v6
        ? formatIpv6(frame, h.srcAddrOffset)
        : formatIpv4(frame, h.srcAddrOffset),
    );
    s.str(
      DST_IP,
      row,
      h.dstAddrOffset < 0
        ? null
        : v6
        ? formatIpv6(frame, h.dstAddrOffset)
        : formatIpv4(frame, h.dstAddrOffset),
    );
    s.str(PROTOCOL, row, h.protocol);
    s.set(LENGTH, row, h.wireLength);
    s.set(CAPLEN, row, h.caplen);
    s.str(ETH_SRC, row, h.ethSrcOffset < 0 ? null : formatMac(frame, h.ethSrcOffset));
    s.str(ETH_DST, row, h.ethDstOffset < 0 ? null : formatMac(frame, h.ethDstOffset));
    // Layer by layer, in smaller functions: in one method making all ~30
    // numeric writes, the profile showed a third more self time in the
    // numeric write (likely V8's inlining budget for one function running out).
    appendLinkAndIp(s, row, h);
    appendTransport(s, row, h);
    s.str(TUNNEL_TYPE, row, h.tunnelType);
    const tunnelV6 = h.tunnelAddressFamily === 6;
    s.str(
      TUNNEL_SRC_IP,
      row,
      h.tunnelSrcOffset < 0
        ? null
        : tunnelV6
        ? formatIpv6(frame, h.tunnelSrcOffset)
        : formatIpv4(frame, h.tunnelSrcOffset),
    );
    s.str(
      TUNNEL_DST_IP,
      row,
      h.tunnelDstOffset < 0
        ? null
        : tunnelV6
        ? formatIpv6(frame, h.tunnelDstOffset)
        : formatIpv4(frame, h.tunnelDstOffset),
    );
    s.num(TUNNEL_ID, row, h.tunnelId);
    s.set(TUNNEL_DEPTH, row, h.tunnelDepth);
    s.set(PAYLOAD_LENGTH, row, h.payloadLength);
    s.bool(MALFORMED, row, h.malformedReason !== null);
    s.str(MALFORMED_REASON, row, h.malformedReason);
    switch (options.payloadCapture) {
      case "none":
        s.endBinary(row, false);
        break;
      case "full":
        s.binary(row, frame);
        break;
      case "headers": {
        // A copy loop, not subarray(): no view object per packet for a few dozen bytes.
        const end = h.headerEnd;
        s.reserveBytes(end);
        const bytes = s.bytes;
        let at = s.byteLength;
        for (let i = 0; i < end; i++) bytes[at++] = frame[i];
        s.byteLength = at;
        s.endBinary(row, true);
        break;
      }
      default:
        throw new RangeError(
          `Cannot append a packet as 'payloadCapture' must be "full", "headers" or "none": current value is ${options.payloadCapture}`,
        );
    }
    appendApp(s, row, options.app ?? null);
  }

  /** Appends one record (already validated against `PACKET_FIELDS`): the JSON path. */
  appendRecord(record: PacketRecord): void {
    const s = this.#store;
    const row = s.row();
    for (const spec of PACKET_COLUMNS) {
      const c = spec.index;
      const value = record[spec.name];
      if (IS_APP_COLUMN[c]) {
        if (value === null) continue;
        if (spec.storage === "string") s.appStr(c, row, value as string);
        else s.appNum(c, row, value as number);
        continue;
      }
      switch (spec.storage) {
        case "bool":
          s.bool(c, row, value === true);
          s.present(c, row, value !== null);
          break;
        case "string":
          s.str(c, row, value as string | null);
          break;
        case "binary":
          if (value === null) s.endBinary(row, false);
          else s.binary(row, Uint8Array.fromBase64(value as string));
          break;
        default:
          s.set(c, row, value === null ? 0 : value as number);
          s.present(c, row, value !== null);
      }
    }
  }

  /**
   * Checks and appends one parsed JSON record that has every field of
   * `PACKET_FIELDS` as its own keys, in that order (what agents send; the
   * caller checks the keys first, see `hasEveryFieldInOrder`), in one pass
   * instead of `validatePacketBatch` and then {@link appendRecord}. Returns
   * the first wrong value, in field order, as `validatePacketBatch` names it
   * (the same message), or null. After a wrong value the batch holds a
   * partial row: discard it. See _json_row_append.ts.
   */
  appendJsonRecord(raw: Record<string, unknown>, record: number): RecordIssue | null {
    return appendJsonRecord(this.#store, raw, record);
  }

  /**
   * Appends one record read from JSON by `scanJsonBatch`, whose numbers,
   * booleans, nulls and captured bytes it has checked as `checkValue` would.
   * Checks each text value the batch has not seen in that column, as
   * {@link appendJsonRecord} does, and returns the first wrong one, or null.
   * After a wrong value the batch holds a partial row: discard it. See
   * _json_row_append.ts.
   */
  appendScannedRow(scanned: ScannedJsonRow, record: number): RecordIssue | null {
    return appendScannedRow(this.#store, scanned, record);
  }

  /** Appends packet `row` of another batch (splitting or joining batches). */
  appendRow(source: ColumnarBatch, sourceRow: number): void {
    const s = this.#store;
    const row = s.row();
    for (const spec of PACKET_COLUMNS) {
      const c = spec.index;
      const from = source.columns[c];
      const present = isPresent(from.validity, sourceRow);
      if (IS_APP_COLUMN[c]) {
        if (!present) continue;
        if (from.storage === "string") {
          s.appStr(c, row, (from as StringColumn).dictionary[from.indices[sourceRow]]);
        } else if (from.storage !== "bool" && from.storage !== "binary") {
          s.appNum(c, row, from.values[sourceRow]);
        }
        continue;
      }
      switch (from.storage) {
        case "bool":
          s.bool(c, row, (from.bits[sourceRow >> 3] & (1 << (sourceRow & 7))) !== 0);
          s.present(c, row, present);
          break;
        case "string":
          s.str(
            c,
            row,
            present ? (from as StringColumn).dictionary[from.indices[sourceRow]] : null,
          );
          break;
        case "binary": {
          const { offsets, bytes } = from as BinaryColumn;
          if (!present) s.endBinary(row, false);
          else s.binary(row, bytes.subarray(offsets[sourceRow], offsets[sourceRow + 1]));
          break;
        }
        default:
          s.set(c, row, present ? from.values[sourceRow] : 0);
          s.present(c, row, present);
      }
    }
  }
}

function appendLinkAndIp(s: ColumnStore, row: number, h: PacketHeaders): void {
  s.num(LINK_TYPE, row, h.linkType);
  s.num(ETHER_TYPE, row, h.etherType);
  s.num(VLAN_ID, row, h.vlanId);
  s.num(VLAN_INNER_ID, row, h.vlanInnerId);
  s.num(IP_VERSION, row, h.ipVersion === 0 ? -1 : h.ipVersion);
  s.num(IP_PROTO, row, h.ipProto);
  s.num(TTL, row, h.ttl);
  s.num(IP_ID, row, h.ipId);
  s.num(IP_TOS, row, h.ipTos);
  s.num(IP_HEADER_LENGTH, row, h.ipHeaderLength);
  s.num(IP_FLOW_LABEL, row, h.ipFlowLabel);
  s.num(FRAG_OFFSET, row, h.fragOffset);
  s.bool(MORE_FRAGMENTS, row, h.moreFragments);
  s.bool(DONT_FRAGMENT, row, h.dontFragment);
  s.bool(IS_FRAGMENT, row, h.isFragment);
}

function appendTransport(s: ColumnStore, row: number, h: PacketHeaders): void {
  s.num(SRC_PORT, row, h.srcPort);
  s.num(DST_PORT, row, h.dstPort);
  s.num(TCP_SEQ, row, h.tcpSeq);
  s.num(TCP_ACK, row, h.tcpAck);
  s.num(TCP_FLAGS, row, h.tcpFlags);
  s.num(TCP_WINDOW, row, h.tcpWindow);
  s.num(TCP_HEADER_LENGTH, row, h.tcpHeaderLength);
  s.num(ICMP_TYPE, row, h.icmpType);
  s.num(ICMP_CODE, row, h.icmpCode);
  s.num(ICMP_ID, row, h.icmpId);
  s.num(ICMP_SEQ, row, h.icmpSeq);
  s.num(ARP_OPCODE, row, h.arpOpcode);
}

/**
 * Writes the app-layer fields of `row`: only those present (a row's
 * app-layer columns start out null, see `ColumnStore.appPresent`), so a
 * packet without metadata costs nothing here.
 */
function appendApp(s: ColumnStore, row: number, app: AppRecordFields | null): void {
  if (app === null) return;
  // Field by field: reading them by a computed name made a slow keyed load of each.
  // A number is null when absent or negative (as `num` takes it).
  s.appStr(APP.app_protocol, row, app.app_protocol);
  s.appStr(APP.dns_query, row, app.dns_query);
  const qtype = app.dns_qtype, rcode = app.dns_rcode, ttl = app.dns_ttl;
  if (qtype !== null && qtype >= 0) s.appNum(APP.dns_qtype, row, qtype);
  if (rcode !== null && rcode >= 0) s.appNum(APP.dns_rcode, row, rcode);
  s.appStr(APP.dns_answers, row, app.dns_answers);
  s.appStr(APP.dns_cnames, row, app.dns_cnames);
  if (ttl !== null && ttl >= 0) s.appNum(APP.dns_ttl, row, ttl);
  s.appStr(APP.dns_names, row, app.dns_names);
  s.appStr(APP.tls_sni, row, app.tls_sni);
  s.appStr(APP.tls_alpn, row, app.tls_alpn);
  s.appStr(APP.tls_versions, row, app.tls_versions);
  s.appStr(APP.tls_ja3, row, app.tls_ja3);
  s.appStr(APP.tls_ja4, row, app.tls_ja4);
  const version = app.tls_version, cipher = app.tls_cipher, status = app.http_status;
  if (version !== null && version >= 0) s.appNum(APP.tls_version, row, version);
  if (cipher !== null && cipher >= 0) s.appNum(APP.tls_cipher, row, cipher);
  s.appStr(APP.http_method, row, app.http_method);
  s.appStr(APP.http_host, row, app.http_host);
  s.appStr(APP.http_path, row, app.http_path);
  s.appStr(APP.http_user_agent, row, app.http_user_agent);
  if (status !== null && status >= 0) s.appNum(APP.http_status, row, status);
  s.appStr(APP.ssh_banner, row, app.ssh_banner);
  s.appStr(APP.dhcp_hostname, row, app.dhcp_hostname);
  s.appStr(APP.dhcp_requested_ip, row, app.dhcp_requested_ip);
}
