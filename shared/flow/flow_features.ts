/**
 * Per-flow statistics, accumulated packet by packet in O(1) memory per flow
 * (one Float64Array of fixed layout; Welford's method for mean and standard
 * deviation), and the named features derived from them.
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

/**
 * Accumulates one flow's statistics. State is a single Float64Array with a
 * fixed layout, so a flow costs about 600 bytes whatever its length, and
 * serialises to a plain number array.
 *
 * @example
 * ```ts
 * const acc = new FlowFeatureAccumulator();
 * acc.add(true, { timestamp: 1, length: 60, payloadLength: 0, headerLength: 40, tcpFlags: 0x02, tcpWindow: 64240 });
 * acc.features(1, 1).orig_syn_count; // 1
 * ```
 */
export class FlowFeatureAccumulator {
  /** The raw statistics (layout private to this module). */
  readonly stats: Float64Array;
  /** Gap that starts a new active period, seconds. */
  readonly activityTimeoutSec: number;

  /** Creates an empty accumulator, or wraps saved statistics. */
  constructor(
    activityTimeoutSec: number = DEFAULT_ACTIVITY_TIMEOUT_SEC,
    stats?: ArrayLike<number>,
  ) {
    this.activityTimeoutSec = activityTimeoutSec;
    if (stats === undefined) {
      this.stats = new Float64Array(STATS_SIZE);
      this.stats[ORIG + D_INIT_WINDOW] = -1;
      this.stats[RESP + D_INIT_WINDOW] = -1;
    } else {
      if (stats.length !== STATS_SIZE) {
        throw new RangeError(
          `Cannot restore flow statistics as 'stats' must have ${STATS_SIZE} values: current length is ${stats.length}`,
        );
      }
      this.stats = Float64Array.from(stats);
    }
  }

  /** Adds one packet sent by the originator (`fromOrig`) or the responder. */
  add(fromOrig: boolean, packet: FeaturePacket): void {
    const s = this.stats;
    const d = fromOrig ? ORIG : RESP;
    const ts = packet.timestamp;
    const length = packet.length;

    const total = s[F_PACKETS];
    if (total === 0) {
      s[F_ACTIVE_START] = ts;
      s[F_ACTIVE_END] = ts;
      s[F_LAST_TS] = ts;
    } else {
      const last = s[F_LAST_TS];
      // Out-of-order packets count as simultaneous rather than negative gaps.
      const iat = ts > last ? ts - last : 0;
      welford(s, F_IAT_N, F_IAT_MIN, F_IAT_MAX, F_IAT_MEAN, F_IAT_M2, iat);
      if (ts > last) s[F_LAST_TS] = ts;
      const activeEnd = s[F_ACTIVE_END];
      if (ts - activeEnd > this.activityTimeoutSec) {
        welford(
          s,
          F_ACTIVE_N,
          F_ACTIVE_MIN,
          F_ACTIVE_MAX,
          F_ACTIVE_MEAN,
          F_ACTIVE_M2,
          activeEnd - s[F_ACTIVE_START],
        );
        welford(s, F_IDLE_N, F_IDLE_MIN, F_IDLE_MAX, F_IDLE_MEAN, F_IDLE_M2, ts - activeEnd);
        s[F_ACTIVE_START] = ts;
        s[F_ACTIVE_END] = ts;
      } else if (ts > activeEnd) {
        s[F_ACTIVE_END] = ts;
      }
    }
    // Flow-wide packet length (n = packets so far).
    welford(s, F_PACKETS, F_LEN_MIN, F_LEN_MAX, F_LEN_MEAN, F_LEN_M2, length);

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
    const s = this.stats;
    for (let i = 0; i < DIR_SIZE; i++) {
      const tmp = s[ORIG + i];
      s[ORIG + i] = s[RESP + i];
      s[RESP + i] = tmp;
    }
  }

  /** Packets sent by the originator (`fromOrig`) or by the responder. */
  packets(fromOrig: boolean): number {
    return this.stats[(fromOrig ? ORIG : RESP) + D_PACKETS];
  }

  /** Wire bytes sent by one side. */
  bytes(fromOrig: boolean): number {
    return this.stats[(fromOrig ? ORIG : RESP) + D_BYTES];
  }

  /** Payload bytes sent by one side. */
  payloadBytes(fromOrig: boolean): number {
    return this.stats[(fromOrig ? ORIG : RESP) + D_PAYLOAD];
  }

