/**
 * Test support: stores a capture file's packets as ingest batches, decoded
 * the way the agent decodes them, so a test can run real aggregation passes
 * over real traffic.
 *
 * @module
 */
import { CONFIG_SPECS } from "@traffic-analyzer/shared/config";
import { type Sql, storePacketBatch } from "@traffic-analyzer/shared/db";
import { decodePacket, type PayloadCapture } from "@traffic-analyzer/shared/packet";
import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";

/** Stores every frame of the capture at `path` as agent `agentId`'s batches; returns the batch count. */
export async function storeCapture(sql: Sql, path: string, agentId: string): Promise<number> {
  const payloadCapture = CONFIG_SPECS.find((s) => s.key === "payloadCapture")!
    .default as PayloadCapture;
  let batch = 0;
  for await (const frames of readCaptureBatches(path)) {
    const records = frames.map((frame) =>
      decodePacket(frame.data, {
        linkType: frame.linkType,
        timestampSec: frame.timestampSec,
        wireLength: frame.wireLength,
        interfaceName: frame.interfaceName ?? "capture",
        payloadCapture,
      })
    );
    batch++;
    await storePacketBatch(sql, {
      agentId,
      idempotencyKey: `${agentId}-${batch}`,
      bodySha256: `${agentId}-${batch}`,
      records,
    });
  }
  return batch;
}
