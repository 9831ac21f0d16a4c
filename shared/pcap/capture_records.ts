/**
 * A capture file's frames decoded into packet records the way the agent
 * decodes them when it reads a file (`agent/pipeline.ts`): `decodePacket`
 * with the frame's link type, time and wire length, and the configured
 * default `payloadCapture`. Training, test support and benchmarks all read
 * captures through this one loop, so they see what the live system stores.
 *
 * @module
 */

import { configDefault } from "../config.ts";
import { decodePacket, type PayloadCapture } from "../packet/decode_packet.ts";
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
  for await (const batch of readCaptureBatches(source)) {
    yield batch.map((frame) =>
      decodePacket(frame.data, {
        linkType: frame.linkType,
        timestampSec: frame.timestampSec,
        wireLength: frame.wireLength,
        interfaceName: frame.interfaceName ?? interfaceName,
        payloadCapture,
      })
    );
  }
}
