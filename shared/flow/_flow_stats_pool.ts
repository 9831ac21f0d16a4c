/**
 * {@linkcode FlowStatsPool}: the slots of statistics a flow table's live
 * flows keep their accumulators' state in (see `flow_features.ts`).
 *
 * @module
 */

import { initStats, STATS_SIZE } from "./_flow_stats_layout.ts";

/**
 * Statistics storage for many accumulators: slots of {@linkcode FLOW_STATS_SIZE}
 * doubles in large Float64Arrays, handed out and taken back explicitly. A
 * flow table keeps its live flows' statistics here, so that a new flow
 * allocates nothing on the JS heap for them and the garbage collector never
 * copies them; a slot is reused once its flow has been reported as ended.
 */
export class FlowStatsPool {
  #chunks: Float64Array[] = [];
  /** Released slot ids, reused last-in first-out. */
  #free: number[] = [];
  #next = 0;

  /** Takes a slot (initialised as an empty accumulator's); returns its id. */
  acquire(): number {
    const id = this.#free.length > 0 ? this.#free.pop()! : this.#next++;
    const chunk = id >>> POOL_CHUNK_BITS;
    if (chunk === this.#chunks.length) {
      this.#chunks.push(new Float64Array(STATS_SIZE << POOL_CHUNK_BITS));
    }
    initStats(this.array(id), this.offset(id));
    return id;
  }

  /** The array that holds slot `id`. */
  array(id: number): Float64Array {
    return this.#chunks[id >>> POOL_CHUNK_BITS];
  }

  /** Index of slot `id`'s first value in {@linkcode FlowStatsPool.array}. */
  offset(id: number): number {
    return (id & POOL_CHUNK_MASK) * STATS_SIZE;
  }

  /** Gives slot `id` back; its accumulator must not be used any more. */
  release(id: number): void {
    this.#free.push(id);
  }
}

/** 2^7 slots per chunk: 71 KiB. */
const POOL_CHUNK_BITS = 7;
const POOL_CHUNK_MASK = (1 << POOL_CHUNK_BITS) - 1;
