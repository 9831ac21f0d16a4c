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
 * @module
 */

import {
  TCP_FLAG_ACK,
  TCP_FLAG_CWR,
  TCP_FLAG_ECE,
  TCP_FLAG_FIN,
  TCP_FLAG_PSH,
  TCP_FLAG_RST,
  TCP_FLAG_SYN,
  TCP_FLAG_URG,
} from "../packet/packet_record.ts";

// Per-direction block layout (orig block first, resp block after it).
const D_PACKETS = 0;
const D_BYTES = 1;
const D_PAYLOAD = 2;
const D_HEADER = 3;
const D_DATA_PACKETS = 4;
const D_LEN_MIN = 5;
const D_LEN_MAX = 6;
const D_LEN_MEAN = 7;
const D_LEN_M2 = 8;
const D_IAT_N = 9;
const D_IAT_MIN = 10;
const D_IAT_MAX = 11;
const D_IAT_MEAN = 12;
const D_IAT_M2 = 13;
const D_LAST_TS = 14;
const D_FLAGS = 15; // 8 counters in TCP flag bit order: FIN SYN RST PSH ACK URG ECE CWR
const D_INIT_WINDOW = 23;
const DIR_SIZE = 24;

const ORIG = 0;
const RESP = DIR_SIZE;

// Flow-wide block.
const F = 2 * DIR_SIZE;
const F_LEN_MIN = F + 0;
const F_LEN_MAX = F + 1;
const F_LEN_MEAN = F + 2;
const F_LEN_M2 = F + 3;
const F_IAT_N = F + 4;
const F_IAT_MIN = F + 5;
const F_IAT_MAX = F + 6;
const F_IAT_MEAN = F + 7;
const F_IAT_M2 = F + 8;
const F_LAST_TS = F + 9;
const F_ACTIVE_START = F + 10;
const F_ACTIVE_END = F + 11;
const F_ACTIVE_N = F + 12;
const F_ACTIVE_MIN = F + 13;
const F_ACTIVE_MAX = F + 14;
const F_ACTIVE_MEAN = F + 15;
const F_ACTIVE_M2 = F + 16;
const F_IDLE_N = F + 17;
const F_IDLE_MIN = F + 18;
const F_IDLE_MAX = F + 19;
const F_IDLE_MEAN = F + 20;
const F_IDLE_M2 = F + 21;
const F_PACKETS = F + 22;
const STATS_SIZE = F + 23;

/** Flag order of the per-direction flag counters. */
const FLAG_BITS = [
  TCP_FLAG_FIN,
  TCP_FLAG_SYN,
  TCP_FLAG_RST,
  TCP_FLAG_PSH,
  TCP_FLAG_ACK,
  TCP_FLAG_URG,
  TCP_FLAG_ECE,
  TCP_FLAG_CWR,
];

/**
 * Gap, in seconds, after which CICFlowMeter-style activity statistics start
 * a new active period: the 5 s CICFlowMeter uses by default.
 */
export const DEFAULT_ACTIVITY_TIMEOUT_SEC = 5;

