/**
 * Reads packet column blocks (the format is described in packet_columns.ts):
 * into records at once ({@linkcode decodePacketColumns}), record by record on
 * demand ({@linkcode readPacketColumns}, the aggregator's way), or only
 * checked, with their capture times ({@linkcode checkPacketColumns}).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { PacketRecord } from "./packet_record.ts";
import { APP_RECORD_FIELD_NAMES, clearAppFields } from "../app_layer/app_record_fields.ts";
import { PACKET_FIELDS } from "./packet_schema.ts";
import { COLUMN_INDEX } from "./packet_column_layout.ts";
import { PacketColumnsError } from "./packet_columns_error.ts";
import {
  assertLittleEndianHost,
  type Column,
  COLUMNS,
  HEADER_BYTES,
  LAYOUT_ID,
  MAGIC,
  planLayout,
  valueArray,
} from "./_packet_column_block.ts";

/** A record with every field, in PACKET_FIELDS order, for `record()` to copy and fill. */
const RECORD_TEMPLATE = Object.freeze(
  Object.fromEntries(PACKET_FIELDS.map((field) => [field.name, null])),
) as unknown as PacketRecord;

/**
 * Decodes a block into records, in the order they were encoded. `data` is
 * null except for ICMP/ICMPv6 records. Throws {@linkcode PacketColumnsError}
 * for a damaged block or one of another layout.
 */
export function decodePacketColumns(block: Uint8Array): PacketRecord[] {
  const reader = readPacketColumns(block);
  const records: PacketRecord[] = new Array(reader.count);
  for (let i = 0; i < reader.count; i++) records[i] = reader.record(i);
  return records;
}

/** A decoded block whose records are built one at a time, on demand. */
export interface PacketColumnsReader {
  /** Records in the block. */
  readonly count: number;
  /** Capture time of each record, in block order. */
  readonly timestamps: Float64Array;
  /** Builds record `index` (0-based, in block order); a new object per call. */
  record(index: number): PacketRecord;
  /**
   * Overwrites every field of `target` (a record built by `record()`) with
   * record `index`'s, and returns it: a caller that is done with a record
   * reuses it instead of allocating the next.
   */
  recordInto(index: number, target: PacketRecord): PacketRecord;
}

/** Options for {@link readPacketColumns}. */
export interface ReadPacketColumnsOptions {
  /**
   * These very bytes passed {@link checkPacketColumns} (the aggregator checks
   * each block when it reads a pass's batches and reads it again when it
   * merges them): the string indexes, which that checked, are not checked
   * again. A block that did not pass must not be read with this.
   * @default false
   */
  checked?: boolean;
}

/**
 * Decodes a block's columns without building its records, so a caller can
 * build each record just before it is used (and let it go right after),
 * instead of holding every record of a pass at once. Throws
 * {@linkcode PacketColumnsError} like {@link decodePacketColumns}.
 */
