/**
 * The names of the per-flow features: their type ({@linkcode FlowFeatures},
 * one documented field each) and their order ({@linkcode FLOW_FEATURE_NAMES}),
 * the order in which `deriveFeatures()` writes them and in which they open
 * the model's feature vector. Apart from the accumulator (`flow_features.ts`)
 * so that the table is read on its own.
 *
 * @module
 */

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
