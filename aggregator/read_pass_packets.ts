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
  type PendingBatch,
  readBatchPackets,
  readStoredBatchPacketColumns,
  type Sql,
} from "@traffic-analyzer/shared/db";
import type { FlowPacket } from "@traffic-analyzer/shared/flow";
import {
  checkPacketColumns,
  PacketColumnsError,
  type PacketRecord,
  readPacketColumns,
} from "@traffic-analyzer/shared/packet";
import {
  inflateStoredPacketColumns,
  StoredPacketColumnsError,
} from "../shared/packet/stored_packet_columns.ts";

/** Options for {@link readPassPackets}. */
export interface ReadPassPacketsOptions {
  /** The batches, in the order the pass merges them (ties in capture time go to the earlier). */
  batches: readonly Pick<PendingBatch, "id" | "agentId">[];
}

/** What a pass read. */
export interface PassPackets {
  /** Packets in all. */
  readonly count: number;
  /** Batches read from `raw_packets` rows for want of a usable block. */
  readonly batchesFromRows: number;
  /**
   * The packets in capture-time order, `size` at a time. Each record is built
   * when its slice is, so a pass holds one slice of records at a time rather
   * than every packet it read. Each record names the agent of its batch
   * (`agent_id`). The record objects of a slice are reused for
   * the next one (a pass merges millions of packets, and allocating each
   * record anew was most of its garbage): be done with a slice's records,
   * and keep none of them, before taking the next.
   */
  slices(size: number): Generator<FlowPacket[]>;
}

/** A batch's records, while the merge takes them. */
interface BatchRecords {
  record(index: number): PacketRecord;
  /** Record `index` written into `target` (a record no longer used). */
  recordInto(index: number, target: PacketRecord): PacketRecord;
}

/** One batch's packets, built on demand. */
interface BatchSource {
  /** The agent that sent the batch, given to each of its packets. */
  agent: string;
  count: number;
  /** Capture times (a copy: it keeps no decompressed block alive). */
  timestamps: Float64Array;
  /**
   * The batch's records: a block is decompressed again here, when the merge
   * takes the batch's first packet, and dropped after its last (issue 15:
   * a pass holding every block of its batches decompressed grew with the
   * packets it took).
   */
  open(): BatchRecords;
  /** While the merge takes the batch's packets; null before and after. */
  records: BatchRecords | null;
  /** Positions in capture-time order (stable); null when already in order. */
  order: Uint32Array | null;
}

/**
 * A stored block's records; throws what decompressing or reading it throws.
 * The block passed checkPacketColumns when the pass read it (the same bytes,
 * decompressed the same way), so its string indexes are not checked again.
 */
function openBlock(stored: Uint8Array): BatchRecords & { count: number; timestamps: Float64Array } {
  return readPacketColumns(inflateStoredPacketColumns(stored), { checked: true });
}

/** Reads the packets of a pass's batches. */
export async function readPassPackets(
  tx: Sql,
  options: ReadPassPacketsOptions,
): Promise<PassPackets> {
  const { batches } = options;
  const blocks = await readStoredBatchPacketColumns(tx, batches.map((batch) => batch.id));
  const sources = new Map<number, BatchSource>();
  const missing: number[] = [];
  for (const batch of batches) {
    const stored = blocks.get(batch.id);
    blocks.delete(batch.id);
    if (stored === undefined) {
      missing.push(batch.id);
      continue;
    }
    try {
      // Decompressed once here for the times (and to find a block that does
      // not read), then again while it merges: holding only the stored block
      // between the two keeps a pass's memory flat in its size. Here it is
      // only checked, as strictly as reading it checks, without decoding
      // its strings (issue 15).
      const { count, timestamps } = checkPacketColumns(inflateStoredPacketColumns(stored));
      sources.set(batch.id, {
        agent: batch.agentId,
        count,
        timestamps: timestamps.slice(),
        open: () => openBlock(stored),
        records: null,
        order: null,
      });
    } catch (error) {
      if (!(error instanceof PacketColumnsError || error instanceof StoredPacketColumnsError)) {
        throw error;
      }
      missing.push(batch.id);
    }
  }
  if (missing.length > 0) {
    const agents = new Map(batches.map((batch) => [batch.id, batch.agentId]));
    const rowsByBatch = new Map<number, PacketRecord[]>();
    for (
      const { id: _id, batch_id, agent_id: _a, received_at: _r, ...record }
        of await readBatchPackets(
          tx,
          missing,
        )
    ) {
      let rows = rowsByBatch.get(batch_id);
      if (rows === undefined) rowsByBatch.set(batch_id, rows = []);
      rows.push(record);
    }
    for (const [batchId, rows] of rowsByBatch) {
      const records: BatchRecords = {
        record: (index) => rows[index],
        recordInto: (index, target) => Object.assign(target, rows[index]),
      };
      sources.set(batchId, {
        agent: agents.get(batchId)!,
        count: rows.length,
        timestamps: Float64Array.from(rows, (row) => row.timestamp),
        open: () => records,
        records: null,
        order: null,
      });
    }
  }
  // Batch order; a stable order by capture time within each batch.
  const ordered: BatchSource[] = [];
  let count = 0;
  for (const batch of batches) {
    const source = sources.get(batch.id);
    if (source === undefined || source.count === 0) continue;
    source.order = stableTimeOrder(source.timestamps);
    ordered.push(source);
    count += source.count;
  }
  return {
    count,
    batchesFromRows: missing.length,
    slices: (size) => inCaptureTimeOrder(ordered, size),
  };
}

