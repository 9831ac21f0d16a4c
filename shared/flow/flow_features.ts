/**
 * Per-flow statistics, accumulated packet by packet in O(1) memory per flow
 * (a fixed layout of doubles, in an array of the accumulator's own or in a
 * slot of a shared {@linkcode FlowStatsPool}; Welford's method for mean and
 * standard deviation), and the named features derived from them.
 *
 * The same accumulator runs in the aggregator and in model training, so a
 * feature has exactly one definition. Definitions and units are listed in
 * `models/FEATURES.md`.
 *
 * The accumulator is here; its parts sit beside it and are re-exported:
 * the statistics' layout (`_flow_stats_layout.ts`), the feature names
 * (`_flow_feature_names.ts`), their derivation (`_derive_features.ts`), the
 * statistics pool (`_flow_stats_pool.ts`) and the packed copy
 * (`_packed_stats.ts`).
 *
 * @module
 */

import { featuresFromStats } from "./_derive_features.ts";
import type { FlowFeatures } from "./_flow_feature_names.ts";
import * as layout from "./_flow_stats_layout.ts";
import type { FlowStatsPool } from "./_flow_stats_pool.ts";
import * as packed from "./_packed_stats.ts";

// The feature names, their derivation, the statistics pool and the packed
// copy, for importers of this module.
export * from "./_flow_feature_names.ts";
export * from "./_derive_features.ts";
export * from "./_flow_stats_pool.ts";
export { PACKED_STATS_MAX_DOUBLES, unpackStats } from "./_packed_stats.ts";

// The layout and the packed fields as this module's own constants rather
// than imported bindings: V8 folds a module's own constants into add(), but
// loads an imported binding from its module cell at every use, which made
// add() about a quarter slower (a micro-bench of add() alone, pinned, 28 vs
// 20 M packets/s).
const { PACKED_DOUBLE_FIELDS, PACKED_INT_FIELDS } = packed;
const {
  D_BYTES,
  D_DATA_PACKETS,
  D_FLAGS,
  D_HEADER,
  D_IAT_M2,
  D_IAT_MAX,
  D_IAT_MEAN,
  D_IAT_MIN,
  D_IAT_N,
  D_INIT_WINDOW,
  D_LAST_TS,
  D_LEN_M2,
  D_LEN_MAX,
  D_LEN_MEAN,
  D_LEN_MIN,
  D_PACKETS,
  D_PAYLOAD,
  DIR_SIZE,
  F_ACTIVE_END,
  F_ACTIVE_M2,
  F_ACTIVE_MAX,
  F_ACTIVE_MEAN,
  F_ACTIVE_MIN,
  F_ACTIVE_N,
  F_ACTIVE_START,
  F_IAT_M2,
  F_IAT_MAX,
  F_IAT_MEAN,
  F_IAT_MIN,
  F_IAT_N,
  F_IDLE_M2,
  F_IDLE_MAX,
  F_IDLE_MEAN,
  F_IDLE_MIN,
  F_IDLE_N,
  F_LAST_TS,
  F_LEN_M2,
  F_LEN_MAX,
  F_LEN_MEAN,
  F_LEN_MIN,
  F_PACKETS,
  FLAG_BITS,
  initStats,
  ORIG,
  RESP,
  STATS_SIZE,
} = layout;

/**
 * Gap, in seconds, after which CICFlowMeter-style activity statistics start
 * a new active period: the 5 s CICFlowMeter uses by default.
 */
export const DEFAULT_ACTIVITY_TIMEOUT_SEC = 5;

/** One packet as the accumulator needs it. */
export interface FeaturePacket {
  /** Capture time, epoch seconds. */
  timestamp: number;
  /** Bytes on the wire. */
  length: number;
  /** Transport payload bytes. */
  payloadLength: number;
  /** IP + transport header bytes. */
  headerLength: number;
  /** TCP flags byte, or null for non-TCP packets. */
  tcpFlags: number | null;
  /** TCP window field, or null for non-TCP packets. */
  tcpWindow: number | null;
}

