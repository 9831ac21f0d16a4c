/**
 * Which pending batches a pass takes, and in what order: each agent's
 * batches in capture order (issue 10).
 *
 * A batch that carries an order (`BatchOrder`: its stream and the position of
 * its first packet there) is taken only when its stream has reached it: the
 * stream's previous batches were merged. A missing batch (one still in an
 * agent's outbox, or in flight) holds the stream's later batches back, for at
 * most `reorderWaitMs`: counted from when the stream last moved on (a large
 * outbox replayed out of order keeps filling gaps, and keeps its stream
 * waiting for the rest), or from when the first held batch was stored if
 * that is later. Then the pass
 * stops waiting, takes them, and counts a skipped gap; should the missing
 * batch come after all, it is merged late and counted too. A gap that never
 * fills (a batch dropped by the outbox cap, an agent killed with uploads in
 * flight) therefore stalls its stream for that bound, never longer.
 *
 * Batches without an order keep the commit order. Among streams, batches go
 * in commit order too: a batch goes where the last batch it must follow
 * committed, or where it committed itself, whichever is later.
 *
 * Pure: the pass reads the pending batches and the streams' positions, and
 * writes back what this returns, in its own transaction.
 *
 * @module
 */
import type { PendingBatch, PendingBatches, StreamPosition } from "@traffic-analyzer/shared/db";

/** Options for {@link selectPassBatches}. */
export interface SelectPassBatchesOptions {
  /** The watermark the pending batches follow. */
  afterBatchId: number;
  /** The ingest horizon the pending batches were read up to. */
  horizon: number;
  /** Stop after this many records (whole batches; at least one batch). */
  maxRecords: number;
  /** Stop after this many batches. */
  maxBatches: number;
  /** REORDER_WAIT: longest a gap in a stream holds its later batches back. */
  reorderWaitMs: number;
}

/** What a pass takes and records. */
export interface PassBatchSelection {
  /** The batches to merge, in merge order. */
  batches: PendingBatch[];
  /** The new watermark: every batch up to it is aggregated after this pass. */
  watermark: number;
  /** Batches taken above the new watermark, to mark as aggregated. */
  markAggregated: number[];
  /** Where the streams this pass moved stand after it. */
  positions: StreamPosition[];
  /** Batches taken after a later batch of their stream was merged. */
  lateBatches: number;
  /** Gaps this pass stopped waiting for. */
  skippedGaps: number;
  /** Batches held back behind a gap that is still within its wait. */
  held: number;
  /** More batches were ready than this pass takes: run the next one at once. */
  more: boolean;
}

interface Stream {
  agentId: string;
  stream: string;
  next: number;
  sinceMovedMs: number;
  batches: PendingBatch[];
}

const streamKey = (agentId: string, stream: string) => `${agentId}\u0000${stream}`;

/** Selects the batches of one pass; see the module comment. */
export function selectPassBatches(
  pending: PendingBatches | PendingBatch[],
  known: readonly StreamPosition[],
  options: SelectPassBatchesOptions,
): PassBatchSelection {
  const positions = new Map<string, number>();
  const sinceMoved = new Map<string, number>();
  for (const p of known) {
    const key = streamKey(p.agentId, p.stream);
    positions.set(key, p.nextSequence);
    sinceMoved.set(key, p.sinceMovedMs ?? Infinity);
  }

  // Each batch that may go now, with the commit position it must wait for.
  const eligible: { batch: PendingBatch; after: number; rank: number }[] = [];
  const streams = new Map<string, Stream>();
  for (const batch of pending) {
    if (batch.stream === null || batch.sequence === null) {
      eligible.push({ batch, after: batch.id, rank: 0 });
      continue;
    }
    const key = streamKey(batch.agentId, batch.stream);
    let stream = streams.get(key);
    if (stream === undefined) {
      // A stream never merged before starts at its first packet.
      streams.set(
        key,
        stream = {
          agentId: batch.agentId,
          stream: batch.stream,
          next: positions.get(key) ?? 0,
          sinceMovedMs: sinceMoved.get(key) ?? Infinity,
          batches: [],
        },
      );
    }
    stream.batches.push(batch);
  }

  let held = 0;
  for (const stream of streams.values()) {
    const batches = stream.batches.sort((a, b) => a.sequence! - b.sequence! || a.id - b.id);
    let next = stream.next;
    let after = 0;
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i];
      if (batch.sequence! > next) {
        // A gap: wait for it while the batches behind it (and the stream's
        // last step) are recent enough.
        let oldestMs = 0;
        for (let j = i; j < batches.length; j++) oldestMs = Math.max(oldestMs, batches[j].ageMs);
        const sinceMovedMs = next > stream.next ? 0 : stream.sinceMovedMs;
        if (Math.min(oldestMs, sinceMovedMs) < options.reorderWaitMs) {
          held += batches.length - i;
          break;
        }
      }
      after = Math.max(after, batch.id);
      eligible.push({ batch, after, rank: i });
      next = Math.max(next, batch.sequence! + batch.recordCount);
    }
  }
  // Commit order, each stream's batches after their predecessors (a rank
  // breaks ties only within one stream: `after` is one of its batches' ids).
  eligible.sort((a, b) => a.after - b.after || a.rank - b.rank);

  const batches: PendingBatch[] = [];
  let records = 0;
  let cut = false;
  for (const { batch } of eligible) {
    if (
      batches.length >= options.maxBatches ||
      (batches.length > 0 && records + batch.recordCount > options.maxRecords)
    ) {
      cut = true;
      break;
    }
    batches.push(batch);
    records += batch.recordCount;
  }

  // Where the streams end up, from what is actually taken.
  let lateBatches = 0;
  let skippedGaps = 0;
  const moved = new Map<string, StreamPosition>();
  for (const batch of batches) {
    if (batch.stream === null || batch.sequence === null) continue;
    const key = streamKey(batch.agentId, batch.stream);
    let position = moved.get(key);
    if (position === undefined) {
      position = {
        agentId: batch.agentId,
        stream: batch.stream,
        nextSequence: positions.get(key) ?? 0,
      };
      moved.set(key, position);
    }
    if (batch.sequence < position.nextSequence) lateBatches++;
    else if (batch.sequence > position.nextSequence) skippedGaps++;
    position.nextSequence = Math.max(
      position.nextSequence,
      batch.sequence + batch.recordCount,
    );
  }

  const taken = new Set(batches.map((b) => b.id));
  let firstLeft: number | null = null;
  for (const batch of pending) {
    if (!taken.has(batch.id)) {
      firstLeft = batch.id;
      break;
    }
  }
  const truncated = "truncated" in pending && pending.truncated;
  const reached = firstLeft !== null
    ? firstLeft - 1
    : truncated
    ? pending.at(-1)!.id
    : options.horizon;
  const watermark = Math.max(options.afterBatchId, reached);
  return {
    batches,
    watermark,
    markAggregated: batches.filter((b) => b.id > watermark).map((b) => b.id),
    positions: [...moved.values()],
    lateBatches,
    skippedGaps,
    held,
    more: cut || truncated,
  };
}