/** Per-flow features derived from the accumulator; see `models/FEATURES.md`. */
export interface FlowFeatures {
  /** last_seen - first_seen, seconds. */
  duration_sec: number;
  /** Packets sent by the originator. */
  orig_packets: number;
  /** Packets sent by the responder. */
  resp_packets: number;
  /** Wire bytes sent by the originator. */
  orig_bytes: number;
  /** Wire bytes sent by the responder. */
  resp_bytes: number;
  /** Transport payload bytes sent by the originator. */
  orig_payload_bytes: number;
  /** Transport payload bytes sent by the responder. */
  resp_payload_bytes: number;
  /** IP + transport header bytes sent by the originator. */
  orig_header_bytes: number;
  /** IP + transport header bytes sent by the responder. */
  resp_header_bytes: number;
  /** Originator packets carrying payload. */
  orig_data_packets: number;
  /** Responder packets carrying payload. */
  resp_data_packets: number;
  /** Smallest wire length of any packet, bytes. */
  pkt_len_min: number;
  /** Largest wire length of any packet, bytes. */
  pkt_len_max: number;
  /** Mean wire length, bytes. */
  pkt_len_mean: number;
  /** Population standard deviation of wire length, bytes. */
  pkt_len_std: number;
  /** Smallest originator packet, bytes (0 without packets). */
  orig_pkt_len_min: number;
  /** Largest originator packet, bytes. */
  orig_pkt_len_max: number;
  /** Mean originator packet length, bytes. */
  orig_pkt_len_mean: number;
  /** Standard deviation of originator packet length, bytes. */
  orig_pkt_len_std: number;
  /** Smallest responder packet, bytes. */
  resp_pkt_len_min: number;
  /** Largest responder packet, bytes. */
  resp_pkt_len_max: number;
  /** Mean responder packet length, bytes. */
  resp_pkt_len_mean: number;
  /** Standard deviation of responder packet length, bytes. */
  resp_pkt_len_std: number;
  /** Smallest gap between consecutive packets of the flow, seconds. */
  iat_min_sec: number;
  /** Largest gap, seconds. */
  iat_max_sec: number;
  /** Mean gap, seconds. */
  iat_mean_sec: number;
  /** Standard deviation of the gaps, seconds. */
  iat_std_sec: number;
  /** Smallest gap between consecutive originator packets, seconds. */
  orig_iat_min_sec: number;
  /** Largest originator gap, seconds. */
  orig_iat_max_sec: number;
  /** Mean originator gap, seconds. */
  orig_iat_mean_sec: number;
  /** Standard deviation of originator gaps, seconds. */
  orig_iat_std_sec: number;
  /** Smallest gap between consecutive responder packets, seconds. */
  resp_iat_min_sec: number;
  /** Largest responder gap, seconds. */
  resp_iat_max_sec: number;
  /** Mean responder gap, seconds. */
  resp_iat_mean_sec: number;
  /** Standard deviation of responder gaps, seconds. */
  resp_iat_std_sec: number;
  /** Originator packets with FIN. */
  orig_fin_count: number;
  /** Originator packets with SYN. */
  orig_syn_count: number;
  /** Originator packets with RST. */
  orig_rst_count: number;
  /** Originator packets with PSH. */
  orig_psh_count: number;
  /** Originator packets with ACK. */
  orig_ack_count: number;
  /** Originator packets with URG. */
  orig_urg_count: number;
  /** Originator packets with ECE. */
  orig_ece_count: number;
  /** Originator packets with CWR. */
  orig_cwr_count: number;
  /** Responder packets with FIN. */
  resp_fin_count: number;
  /** Responder packets with SYN. */
  resp_syn_count: number;
  /** Responder packets with RST. */
  resp_rst_count: number;
  /** Responder packets with PSH. */
  resp_psh_count: number;
  /** Responder packets with ACK. */
  resp_ack_count: number;
  /** Responder packets with URG. */
  resp_urg_count: number;
  /** Responder packets with ECE. */
  resp_ece_count: number;
  /** Responder packets with CWR. */
  resp_cwr_count: number;
  /** TCP window field of the originator's first TCP packet; -1 when none. */
  orig_init_window: number;
  /** TCP window field of the responder's first TCP packet; -1 when none. */
  resp_init_window: number;
  /** (orig_bytes + resp_bytes) / duration, bytes per second; 0 when duration is 0. */
  bytes_per_sec: number;
  /** All packets / duration, packets per second; 0 when duration is 0. */
  packets_per_sec: number;
  /** Originator packets / duration; 0 when duration is 0. */
  orig_packets_per_sec: number;
  /** Responder packets / duration; 0 when duration is 0. */
  resp_packets_per_sec: number;
  /** Shortest active period, seconds. */
  active_min_sec: number;
  /** Longest active period, seconds. */
  active_max_sec: number;
  /** Mean active period, seconds. */
  active_mean_sec: number;
  /** Standard deviation of active periods, seconds. */
  active_std_sec: number;
  /** Shortest idle period, seconds (0 when none). */
  idle_min_sec: number;
  /** Longest idle period, seconds. */
  idle_max_sec: number;
  /** Mean idle period, seconds. */
  idle_mean_sec: number;
  /** Standard deviation of idle periods, seconds. */
  idle_std_sec: number;
  /** resp_packets / max(orig_packets, 1). */
  down_up_ratio: number;
}

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