/** Length of the statistics {@linkcode FlowFeatureAccumulator.copyStats} writes. */
export const FLOW_STATS_SIZE: number = STATS_SIZE;

/** Options of {@linkcode FlowFeatureAccumulator}. */
export interface FlowFeatureAccumulatorOptions {
  /**
   * Keep the statistics in a slot of this pool instead of an array of the
   * accumulator's own; the owner gives the slot back with
   * {@linkcode FlowFeatureAccumulator.release}.
   * @default {undefined}
   */
  pool?: FlowStatsPool;
}

/**
 * Accumulates one flow's statistics. State is a fixed layout of
 * {@linkcode FLOW_STATS_SIZE} doubles, so a flow costs about 600 bytes
 * whatever its length, and serialises to a plain number array.
 *
 * @example
 * ```ts
 * const acc = new FlowFeatureAccumulator();
 * acc.add(true, { timestamp: 1, length: 60, payloadLength: 0, headerLength: 40, tcpFlags: 0x02, tcpWindow: 64240 });
 * acc.features(1, 1).orig_syn_count; // 1
 * ```
 */
export class FlowFeatureAccumulator {
  /** Gap that starts a new active period, seconds. */
  readonly activityTimeoutSec: number;
  /** Storage of the statistics: an own array, or a pool's. */
  #s: Float64Array;
  /** Index of the first statistic in `#s`. */
  #o: number;
  #pool: FlowStatsPool | undefined;
  #slot: number;