  /**
   * Derives the named features as of now. The current active period is
   * counted as if the flow ended at its last packet; the state is not
   * changed, so this can be called at any time.
   */
  features(firstSeen: number, lastSeen: number): FlowFeatures {
    const s = this.stats;
    const duration = lastSeen > firstSeen ? lastSeen - firstSeen : 0;
    const origPackets = s[ORIG + D_PACKETS];
    const respPackets = s[RESP + D_PACKETS];
    const packets = origPackets + respPackets;
    const bytes = s[ORIG + D_BYTES] + s[RESP + D_BYTES];
    const perSec = (value: number) => duration > 0 ? value / duration : 0;

    // Close the running active period without touching the state.
    let activeN = s[F_ACTIVE_N];
    let activeMin = s[F_ACTIVE_MIN];
    let activeMax = s[F_ACTIVE_MAX];
    let activeMean = s[F_ACTIVE_MEAN];
    let activeM2 = s[F_ACTIVE_M2];
    if (packets > 0) {
      const active = s[F_ACTIVE_END] - s[F_ACTIVE_START];
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

    return {
      duration_sec: duration,
      orig_packets: origPackets,
      resp_packets: respPackets,
      orig_bytes: s[ORIG + D_BYTES],
      resp_bytes: s[RESP + D_BYTES],
      orig_payload_bytes: s[ORIG + D_PAYLOAD],
      resp_payload_bytes: s[RESP + D_PAYLOAD],
      orig_header_bytes: s[ORIG + D_HEADER],
      resp_header_bytes: s[RESP + D_HEADER],
      orig_data_packets: s[ORIG + D_DATA_PACKETS],
      resp_data_packets: s[RESP + D_DATA_PACKETS],
      pkt_len_min: s[F_LEN_MIN],
      pkt_len_max: s[F_LEN_MAX],
      pkt_len_mean: s[F_LEN_MEAN],
      pkt_len_std: std(s[F_LEN_M2], packets),
      orig_pkt_len_min: s[ORIG + D_LEN_MIN],
      orig_pkt_len_max: s[ORIG + D_LEN_MAX],
      orig_pkt_len_mean: s[ORIG + D_LEN_MEAN],
      orig_pkt_len_std: std(s[ORIG + D_LEN_M2], origPackets),
      resp_pkt_len_min: s[RESP + D_LEN_MIN],
      resp_pkt_len_max: s[RESP + D_LEN_MAX],
      resp_pkt_len_mean: s[RESP + D_LEN_MEAN],
      resp_pkt_len_std: std(s[RESP + D_LEN_M2], respPackets),
      iat_min_sec: s[F_IAT_MIN],
      iat_max_sec: s[F_IAT_MAX],
      iat_mean_sec: s[F_IAT_MEAN],
      iat_std_sec: std(s[F_IAT_M2], s[F_IAT_N]),
      orig_iat_min_sec: s[ORIG + D_IAT_MIN],
      orig_iat_max_sec: s[ORIG + D_IAT_MAX],
      orig_iat_mean_sec: s[ORIG + D_IAT_MEAN],
      orig_iat_std_sec: std(s[ORIG + D_IAT_M2], s[ORIG + D_IAT_N]),
      resp_iat_min_sec: s[RESP + D_IAT_MIN],
      resp_iat_max_sec: s[RESP + D_IAT_MAX],
      resp_iat_mean_sec: s[RESP + D_IAT_MEAN],
      resp_iat_std_sec: std(s[RESP + D_IAT_M2], s[RESP + D_IAT_N]),
      orig_fin_count: s[ORIG + D_FLAGS + 0],
      orig_syn_count: s[ORIG + D_FLAGS + 1],
      orig_rst_count: s[ORIG + D_FLAGS + 2],
      orig_psh_count: s[ORIG + D_FLAGS + 3],
      orig_ack_count: s[ORIG + D_FLAGS + 4],
      orig_urg_count: s[ORIG + D_FLAGS + 5],
      orig_ece_count: s[ORIG + D_FLAGS + 6],
      orig_cwr_count: s[ORIG + D_FLAGS + 7],
      resp_fin_count: s[RESP + D_FLAGS + 0],
      resp_syn_count: s[RESP + D_FLAGS + 1],
      resp_rst_count: s[RESP + D_FLAGS + 2],
      resp_psh_count: s[RESP + D_FLAGS + 3],
      resp_ack_count: s[RESP + D_FLAGS + 4],
      resp_urg_count: s[RESP + D_FLAGS + 5],
      resp_ece_count: s[RESP + D_FLAGS + 6],
      resp_cwr_count: s[RESP + D_FLAGS + 7],
      orig_init_window: s[ORIG + D_INIT_WINDOW],
      resp_init_window: s[RESP + D_INIT_WINDOW],
      bytes_per_sec: perSec(bytes),
      packets_per_sec: perSec(packets),
      orig_packets_per_sec: perSec(origPackets),
      resp_packets_per_sec: perSec(respPackets),
      active_min_sec: activeMin,
      active_max_sec: activeMax,
      active_mean_sec: activeMean,
      active_std_sec: std(activeM2, activeN),
      idle_min_sec: s[F_IDLE_MIN],
      idle_max_sec: s[F_IDLE_MAX],
      idle_mean_sec: s[F_IDLE_MEAN],
      idle_std_sec: std(s[F_IDLE_M2], s[F_IDLE_N]),
      down_up_ratio: respPackets / (origPackets > 1 ? origPackets : 1),
    };
  }

  /** The statistics as a plain JSON-able array. */
  toJSON(): number[] {
    return Array.from(this.stats);
  }
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