/** Positions sorted stably by time, or null when the times are already in order. */
function stableTimeOrder(timestamps: Float64Array): Uint32Array | null {
  for (let i = 1; i < timestamps.length; i++) {
    if (timestamps[i] < timestamps[i - 1]) {
      return Uint32Array.from(
        Array.from(timestamps.keys()).sort((a, b) => timestamps[a] - timestamps[b] || a - b),
      );
    }
  }
  return null;
}

/**
 * Merges the batches' packets by capture time; ties go to the earlier batch,
 * then to the earlier packet of the batch: the order a stable sort of all
 * packets, concatenated in batch order, would give.
 */
function* inCaptureTimeOrder(sources: BatchSource[], size: number): Generator<FlowPacket[]> {
  const at = new Uint32Array(sources.length);
  const position = (s: number) => {
    const order = sources[s].order;
    return order === null ? at[s] : order[at[s]];
  };
  const time = (s: number) => sources[s].timestamps[position(s)];
  const pool: FlowPacket[] = [];
  let slice: FlowPacket[] = [];
  const take = (s: number): FlowPacket => {
    const k = slice.length;
    const reused = pool[k];
    const records = sources[s].records ??= sources[s].open();
    const record: FlowPacket = reused === undefined
      ? records.record(position(s))
      : records.recordInto(position(s), reused);
    record.agent_id = sources[s].agent;
    pool[k] = record;
    return record;
  };

  // Usual case (one agent, or agents taking turns): each batch starts where
  // the previous one ended, and the batches simply follow one another.
  let consecutive = true;
  for (let s = 1; s < sources.length && consecutive; s++) {
    const previous = sources[s - 1];
    const lastOfPrevious = previous.timestamps[
      previous.order === null ? previous.count - 1 : previous.order[previous.count - 1]
    ];
    consecutive = time(s) >= lastOfPrevious;
  }
  if (consecutive) {
    for (let s = 0; s < sources.length; s++) {
      for (; at[s] < sources[s].count; at[s]++) {
        slice.push(take(s));
        if (slice.length === size) {
          yield slice;
          slice = [];
        }
      }
      // The records of the slice being filled are copies (or rows): done with the block.
      sources[s].records = null;
    }
    if (slice.length > 0) yield slice;
    return;
  }

  // Otherwise a k-way merge over a binary heap of batches, keyed by the time
  // of each batch's next packet, ties by batch order.
  const before = (a: number, b: number) => {
    const ta = time(a);
    const tb = time(b);
    return ta < tb || (ta === tb && a < b);
  };
  const heap = sources.map((_, s) => s);
  const down = (from: number) => {
    let i = from;
    while (true) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l], heap[m])) m = l;
      if (r < heap.length && before(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  while (heap.length > 0) {
    const s = heap[0];
    slice.push(take(s));
    if (slice.length === size) {
      yield slice;
      slice = [];
    }
    at[s]++;
    if (at[s] === sources[s].count) {
      sources[s].records = null;
      const tail = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = tail;
    }
    down(0);
  }
  if (slice.length > 0) yield slice;
}