  /** Creates an empty accumulator, or wraps saved statistics. */
  constructor(
    activityTimeoutSec: number = DEFAULT_ACTIVITY_TIMEOUT_SEC,
    stats?: ArrayLike<number>,
    options: FlowFeatureAccumulatorOptions = {},
  ) {
    this.activityTimeoutSec = activityTimeoutSec;
    if (stats !== undefined && stats.length !== STATS_SIZE) {
      throw new RangeError(
        `Cannot restore flow statistics as 'stats' must have ${STATS_SIZE} values: current length is ${stats.length}`,
      );
    }
    const pool = options.pool;
    this.#pool = pool;
    if (pool === undefined) {
      this.#slot = -1;
      this.#s = new Float64Array(STATS_SIZE);
      this.#o = 0;
      initStats(this.#s, 0);
    } else {
      this.#slot = pool.acquire();
      this.#s = pool.array(this.#slot);
      this.#o = pool.offset(this.#slot);
    }
    if (stats !== undefined) {
      for (let i = 0; i < STATS_SIZE; i++) this.#s[this.#o + i] = Number(stats[i]);
    }
  }

  /** A copy of the raw statistics (layout private to this module). */
  get stats(): Float64Array {
    return this.#s.slice(this.#o, this.#o + STATS_SIZE);
  }

  /**
   * Gives a pooled accumulator's slot back to its pool. The accumulator
   * must not be used afterwards; any use then reads NaN.
   */
  release(): void {
    if (this.#pool === undefined) return;
    this.#pool.release(this.#slot);
    this.#pool = undefined;
    this.#slot = -1;
    this.#s = RELEASED;
    this.#o = 0;
  }

  /**
   * Makes a released accumulator (see {@linkcode FlowFeatureAccumulator.release})
   * an empty one again, in a new slot of `pool`: a flow table reuses the
   * accumulators of reported flows with their flow objects.
   */
  renew(pool: FlowStatsPool): void {
    this.release();
    this.#pool = pool;
    this.#slot = pool.acquire();
    this.#s = pool.array(this.#slot);
    this.#o = pool.offset(this.#slot);
  }

  /**
   * Copies the statistics to `out[offset..offset + FLOW_STATS_SIZE)`, where
   * {@linkcode deriveFeatures} can later derive the features of this moment.
   */
  copyStats(out: Float64Array, offset: number): void {
    // A loop: `subarray()` would make a typed array object per copy.
    const s = this.#s;
    const o = this.#o;
    for (let i = 0; i < STATS_SIZE; i++) out[offset + i] = s[o + i];
  }

  /**
   * Writes what {@linkcode deriveFeatures} reads of the statistics, packed
   * and sparse, at `doubles[at]` (`ints` is a 32-bit view of the same
   * buffer): a header of three 32-bit masks (two doubles) saying which
   * statistics are not +0, then those of them that are not whole numbers as
   * doubles, then the whole-number ones as 32-bit integers. Returns the
   * doubles it takes (at most {@linkcode PACKED_STATS_MAX_DOUBLES}); 0, with
   * some of it written, when a whole-number statistic does not fit a 32-bit
   * integer exactly (-0 included): the caller then copies the statistics
   * whole with {@linkcode FlowFeatureAccumulator.copyStats}. Most of a short
   * flow's statistics are 0 (flag counts, gaps, active and idle periods), and
   * writing fresh slab memory is what a record's statistics cost.
   */
  packStats(doubles: Float64Array, ints: Int32Array, at: number): number {
    const s = this.#s;
    const o = this.#o;
    const doubleFields = PACKED_DOUBLE_FIELDS;
    let d = at + 2;
    let doubleMask = 0;
    for (let i = 0; i < doubleFields.length; i++) {
      const v = s[o + doubleFields[i]];
      // +0 is left out; -0 and NaN are kept.
      if (v !== 0 || 1 / v < 0) {
        doubles[d++] = v;
        doubleMask |= 1 << i;
      }
    }
    const intFields = PACKED_INT_FIELDS;
    let k = d * 2;
    let low = 0;
    let high = 0;
    for (let i = 0; i < intFields.length; i++) {
      const v = s[o + intFields[i]];
      if (v === 0) {
        if (1 / v < 0) return 0;
        continue;
      }
      if ((v | 0) !== v) return 0;
      ints[k++] = v;
      if (i < 32) low |= 1 << i;
      else high |= 1 << (i - 32);
    }
    const h = at * 2;
    ints[h] = doubleMask;
    ints[h + 1] = low;
    ints[h + 2] = high;
    return ((k + 1) >> 1) - at;
  }

  /** Adds one packet sent by the originator (`fromOrig`) or the responder. */
  add(fromOrig: boolean, packet: FeaturePacket): void {
    const s = this.#s;
    const o = this.#o;
    const d = o + (fromOrig ? ORIG : RESP);
    const ts = packet.timestamp;
    const length = packet.length;

    const total = s[o + F_PACKETS];
    if (total === 0) {
      s[o + F_ACTIVE_START] = ts;
      s[o + F_ACTIVE_END] = ts;
      s[o + F_LAST_TS] = ts;
    } else {
      const last = s[o + F_LAST_TS];
      // Out-of-order packets count as simultaneous rather than negative gaps.
      const iat = ts > last ? ts - last : 0;
      welford(s, o + F_IAT_N, o + F_IAT_MIN, o + F_IAT_MAX, o + F_IAT_MEAN, o + F_IAT_M2, iat);
      if (ts > last) s[o + F_LAST_TS] = ts;
      const activeEnd = s[o + F_ACTIVE_END];
      if (ts - activeEnd > this.activityTimeoutSec) {
        welford(
          s,
          o + F_ACTIVE_N,
          o + F_ACTIVE_MIN,
          o + F_ACTIVE_MAX,
          o + F_ACTIVE_MEAN,
          o + F_ACTIVE_M2,
          activeEnd - s[o + F_ACTIVE_START],
        );
        welford(
          s,
          o + F_IDLE_N,
          o + F_IDLE_MIN,
          o + F_IDLE_MAX,
          o + F_IDLE_MEAN,
          o + F_IDLE_M2,
          ts - activeEnd,
        );
        s[o + F_ACTIVE_START] = ts;
        s[o + F_ACTIVE_END] = ts;
      } else if (ts > activeEnd) {
        s[o + F_ACTIVE_END] = ts;
      }
    }
    // Flow-wide packet length (n = packets so far).
    welford(s, o + F_PACKETS, o + F_LEN_MIN, o + F_LEN_MAX, o + F_LEN_MEAN, o + F_LEN_M2, length);

    const dirPackets = s[d + D_PACKETS];
    if (dirPackets > 0) {
      const last = s[d + D_LAST_TS];
      const iat = ts > last ? ts - last : 0;
      welford(s, d + D_IAT_N, d + D_IAT_MIN, d + D_IAT_MAX, d + D_IAT_MEAN, d + D_IAT_M2, iat);
      if (ts > last) s[d + D_LAST_TS] = ts;
    } else {
      s[d + D_LAST_TS] = ts;
    }
    welford(s, d + D_PACKETS, d + D_LEN_MIN, d + D_LEN_MAX, d + D_LEN_MEAN, d + D_LEN_M2, length);
    s[d + D_BYTES] += length;
    s[d + D_PAYLOAD] += packet.payloadLength;
    s[d + D_HEADER] += packet.headerLength;
    if (packet.payloadLength > 0) s[d + D_DATA_PACKETS] += 1;

    const flags = packet.tcpFlags;
    if (flags !== null) {
      if (flags !== 0) {
        for (let i = 0; i < 8; i++) {
          if (flags & FLAG_BITS[i]) s[d + D_FLAGS + i] += 1;
        }
      }
      if (s[d + D_INIT_WINDOW] < 0 && packet.tcpWindow !== null) {
        s[d + D_INIT_WINDOW] = packet.tcpWindow;
      }
    }
  }

  /** Exchanges the originator and responder halves, for a late role flip. */
  swapDirections(): void {
    const s = this.#s;
    const o = this.#o;
    for (let i = 0; i < DIR_SIZE; i++) {
      const tmp = s[o + ORIG + i];
      s[o + ORIG + i] = s[o + RESP + i];
      s[o + RESP + i] = tmp;
    }
  }

  /** Packets sent by the originator (`fromOrig`) or by the responder. */
  packets(fromOrig: boolean): number {
    return this.#s[this.#o + (fromOrig ? ORIG : RESP) + D_PACKETS];
  }

  /** Wire bytes sent by one side. */
  bytes(fromOrig: boolean): number {
    return this.#s[this.#o + (fromOrig ? ORIG : RESP) + D_BYTES];
  }

  /** Payload bytes sent by one side. */
  payloadBytes(fromOrig: boolean): number {
    return this.#s[this.#o + (fromOrig ? ORIG : RESP) + D_PAYLOAD];
  }

  /**
   * Derives the named features as of now. The current active period is
   * counted as if the flow ended at its last packet; the state is not
   * changed, so this can be called at any time.
   */
  features(firstSeen: number, lastSeen: number): FlowFeatures {
    return featuresFromStats(this.#s, this.#o, firstSeen, lastSeen);
  }

  /** The statistics as a plain JSON-able array. */
  toJSON(): number[] {
    // A plain loop: Array.from() walks a typed array through its iterator,
    // which made saving a table of 200k flows take seconds.
    const out = new Array<number>(STATS_SIZE);
    const s = this.#s;
    for (let i = 0, o = this.#o; i < STATS_SIZE; i++) out[i] = s[o + i];
    return out;
  }
}

/** Storage of released accumulators: all NaN, so that a use after release shows. */
const RELEASED = new Float64Array(STATS_SIZE).fill(NaN);

/** Welford update of count/min/max/mean/M2 stored at the given indices. */
function welford(
  s: Float64Array,
  n: number,
  min: number,
  max: number,
  mean: number,
  m2: number,
  x: number,
): void {
  const count = s[n] + 1;
  s[n] = count;
  if (count === 1) {
    s[min] = x;
    s[max] = x;
    s[mean] = x;
    s[m2] = 0;
    return;
  }
  if (x < s[min]) s[min] = x;
  if (x > s[max]) s[max] = x;
  const delta = x - s[mean];
  const newMean = s[mean] + delta / count;
  s[mean] = newMean;
  s[m2] += delta * (x - newMean);
}
