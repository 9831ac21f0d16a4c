/**
 * Test support: a capture file's packets stored as ingest
 * batches, or its flows' feature vectors, decoded the way the agent decodes
 * them, so tests run real passes and real scoring over real traffic.
 *
 * @module
 */
import { type Sql, storePacketBatch } from "@traffic-analyzer/shared/db";
import { flowFeatureVector, type FlowRecord, FlowTable } from "@traffic-analyzer/shared/flow";
import { captureRecords } from "@traffic-analyzer/shared/pcap";

/** The feature vectors of the capture's flows, built as the aggregator builds them. */
export async function captureFeatureVectors(path: string): Promise<Float32Array[]> {
  const table = new FlowTable();
  const flows: FlowRecord[] = [];
  for await (const records of captureRecords(path)) flows.push(...table.merge(records).ended);
  flows.push(...table.drain());
  return flows.map((f) => flowFeatureVector(f));
}

/** Stores every frame of the capture at `path` as agent `agentId`'s batches; returns the batch count. */
export async function storeCapture(sql: Sql, path: string, agentId: string): Promise<number> {
  let batch = 0;
  for await (const records of captureRecords(path)) {
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