/** Names of the per-flow features in the order {@linkcode deriveFeatures} writes them. */
export const FLOW_FEATURE_NAMES: readonly (keyof FlowFeatures)[] = Object.freeze([
  "duration_sec",
  "orig_packets",
  "resp_packets",
  "orig_bytes",
  "resp_bytes",
  "orig_payload_bytes",
  "resp_payload_bytes",
  "orig_header_bytes",
  "resp_header_bytes",
  "orig_data_packets",
  "resp_data_packets",
  "pkt_len_min",
  "pkt_len_max",
  "pkt_len_mean",
  "pkt_len_std",
  "orig_pkt_len_min",
  "orig_pkt_len_max",
  "orig_pkt_len_mean",
  "orig_pkt_len_std",
  "resp_pkt_len_min",
  "resp_pkt_len_max",
  "resp_pkt_len_mean",
  "resp_pkt_len_std",
  "iat_min_sec",
  "iat_max_sec",
  "iat_mean_sec",
  "iat_std_sec",
  "orig_iat_min_sec",
  "orig_iat_max_sec",
  "orig_iat_mean_sec",
  "orig_iat_std_sec",
  "resp_iat_min_sec",
  "resp_iat_max_sec",
  "resp_iat_mean_sec",
  "resp_iat_std_sec",
  "orig_fin_count",
  "orig_syn_count",
  "orig_rst_count",
  "orig_psh_count",
  "orig_ack_count",
  "orig_urg_count",
  "orig_ece_count",
  "orig_cwr_count",
  "resp_fin_count",
  "resp_syn_count",
  "resp_rst_count",
  "resp_psh_count",
  "resp_ack_count",
  "resp_urg_count",
  "resp_ece_count",
  "resp_cwr_count",
  "orig_init_window",
  "resp_init_window",
  "bytes_per_sec",
  "packets_per_sec",
  "orig_packets_per_sec",
  "resp_packets_per_sec",
  "active_min_sec",
  "active_max_sec",
  "active_mean_sec",
  "active_std_sec",
  "idle_min_sec",
  "idle_max_sec",
  "idle_mean_sec",
  "idle_std_sec",
  "down_up_ratio",
]);

/** Count of {@linkcode FLOW_FEATURE_NAMES}. */
export const FLOW_FEATURE_COUNT: number = FLOW_FEATURE_NAMES.length;

/** Length of the statistics {@linkcode FlowFeatureAccumulator.copyStats} writes. */
export const FLOW_STATS_SIZE: number = STATS_SIZE;

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

/** Writes an empty accumulator's statistics at `s[o]`. */
function initStats(s: Float64Array, o: number): void {
  s.fill(0, o, o + STATS_SIZE);
  s[o + ORIG + D_INIT_WINDOW] = -1;
  s[o + RESP + D_INIT_WINDOW] = -1;
}

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

/**
 * Statistics that {@linkcode deriveFeatures} reads and that hold whole numbers
 * (counts, byte sums, packet lengths, initial windows): a packed copy keeps
 * them as 32-bit integers when they fit.
 */
const PACKED_INT_FIELDS: readonly number[] = [ORIG, RESP].flatMap((d) => [
  d + D_PACKETS,
  d + D_BYTES,
  d + D_PAYLOAD,
  d + D_HEADER,
  d + D_DATA_PACKETS,
  d + D_LEN_MIN,
  d + D_LEN_MAX,
  d + D_IAT_N,
  ...FLAG_BITS.map((_, i) => d + D_FLAGS + i),
  d + D_INIT_WINDOW,
]).concat([F_LEN_MIN, F_LEN_MAX, F_IAT_N, F_ACTIVE_N, F_IDLE_N]);

/** The other statistics {@linkcode deriveFeatures} reads: means, sums of squares, times. */
const PACKED_DOUBLE_FIELDS: readonly number[] = [ORIG, RESP].flatMap((d) => [
  d + D_LEN_MEAN,
  d + D_LEN_M2,
  d + D_IAT_MIN,
  d + D_IAT_MAX,
  d + D_IAT_MEAN,
  d + D_IAT_M2,
]).concat([
  F_LEN_MEAN,
  F_LEN_M2,
  F_IAT_MIN,
  F_IAT_MAX,
  F_IAT_MEAN,
  F_IAT_M2,
  F_ACTIVE_START,
  F_ACTIVE_END,
  F_ACTIVE_MIN,
  F_ACTIVE_MAX,
  F_ACTIVE_MEAN,
  F_ACTIVE_M2,
  F_IDLE_MIN,
  F_IDLE_MAX,
  F_IDLE_MEAN,
  F_IDLE_M2,
]);

/** The most doubles a packed copy of the statistics takes (see {@linkcode FlowFeatureAccumulator.packStats}). */
export const PACKED_STATS_MAX_DOUBLES: number = 2 + PACKED_DOUBLE_FIELDS.length +
  Math.ceil(PACKED_INT_FIELDS.length / 2);

/**
 * Writes the statistics written packed by
 * {@linkcode FlowFeatureAccumulator.packStats} at `doubles[at]` (`ints` a
 * 32-bit view of the same buffer) to `out[0..FLOW_STATS_SIZE)`, as
 * {@linkcode FlowFeatureAccumulator.copyStats} would have: every statistic
 * {@linkcode deriveFeatures} reads has its value, the others (last packet
 * times, the packet total) are 0.
 */
