/**
 * Capture files: streaming readers for pcap and pcapng (format detected by
 * magic), their frames decoded into packet records as the agent decodes
 * them, and a pcap writer for exports.
 *
 * @example
 * ```ts
 * import { readCapture } from "./mod.ts";
 * for await (const frame of readCapture("capture.pcapng")) {
 *   console.log(frame.timestampNs, frame.linkType, frame.caplen);
 * }
 * ```
 *
 * @module
 */

export type { CaptureFileFrame } from "./capture_file_frame.ts";
export { captureRecords, type CaptureRecordsOptions } from "./capture_records.ts";
export {
  type CaptureByteReader,
  type CaptureFormat,
  type CaptureSource,
  detectCaptureFormat,
  readCapture,
  readCaptureBatches,
  readCaptureBytes,
  readCaptureBytesBatches,
  type ReadCaptureOptions,
} from "./capture_reader.ts";
export { PcapFormatError, type PcapFormatErrorOptions } from "./pcap_format_error.ts";
export {
  encodePcap,
  type PcapByteWriter,
  PcapWriter,
  type PcapWriterFrame,
  type PcapWriterOptions,
} from "./pcap_writer.ts";
