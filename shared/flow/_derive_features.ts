/**
 * The per-flow features derived from a flow's statistics:
 * {@linkcode deriveFeatures}, the single definition of every feature, into a
 * vector, and {@linkcode featuresFromStats}, the same as named fields. The
 * accumulator that gathers the statistics is in `flow_features.ts`.
 *
 * @module
 */

import { FLOW_FEATURE_COUNT, type FlowFeatures } from "./_flow_feature_names.ts";
import * as layout from "./_flow_stats_layout.ts";

// The layout as this module's own constants, which V8 folds into the code
// that reads them, rather than imported bindings, loaded from their module
// cell at every use (see flow_features.ts).
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
  D_LEN_M2,
  D_LEN_MAX,
  D_LEN_MEAN,
  D_LEN_MIN,
  D_PACKETS,
  D_PAYLOAD,
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
  F_LEN_M2,
  F_LEN_MAX,
  F_LEN_MEAN,
  F_LEN_MIN,
  ORIG,
  RESP,
} = layout;

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

function std(m2: number, n: number): number {
  return n > 0 ? Math.sqrt(m2 / n) : 0;
}
