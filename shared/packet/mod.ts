/**
 * Packet decoding: captured frames (Ethernet with VLAN tags, Linux cooked
 * SLL/SLL2, raw IP, BSD loopback) into the {@linkcode PacketRecord} every
 * component shares. The encoder that builds frames from fields
 * (`packet_encoder.ts`) serves property tests, benchmarks and the pcap export
 * (`./packet/record_frame`) from its own file, and is not part of this API.
 *
 * @example
 * ```ts
 * import { decodePacket, LINKTYPE_ETHERNET } from "./mod.ts";
 * const record = decodePacket(frame, {
 *   linkType: LINKTYPE_ETHERNET,
 *   timestampSec: 1700000000.25,
 *   payloadCapture: "headers",
 * });
 * ```
 *
 * @module
 */

export * from "./packet_record.ts";
export {
  type CheckedPacketColumns,
  checkPacketColumns,
  decodePacketColumns,
  encodePacketColumns,
  PacketColumnsError,
  type PacketColumnsReader,
  readPacketColumns,
  type ReadPacketColumnsOptions,
} from "./packet_columns.ts";
export * from "./columnar_batch.ts";
export {
  type AppendHeadersOptions,
  ColumnarBatchBuilder,
  HEADER_FIELDS,
  type ScannedJsonRow,
} from "./columnar_batch_builder.ts";
export { columnArrayBuffers, type ColumnArrays, type DetachedBatch } from "./detached_batch.ts";
export {
  ColumnarBatchBuilderPool,
  type ColumnarBatchBuilderPoolOptions,
} from "./columnar_batch_builder_pool.ts";
export {
  COLUMN_INDEX,
  type ColumnSpec,
  type ColumnStorage,
  type NumericStorage,
  PACKET_COLUMNS,
} from "./packet_column_layout.ts";
export type { FieldKind, FieldSpec, RecordIssue } from "./packet_schema.ts";
export { describeArrowSchema, PACKET_ARROW_SCHEMA } from "./arrow_schema.ts";
export { arrowRecordBatch, encodeArrowBatch, withArrowBatch } from "./arrow_batch_writer.ts";
export {
  type ArrowBatchResult,
  readArrowBatch,
  type ReadArrowBatchOptions,
} from "./arrow_batch_reader.ts";
export { type JsonBatchResult, readJsonBatch } from "./json_batch_reader.ts";
export { scanJsonBatch, type ScanJsonBatchOptions } from "./json_batch_scanner.ts";
export { registerArrowCodecs } from "./arrow_codecs.ts";
export { zstdFrameContentSize } from "./zstd_frame_content_size.ts";
export { type DecodeOptions, decodePacket, type PayloadCapture } from "./decode_packet.ts";
export { decodeHeaders, type DecodeHeadersOptions } from "./decode_headers.ts";
export { PacketHeaders } from "./packet_headers.ts";
export { formatIpv4, formatIpv6, formatMac } from "./address_format.ts";
export { parseIp, parseIpInto } from "./address_parse.ts";
export * from "./link_types.ts";
export * from "./ether_types.ts";
export * from "./ip_protocols.ts";
