/**
 * Decodes a capture file into packet records the way the agent does
 * (`agent/pipeline.ts`): `decodePacket` with the frame's link type, time and
 * wire length, and the agent's default `payloadCapture`.
 *
 * @module
 */

import { CONFIG_SPECS } from "@traffic-analyzer/shared/config";
import { HeaderAppExtractor } from "@traffic-analyzer/shared/app_layer";
import {
  decodeHeaders,
  decodePacket,
  PacketHeaders,
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
  /**
   * Extract application-layer metadata as the agent does with
   * `APP_METADATA=on` (DNS, TLS, QUIC, HTTP, SSH, DHCP fields on the
   * records). Off by default: the model's features do not read them, and
   * extraction costs time; a feature study turns it on.
   * @default {false}
   */
  appMetadata?: boolean;
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
  // As in agent/pipeline.ts: the extractor reads the frame before
  // payloadCapture cuts it, and its state (split ClientHellos) lives for the file.
  const extractor = options.appMetadata ? new HeaderAppExtractor() : null;
  const headers = new PacketHeaders();
  for await (const batch of readCaptureBatches(source)) {
    const records: PacketRecord[] = [];
    for (const frame of batch) {
      const record = decodePacket(frame.data, {
        linkType: frame.linkType,
        timestampSec: frame.timestampSec,
        wireLength: frame.wireLength,
        interfaceName: frame.interfaceName ?? interfaceName,
        payloadCapture,
      });
      if (extractor !== null) {
        decodeHeaders(
          frame.data,
          { linkType: frame.linkType, wireLength: frame.wireLength },
          headers,
        );
        const found = extractor.extract(frame.data, headers);
        const app = found instanceof Promise ? await found : found;
        if (app !== null) Object.assign(record, app);
      }
      records.push(record);
    }
    yield records;
  }
}
