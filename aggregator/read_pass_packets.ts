/**
 * The packets of the batches one pass takes, in capture-time order.
 *
 * Each batch normally comes as its packet column block (written at ingest,
 * see shared/packet/packet_columns.ts); a batch without one (stored before
 * blocks existed) or with a block of another layout is read from its
 * `raw_packets` rows instead. Both give the same records, and ties in
 * capture time are broken the same way: batch order, then order within the
 * batch.
 *
 * @module
 */
import {
  readBatchPacketColumns,
  readBatchPackets,
  type ReadyBatch,
  type Sql,
} from "@traffic-analyzer/shared/db";
import {
  decodePacketColumns,
  PacketColumnsError,
  type PacketRecord,
} from "@traffic-analyzer/shared/packet";

/** Options for {@link readPassPackets}. */
export interface ReadPassPacketsOptions {
  /** The watermark the batches follow. */
  afterBatchId: number;
  /** The batches, in id order, contiguous after the watermark. */
  batches: readonly ReadyBatch[];
}

/** What a pass read. */
export interface PassPackets {
  /** Every packet of the batches, by capture time. */
  packets: PacketRecord[];
  /** Batches read from `raw_packets` rows for want of a usable block. */
  batchesFromRows: number;
}

/** Reads the packets of a pass's batches. */
export async function readPassPackets(
  tx: Sql,
  options: ReadPassPacketsOptions,
): Promise<PassPackets> {
  const { batches } = options;
  const last = batches.at(-1);
  if (last === undefined) return { packets: [], batchesFromRows: 0 };
  const blocks = await readBatchPacketColumns(tx, {
    afterBatchId: options.afterBatchId,
    lastBatchId: last.id,
  });
  const perBatch = new Map<number, PacketRecord[]>();
  const missing: number[] = [];
  for (const batch of batches) {
    const block = blocks.get(batch.id);
    if (block === undefined) {
      missing.push(batch.id);
      continue;
    }
    try {
      perBatch.set(batch.id, decodePacketColumns(block));
    } catch (error) {
      if (!(error instanceof PacketColumnsError)) throw error;
      missing.push(batch.id);
    }
  }
  if (missing.length > 0) {
    for (
      const { id: _id, batch_id, agent_id: _a, received_at: _r, ...record }
        of await readBatchPackets(tx, missing)
    ) {
      let records = perBatch.get(batch_id);
      if (records === undefined) perBatch.set(batch_id, records = []);
      records.push(record);
    }
  }
  // Batch order, then a stable sort by capture time: ties keep batch order
  // and the order within the batch, whichever way the batch was read.
  const packets: PacketRecord[] = [];
  for (const batch of batches) {
    const records = perBatch.get(batch.id);
    if (records !== undefined) { for (const record of records) packets.push(record); }
  }
  return { packets: sortByCaptureTime(packets), batchesFromRows: missing.length };
}

/** Sorts in place, stably, by timestamp; skips the sort when already in order (the usual case for one agent). */
function sortByCaptureTime(packets: PacketRecord[]): PacketRecord[] {
  for (let i = 1; i < packets.length; i++) {
    if (packets[i].timestamp < packets[i - 1].timestamp) {
      return packets.sort((a, b) => a.timestamp - b.timestamp);
    }
  }
  return packets;
}