export function readPacketColumns(
  block: Uint8Array,
  options: ReadPacketColumnsOptions = {},
): PacketColumnsReader {
  const { bytes, buffer, base, view, count, stringWidth, layout, stringCount, textStart } =
    checkedBlock(block);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const strings = decodeStrings(bytes, view, layout.stringsAt + 4, stringCount, textStart, decoder);

  // Records read straight from typed-array views of the block (no copies),
  // so a decoded block costs little more memory than its bytes. String
  // indexes are checked here, once, so building a record cannot fail.
  const raw = new Uint8Array(buffer);
  type Values = Float64Array | Uint32Array | Uint16Array | Uint8Array;
  const values = new Map<keyof PacketRecord, Values>();
  const bitmaps = new Map<keyof PacketRecord, number>();
  COLUMNS.forEach((column, c) => {
    const view = valueArray(buffer, column.storage, stringWidth, base + layout.values[c], count);
    const bitmap = layout.bitmaps[c] >= 0 ? base + layout.bitmaps[c] : -1;
    if (column.storage === "string" && !options.checked) {
      checkStringIndexes(column, view, raw, bitmap, stringCount);
    }
    values.set(column.name, view);
    bitmaps.set(column.name, bitmap);
  });
  const v = (name: keyof PacketRecord) => values.get(name)!;
  const b = (name: keyof PacketRecord) => bitmaps.get(name)!;
  const has = (bitmap: number, i: number) =>
    bitmap < 0 || (raw[bitmap + (i >> 3)] & (1 << (i & 7))) !== 0;
  const num = (column: Values, bitmap: number, i: number) => has(bitmap, i) ? column[i] : null;
  const str = (column: Values, bitmap: number, i: number) =>
    has(bitmap, i) ? strings[column[i]] : null;

  const timestamp = v("timestamp") as Float64Array;
  const iface = v("interface"), protocol = v("protocol"), length = v("length");
  const caplen = v("caplen"), payloadLength = v("payload_length");
  const moreFragments = v("more_fragments"), dontFragment = v("dont_fragment");
  const isFragment = v("is_fragment"), malformed = v("malformed");
  const srcIp = v("src_ip"), srcIpB = b("src_ip"), dstIp = v("dst_ip"), dstIpB = b("dst_ip");
  const srcPort = v("src_port"), srcPortB = b("src_port");
  const dstPort = v("dst_port"), dstPortB = b("dst_port");
  const linkType = v("link_type"), linkTypeB = b("link_type");
  const ethSrc = v("eth_src"),
    ethSrcB = b("eth_src"),
    ethDst = v("eth_dst"),
    ethDstB = b("eth_dst");
  const etherType = v("ether_type"), etherTypeB = b("ether_type");
  const vlanId = v("vlan_id"), vlanIdB = b("vlan_id");
  const vlanInnerId = v("vlan_inner_id"), vlanInnerIdB = b("vlan_inner_id");
  const ipVersion = v("ip_version"), ipVersionB = b("ip_version");
  const ipProto = v("ip_proto"), ipProtoB = b("ip_proto"), ttl = v("ttl"), ttlB = b("ttl");
  const ipId = v("ip_id"), ipIdB = b("ip_id"), ipTos = v("ip_tos"), ipTosB = b("ip_tos");
  const ipHeaderLength = v("ip_header_length"), ipHeaderLengthB = b("ip_header_length");
  const ipFlowLabel = v("ip_flow_label"), ipFlowLabelB = b("ip_flow_label");
  const fragOffset = v("frag_offset"), fragOffsetB = b("frag_offset");
  const tcpSeq = v("tcp_seq"), tcpSeqB = b("tcp_seq"), tcpAck = v("tcp_ack");
  const tcpAckB = b("tcp_ack"), tcpFlags = v("tcp_flags"), tcpFlagsB = b("tcp_flags");
  const tcpWindow = v("tcp_window"), tcpWindowB = b("tcp_window");
  const tcpHeaderLength = v("tcp_header_length"), tcpHeaderLengthB = b("tcp_header_length");
  const icmpType = v("icmp_type"), icmpTypeB = b("icmp_type");
  const icmpCode = v("icmp_code"), icmpCodeB = b("icmp_code");
  const icmpId = v("icmp_id"), icmpIdB = b("icmp_id"), icmpSeq = v("icmp_seq");
  const icmpSeqB = b("icmp_seq"), arpOpcode = v("arp_opcode"), arpOpcodeB = b("arp_opcode");
  const tunnelType = v("tunnel_type"), tunnelTypeB = b("tunnel_type");
  const tunnelSrcIp = v("tunnel_src_ip"), tunnelSrcIpB = b("tunnel_src_ip");
  const tunnelDstIp = v("tunnel_dst_ip"), tunnelDstIpB = b("tunnel_dst_ip");
  const tunnelId = v("tunnel_id"), tunnelIdB = b("tunnel_id"), tunnelDepth = v("tunnel_depth");
  const malformedReason = v("malformed_reason"), malformedReasonB = b("malformed_reason");
  const data = v("data"), dataB = b("data");
  // Only the app-layer columns with a value in this block are read per
  // record; the rest are set to null by name (see clearAppFields).
  const appColumns = APP_RECORD_FIELD_NAMES.map((name) => ({
    name,
    values: v(name),
    bitmap: b(name),
    text: COLUMNS[COLUMN_INDEX.get(name)!].storage === "string",
  })).filter((column) => anyPresent(raw, column.bitmap, count));

  // Writes every field, so a target of any record's shape ends up the same.
  const recordInto = (i: number, target: PacketRecord): PacketRecord => {
    // Presence tested inline against the record's bitmap byte and bit: a call
    // to a shared helper per field (60 a record) was most of this function's
    // time, V8 not inlining them into a function this long.
    const byte = i >> 3;
    const bit = 1 << (i & 7);
    target.timestamp = timestamp[i];
    target.interface = strings[iface[i]];
    target.src_ip = srcIpB < 0 || (raw[srcIpB + byte] & bit) !== 0 ? strings[srcIp[i]] : null;
    target.dst_ip = dstIpB < 0 || (raw[dstIpB + byte] & bit) !== 0 ? strings[dstIp[i]] : null;
    target.protocol = strings[protocol[i]];
    target.src_port = srcPortB < 0 || (raw[srcPortB + byte] & bit) !== 0 ? srcPort[i] : null;
    target.dst_port = dstPortB < 0 || (raw[dstPortB + byte] & bit) !== 0 ? dstPort[i] : null;
    target.length = length[i];
    target.caplen = caplen[i];
    target.link_type = linkTypeB < 0 || (raw[linkTypeB + byte] & bit) !== 0 ? linkType[i] : null;
    target.eth_src = ethSrcB < 0 || (raw[ethSrcB + byte] & bit) !== 0 ? strings[ethSrc[i]] : null;
    target.eth_dst = ethDstB < 0 || (raw[ethDstB + byte] & bit) !== 0 ? strings[ethDst[i]] : null;
    target.ether_type = etherTypeB < 0 || (raw[etherTypeB + byte] & bit) !== 0
      ? etherType[i]
      : null;
    target.vlan_id = vlanIdB < 0 || (raw[vlanIdB + byte] & bit) !== 0 ? vlanId[i] : null;
    target.vlan_inner_id = vlanInnerIdB < 0 || (raw[vlanInnerIdB + byte] & bit) !== 0
      ? vlanInnerId[i]
      : null;
    target.ip_version = ipVersionB < 0 || (raw[ipVersionB + byte] & bit) !== 0
      ? ipVersion[i]
      : null;
    target.ip_proto = ipProtoB < 0 || (raw[ipProtoB + byte] & bit) !== 0 ? ipProto[i] : null;
    target.ttl = ttlB < 0 || (raw[ttlB + byte] & bit) !== 0 ? ttl[i] : null;
    target.ip_id = ipIdB < 0 || (raw[ipIdB + byte] & bit) !== 0 ? ipId[i] : null;
    target.ip_tos = ipTosB < 0 || (raw[ipTosB + byte] & bit) !== 0 ? ipTos[i] : null;
    target.ip_header_length = ipHeaderLengthB < 0 || (raw[ipHeaderLengthB + byte] & bit) !== 0
      ? ipHeaderLength[i]
      : null;
    target.ip_flow_label = ipFlowLabelB < 0 || (raw[ipFlowLabelB + byte] & bit) !== 0
      ? ipFlowLabel[i]
      : null;
    target.frag_offset = fragOffsetB < 0 || (raw[fragOffsetB + byte] & bit) !== 0
      ? fragOffset[i]
      : null;
    target.more_fragments = moreFragments[i] === 1;
    target.dont_fragment = dontFragment[i] === 1;
    target.is_fragment = isFragment[i] === 1;
    target.tcp_seq = tcpSeqB < 0 || (raw[tcpSeqB + byte] & bit) !== 0 ? tcpSeq[i] : null;
    target.tcp_ack = tcpAckB < 0 || (raw[tcpAckB + byte] & bit) !== 0 ? tcpAck[i] : null;
    target.tcp_flags = tcpFlagsB < 0 || (raw[tcpFlagsB + byte] & bit) !== 0 ? tcpFlags[i] : null;
    target.tcp_window = tcpWindowB < 0 || (raw[tcpWindowB + byte] & bit) !== 0
      ? tcpWindow[i]
      : null;
    target.tcp_header_length = tcpHeaderLengthB < 0 || (raw[tcpHeaderLengthB + byte] & bit) !== 0
      ? tcpHeaderLength[i]
      : null;
    target.icmp_type = icmpTypeB < 0 || (raw[icmpTypeB + byte] & bit) !== 0 ? icmpType[i] : null;
    target.icmp_code = icmpCodeB < 0 || (raw[icmpCodeB + byte] & bit) !== 0 ? icmpCode[i] : null;
    target.icmp_id = icmpIdB < 0 || (raw[icmpIdB + byte] & bit) !== 0 ? icmpId[i] : null;
    target.icmp_seq = icmpSeqB < 0 || (raw[icmpSeqB + byte] & bit) !== 0 ? icmpSeq[i] : null;
    target.arp_opcode = arpOpcodeB < 0 || (raw[arpOpcodeB + byte] & bit) !== 0
      ? arpOpcode[i]
      : null;
    target.tunnel_type =
      (tunnelTypeB < 0 || (raw[tunnelTypeB + byte] & bit) !== 0
        ? strings[tunnelType[i]]
        : null) as PacketRecord["tunnel_type"];
    target.tunnel_src_ip = tunnelSrcIpB < 0 || (raw[tunnelSrcIpB + byte] & bit) !== 0
      ? strings[tunnelSrcIp[i]]
      : null;
    target.tunnel_dst_ip = tunnelDstIpB < 0 || (raw[tunnelDstIpB + byte] & bit) !== 0
      ? strings[tunnelDstIp[i]]
      : null;
    target.tunnel_id = tunnelIdB < 0 || (raw[tunnelIdB + byte] & bit) !== 0 ? tunnelId[i] : null;
    target.tunnel_depth = tunnelDepth[i];
    target.payload_length = payloadLength[i];
    target.malformed = malformed[i] === 1;
    target.malformed_reason = malformedReasonB < 0 || (raw[malformedReasonB + byte] & bit) !== 0
      ? strings[malformedReason[i]]
      : null;
    target.data = dataB < 0 || (raw[dataB + byte] & bit) !== 0 ? strings[data[i]] : null;
    clearAppFields(target);
    const app = target as unknown as Record<string, string | number | null>;
    for (const column of appColumns) {
      app[column.name] = column.text
        ? str(column.values, column.bitmap, i)
        : num(column.values, column.bitmap, i);
    }
    return target;
  };
  // A copy of the template, then filled: every record has the fields in
  // PACKET_FIELDS order, so all of them share one shape.
  const record = (i: number): PacketRecord => recordInto(i, { ...RECORD_TEMPLATE });
  return { count, timestamps: timestamp, record, recordInto };
}