export function unpackStats(
  doubles: Float64Array,
  ints: Int32Array,
  at: number,
  out: Float64Array,
): void {
  const intFields = PACKED_INT_FIELDS;
  const doubleFields = PACKED_DOUBLE_FIELDS;
  out.fill(0, 0, STATS_SIZE);
  const h = at * 2;
  const doubleMask = ints[h];
  const low = ints[h + 1];
  const high = ints[h + 2];
  let d = at + 2;
  for (let i = 0; i < doubleFields.length; i++) {
    if ((doubleMask & (1 << i)) !== 0) out[doubleFields[i]] = doubles[d++];
  }
  let k = d * 2;
  for (let i = 0; i < intFields.length; i++) {
    const bit = i < 32 ? (low >>> i) & 1 : (high >>> (i - 32)) & 1;
    if (bit !== 0) out[intFields[i]] = ints[k++];
  }
}

/** Storage of released accumulators: all NaN, so that a use after release shows. */
const RELEASED = new Float64Array(STATS_SIZE).fill(NaN);

/** Scratch output of {@linkcode deriveFeatures} for {@linkcode featuresFromStats}. */
const derived = new Float64Array(FLOW_FEATURE_COUNT);

/**
 * The named features of statistics saved with
 * {@linkcode FlowFeatureAccumulator.copyStats} at `stats[offset]`, as
 * {@linkcode FlowFeatureAccumulator.features} returns them.
 */
export function featuresFromStats(
  stats: Float64Array,
  offset: number,
  firstSeen: number,
  lastSeen: number,
): FlowFeatures {
  const v = derived;
  deriveFeatures(stats, offset, firstSeen, lastSeen, v);
  return {
    duration_sec: v[0],
    orig_packets: v[1],
    resp_packets: v[2],
    orig_bytes: v[3],
    resp_bytes: v[4],
    orig_payload_bytes: v[5],
    resp_payload_bytes: v[6],
    orig_header_bytes: v[7],
    resp_header_bytes: v[8],
    orig_data_packets: v[9],
    resp_data_packets: v[10],
    pkt_len_min: v[11],
    pkt_len_max: v[12],
    pkt_len_mean: v[13],
    pkt_len_std: v[14],
    orig_pkt_len_min: v[15],
    orig_pkt_len_max: v[16],
    orig_pkt_len_mean: v[17],
    orig_pkt_len_std: v[18],
    resp_pkt_len_min: v[19],
    resp_pkt_len_max: v[20],
    resp_pkt_len_mean: v[21],
    resp_pkt_len_std: v[22],
    iat_min_sec: v[23],
    iat_max_sec: v[24],
    iat_mean_sec: v[25],
    iat_std_sec: v[26],
    orig_iat_min_sec: v[27],
    orig_iat_max_sec: v[28],
    orig_iat_mean_sec: v[29],
    orig_iat_std_sec: v[30],
    resp_iat_min_sec: v[31],
    resp_iat_max_sec: v[32],
    resp_iat_mean_sec: v[33],
    resp_iat_std_sec: v[34],
    orig_fin_count: v[35],
    orig_syn_count: v[36],
    orig_rst_count: v[37],
    orig_psh_count: v[38],
    orig_ack_count: v[39],
    orig_urg_count: v[40],
    orig_ece_count: v[41],
    orig_cwr_count: v[42],
    resp_fin_count: v[43],
    resp_syn_count: v[44],
    resp_rst_count: v[45],
    resp_psh_count: v[46],
    resp_ack_count: v[47],
    resp_urg_count: v[48],
    resp_ece_count: v[49],
    resp_cwr_count: v[50],
    orig_init_window: v[51],
    resp_init_window: v[52],
    bytes_per_sec: v[53],
    packets_per_sec: v[54],
    orig_packets_per_sec: v[55],
    resp_packets_per_sec: v[56],
    active_min_sec: v[57],
    active_max_sec: v[58],
    active_mean_sec: v[59],
    active_std_sec: v[60],
    idle_min_sec: v[61],
    idle_max_sec: v[62],
    idle_mean_sec: v[63],
    idle_std_sec: v[64],
    down_up_ratio: v[65],
  };
}

/**
 * Writes the per-flow features of statistics saved with
 * {@linkcode FlowFeatureAccumulator.copyStats} at `stats[offset]` into
 * `out`, in {@linkcode FLOW_FEATURE_NAMES} order: the single definition of
 * every feature, shared by the feature objects and the model's vector.
 */
