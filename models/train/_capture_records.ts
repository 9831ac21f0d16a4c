/**
 * Decodes a capture file into packet records the way the agent does
 * (`agent/pipeline.ts`): `decodePacket` with the frame's link type, time and
 * wire length, and the agent's default `payloadCapture`.
 *
 * @module
 */

import { CONFIG_SPECS } from "@traffic-analyzer/shared/config";
import {
  decodePacket,
  type PacketRecord,
  type PayloadCapture,
} from "@traffic-analyzer/shared/packet";
import { type CaptureSource, readCaptureBatches } from "@traffic-analyzer/shared/pcap";

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
   * @default {the agent's PAYLOAD_CAPTURE default in shared/config.ts: what the live system stores}
   */
  payloadCapture?: PayloadCapture;
}

/** The agent's default for `payloadCapture`, read from the one place it is defined. */
export function livePayloadCapture(): PayloadCapture {
  const value = CONFIG_SPECS.find((s) => s.key === "payloadCapture")?.default;
  if (value !== "full" && value !== "headers" && value !== "none") {
    throw new Error(
      `Cannot find the agent's payloadCapture default in shared/config.ts: found ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

/** Yields the capture's packets as records, one batch per batch of frames, in file order. */
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
  const payloadCapture = options.payloadCapture ?? livePayloadCapture();
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