/** Capture times and record count of a block that {@link checkPacketColumns} found sound. */
export interface CheckedPacketColumns {
  /** Records in the block. */
  readonly count: number;
  /** Capture time of each record, in block order (a view of the block). */
  readonly timestamps: Float64Array;
}

/**
 * Checks a block as {@link readPacketColumns} does, throwing the same
 * {@linkcode PacketColumnsError} for the same blocks, and gives its capture
 * times, without readying its records: a caller that only needs to know the
 * block reads, and when its packets were captured, skips decoding each string
 * of the string table (most of what reading a block costs, issue 15). The
 * table's UTF-8 is checked in one piece, with every string starting on a
 * character: valid as a whole and cut only between characters is valid string
 * by string. Only when that fails are the strings decoded one at a time, to
 * throw the error readPacketColumns throws.
 */
export function checkPacketColumns(block: Uint8Array): CheckedPacketColumns {
  const { bytes, buffer, base, view, count, stringWidth, layout, stringCount, textStart } =
    checkedBlock(block);
  const lengthsAt = layout.stringsAt + 4;
  let textEnd = textStart;
  let cutInCharacter = false;
  for (let s = 0; s < stringCount; s++) {
    // A string starting with a continuation byte would start inside a character.
    if (textEnd < bytes.length && (bytes[textEnd] & 0xc0) === 0x80) cutInCharacter = true;
    textEnd += view.getUint32(lengthsAt + 4 * s, true);
  }
  let valid = !cutInCharacter;
  if (valid) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(textStart, textEnd));
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    decodeStrings(
      bytes,
      view,
      lengthsAt,
      stringCount,
      textStart,
      new TextDecoder("utf-8", {
        fatal: true,
      }),
    );
  }
  const raw = new Uint8Array(buffer);
  COLUMNS.forEach((column, c) => {
    if (column.storage !== "string") return;
    const values = valueArray(buffer, column.storage, stringWidth, base + layout.values[c], count);
    const bitmap = layout.bitmaps[c] >= 0 ? base + layout.bitmaps[c] : -1;
    checkStringIndexes(column, values, raw, bitmap, stringCount);
  });
  const timestamp = COLUMN_INDEX.get("timestamp")!;
  return {
    count,
    timestamps: new Float64Array(buffer, base + layout.values[timestamp], count),
  };
}