export function deriveFeatures(
  stats: Float64Array,
  offset: number,
  firstSeen: number,
  lastSeen: number,
  out: Float64Array,
): void {
  const s = stats;
  const o = offset;
  const duration = lastSeen > firstSeen ? lastSeen - firstSeen : 0;
  const origPackets = s[o + ORIG + D_PACKETS];
  const respPackets = s[o + RESP + D_PACKETS];
  const packets = origPackets + respPackets;
  const bytes = s[o + ORIG + D_BYTES] + s[o + RESP + D_BYTES];

  // Close the running active period without touching the state.
  let activeN = s[o + F_ACTIVE_N];
  let activeMin = s[o + F_ACTIVE_MIN];
  let activeMax = s[o + F_ACTIVE_MAX];
  let activeMean = s[o + F_ACTIVE_MEAN];
  let activeM2 = s[o + F_ACTIVE_M2];
  if (packets > 0) {
    const active = s[o + F_ACTIVE_END] - s[o + F_ACTIVE_START];
    activeN += 1;
    if (activeN === 1) {
      activeMin = active;
      activeMax = active;
    } else {
      if (active < activeMin) activeMin = active;
      if (active > activeMax) activeMax = active;
    }
    const delta = active - activeMean;
    activeMean += delta / activeN;
    activeM2 += delta * (active - activeMean);
  }

  out[0] = duration;
  out[1] = origPackets;
  out[2] = respPackets;
  out[3] = s[o + ORIG + D_BYTES];
  out[4] = s[o + RESP + D_BYTES];
  out[5] = s[o + ORIG + D_PAYLOAD];
  out[6] = s[o + RESP + D_PAYLOAD];
  out[7] = s[o + ORIG + D_HEADER];
  out[8] = s[o + RESP + D_HEADER];
  out[9] = s[o + ORIG + D_DATA_PACKETS];
  out[10] = s[o + RESP + D_DATA_PACKETS];
  out[11] = s[o + F_LEN_MIN];
  out[12] = s[o + F_LEN_MAX];
  out[13] = s[o + F_LEN_MEAN];
  out[14] = std(s[o + F_LEN_M2], packets);
  out[15] = s[o + ORIG + D_LEN_MIN];
  out[16] = s[o + ORIG + D_LEN_MAX];
  out[17] = s[o + ORIG + D_LEN_MEAN];
  out[18] = std(s[o + ORIG + D_LEN_M2], origPackets);
  out[19] = s[o + RESP + D_LEN_MIN];
  out[20] = s[o + RESP + D_LEN_MAX];
  out[21] = s[o + RESP + D_LEN_MEAN];
  out[22] = std(s[o + RESP + D_LEN_M2], respPackets);
  out[23] = s[o + F_IAT_MIN];
  out[24] = s[o + F_IAT_MAX];
  out[25] = s[o + F_IAT_MEAN];
  out[26] = std(s[o + F_IAT_M2], s[o + F_IAT_N]);
  out[27] = s[o + ORIG + D_IAT_MIN];
  out[28] = s[o + ORIG + D_IAT_MAX];
  out[29] = s[o + ORIG + D_IAT_MEAN];
  out[30] = std(s[o + ORIG + D_IAT_M2], s[o + ORIG + D_IAT_N]);
  out[31] = s[o + RESP + D_IAT_MIN];
  out[32] = s[o + RESP + D_IAT_MAX];
  out[33] = s[o + RESP + D_IAT_MEAN];
  out[34] = std(s[o + RESP + D_IAT_M2], s[o + RESP + D_IAT_N]);
  for (let i = 0; i < 8; i++) {
    out[35 + i] = s[o + ORIG + D_FLAGS + i];
    out[43 + i] = s[o + RESP + D_FLAGS + i];
  }
  out[51] = s[o + ORIG + D_INIT_WINDOW];
  out[52] = s[o + RESP + D_INIT_WINDOW];
  out[53] = duration > 0 ? bytes / duration : 0;
  out[54] = duration > 0 ? packets / duration : 0;
  out[55] = duration > 0 ? origPackets / duration : 0;
  out[56] = duration > 0 ? respPackets / duration : 0;
  out[57] = activeMin;
  out[58] = activeMax;
  out[59] = activeMean;
  out[60] = std(activeM2, activeN);
  out[61] = s[o + F_IDLE_MIN];
  out[62] = s[o + F_IDLE_MAX];
  out[63] = s[o + F_IDLE_MEAN];
  out[64] = std(s[o + F_IDLE_M2], s[o + F_IDLE_N]);
  out[65] = respPackets / (origPackets > 1 ? origPackets : 1);
}

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

function std(m2: number, n: number): number {
  return n > 0 ? Math.sqrt(m2 / n) : 0;
}
