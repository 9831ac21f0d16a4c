/**
 * A capture file's frames decoded into packet records the way the agent
 * decodes them when it reads a file (`agent/pipeline.ts`): `decodeHeaders`
 * once per frame (with the frame's link type, time and wire length), the
 * record `decodePacket` would make of those headers with the configured
 * default `payloadCapture`, and, when asked, the app-layer fields from the
 * same headers. Training, test support and benchmarks all read
 * captures through this one loop, so they see what the live system stores.
 *
 * @module
 */

import { HeaderAppExtractor } from "../app_layer/header_app_extractor.ts";
import { configDefault } from "../config.ts";
import { decodeHeaders } from "../packet/decode_headers.ts";
import {
  type DecodeOptions,
  packetRecordOfHeaders,
  type PayloadCapture,
} from "../packet/decode_packet.ts";
import { PacketHeaders } from "../packet/packet_headers.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { type CaptureSource, readCaptureBatches } from "./capture_reader.ts";

/** Options for {@linkcode captureRecords}. */
export interface CaptureRecordsOptions {
  /**
   * Interface name put on records whose frame names none (classic pcap), as
   * the agent does when it reads a file.
   * @default {"capture"}
   */
  interfaceName?: string;
  /**
   * What each record keeps of the captured bytes. The flow table reads them
   * only to match ICMP errors to the flow they quote.
   * @default {the PAYLOAD_CAPTURE default in shared/config.ts: what the live system stores}
   */
  payloadCapture?: PayloadCapture;
  /**
   * Extract application-layer metadata as the agent does with
   * `APP_METADATA=on` (DNS, TLS, QUIC, HTTP, SSH, DHCP fields on the
   * records). Off by default: the model's features do not read them, and
   * extraction costs time; a feature study turns it on.
   * @default {false}
   */
  appMetadata?: boolean;
}

/**
 * Yields the capture's packets as records, one batch per batch of frames, in file order.
 *
 * @example
 * ```ts
 * for await (const records of captureRecords("models/captures/demo.pcap")) {
 *   console.log(records.length);
 * }
 * ```
 */
export async function* captureRecords(
  source: CaptureSource,
  options: CaptureRecordsOptions = {},
): AsyncGenerator<PacketRecord[]> {
  const interfaceName = options.interfaceName ?? "capture";
  if (typeof interfaceName !== "string" || interfaceName.length === 0) {
    throw new RangeError(
      `Cannot decode the capture as 'interfaceName' must be a non-empty string: current value is ${
        JSON.stringify(interfaceName)
      }`,
    );
  }
  const payloadCapture = options.payloadCapture ?? configDefault("payloadCapture");
  // As in agent/pipeline.ts: the extractor reads the frame before
  // payloadCapture cuts it, and its state (split ClientHellos) lives for the file.
  const extractor = options.appMetadata ? new HeaderAppExtractor() : null;
  const headers = new PacketHeaders();
  const decodeOptions: DecodeOptions = {
    linkType: 0,
    timestampSec: 0,
    wireLength: 0,
    interfaceName,
    payloadCapture,
  };
  for await (const batch of readCaptureBatches(source)) {
    const records: PacketRecord[] = [];
    for (const frame of batch) {
      // One decode per frame: the record and the extractor read the same headers.
      decodeOptions.linkType = frame.linkType;
      decodeOptions.timestampSec = frame.timestampSec;
      decodeOptions.wireLength = frame.wireLength;
      decodeOptions.interfaceName = frame.interfaceName ?? interfaceName;
      decodeHeaders(frame.data, decodeOptions, headers);
      const record = packetRecordOfHeaders(frame.data, headers, decodeOptions);
      if (extractor !== null) {
        const found = extractor.extract(frame.data, headers);
        const app = found instanceof Promise ? await found : found;
        if (app !== null) Object.assign(record, app);
      }
      records.push(record);
    }
    yield records;
  }
}