/** The header, layout and string table bounds of a block, checked. */
function checkedBlock(block: Uint8Array) {
  assertLittleEndianHost();
  // Typed-array views need aligned offsets: work on a copy that starts at 0.
  const bytes = block.byteOffset % 8 === 0 ? block : block.slice();
  const buffer = bytes.buffer as ArrayBuffer;
  const base = bytes.byteOffset;
  if (bytes.length < HEADER_BYTES) {
    throw new PacketColumnsError(`block of ${bytes.length} bytes is too short`);
  }
  const view = new DataView(buffer, base, bytes.length);
  if (view.getUint32(0, true) !== MAGIC) throw new PacketColumnsError("not a packet column block");
  const layoutId = view.getUint32(4, true);
  if (layoutId !== LAYOUT_ID) {
    throw new PacketColumnsError(
      `block layout ${layoutId.toString(16)} is not this version's ${LAYOUT_ID.toString(16)}`,
    );
  }
  const count = view.getUint32(8, true);
  const stringWidth = view.getUint32(12, true);
  if (stringWidth !== 2 && stringWidth !== 4) {
    throw new PacketColumnsError(`string index width ${stringWidth} is not 2 or 4`);
  }
  const layout = planLayout(count, stringWidth);
  if (layout.stringsAt + 4 > bytes.length) {
    throw new PacketColumnsError(
      `block of ${bytes.length} bytes is too short for ${count} records`,
    );
  }
  const lengthsAt = layout.stringsAt + 4;
  const stringCount = view.getUint32(layout.stringsAt, true);
  if (lengthsAt + 4 * stringCount > bytes.length) {
    throw new PacketColumnsError("string table is truncated");
  }
  const textStart = lengthsAt + 4 * stringCount;
  let textAt = textStart;
  for (let s = 0; s < stringCount; s++) {
    textAt += view.getUint32(lengthsAt + 4 * s, true);
    if (textAt > bytes.length) throw new PacketColumnsError("string table is truncated");
  }
  return { bytes, buffer, base, view, count, stringWidth, layout, stringCount, textStart };
}

/** The string table's strings, one at a time; throws for one that is not UTF-8. */
function decodeStrings(
  bytes: Uint8Array,
  view: DataView,
  lengthsAt: number,
  stringCount: number,
  textStart: number,
  decoder: TextDecoder,
): string[] {
  const strings: string[] = new Array(stringCount);
  // ASCII (addresses, MACs, names: nearly every string) read as Latin-1, the
  // same characters, by offsets into one Buffer: a decoder call on a new
  // subarray per string took five times as long, measured apart.
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let textAt = textStart;
  for (let s = 0; s < stringCount; s++) {
    const length = view.getUint32(lengthsAt + 4 * s, true);
    const end = textAt + length;
    let ascii = true;
    for (let at = textAt; at < end; at++) {
      if (bytes[at] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) strings[s] = latin1.toString("latin1", textAt, end);
    else {
      try {
        strings[s] = decoder.decode(bytes.subarray(textAt, end));
      } catch (error) {
        throw new PacketColumnsError(`string ${s} is not UTF-8`, { cause: error });
      }
    }
    textAt = end;
  }
  return strings;
}

/**
 * Whether any of the `count` records has a value in the column whose presence
 * bitmap starts at `bitmap` (-1: not nullable, always). Reads the bitmap a
 * byte at a time; bits past `count` in its last byte are not looked at.
 */
function anyPresent(raw: Uint8Array, bitmap: number, count: number): boolean {
  if (bitmap < 0) return count > 0;
  const whole = count >> 3;
  for (let at = bitmap; at < bitmap + whole; at++) if (raw[at] !== 0) return true;
  const rest = count & 7;
  return rest !== 0 && (raw[bitmap + whole] & ((1 << rest) - 1)) !== 0;
}

/** Throws for a present value of a string column that indexes past the string table. */
function checkStringIndexes(
  column: Column,
  values: ArrayLike<number>,
  raw: Uint8Array,
  bitmap: number,
  stringCount: number,
): void {
  for (let i = 0; i < values.length; i++) {
    const present = bitmap < 0 || (raw[bitmap + (i >> 3)] & (1 << (i & 7))) !== 0;
    if (present && values[i] >= stringCount) {
      throw new PacketColumnsError(`${column.name}: string index ${values[i]} is out of range`);
    }
  }
}
