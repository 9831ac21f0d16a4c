/**
 * The model's input: a versioned, ordered list of feature names and the one
 * function that turns a flow (plus its context) into that vector, used by
 * training and by the aggregator's scorer alike. `models/FEATURES.md`
 * documents every entry.
 *
 * Change the list only together with FEATURE_VERSION, and retrain.
 *
 * @module
 */

import { type FlowContext, writeContextObject } from "./context_features.ts";
import { FLOW_FEATURE_COUNT, FLOW_FEATURE_NAMES, type FlowFeatures } from "./flow_features.ts";
import { type FlowRecord, writeFlowContext, writeFlowFeatures } from "./flow_table.ts";

/** Version of {@linkcode FEATURE_NAMES}; a model records the version it was trained on. */
export const FEATURE_VERSION = 2;

const PER_FLOW: readonly (keyof FlowFeatures)[] = [
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
];

const CONTEXT: readonly (keyof FlowContext)[] = [
  "short_orig_flow_rate",
  "short_orig_distinct_resp_hosts",
  "short_orig_distinct_resp_ports",
  "short_orig_rejected_share",
  "short_orig_unanswered_share",
  "short_resp_flow_rate",
  "short_resp_distinct_origs",
  "short_resp_half_open_share",
  "long_orig_flow_rate",
  "long_orig_distinct_resp_hosts",
  "long_orig_distinct_resp_ports",
  "long_orig_rejected_share",
  "long_orig_unanswered_share",
  "long_resp_flow_rate",
  "long_resp_distinct_origs",
  "long_resp_half_open_share",
  "short_orig_resp_hosts_share",
  "short_orig_resp_ports_share",
  "short_resphost_flow_rate",
  "short_resphost_distinct_origs",
  "short_resphost_distinct_ports",
  "short_resphost_unanswered_share",
  "long_orig_resp_hosts_share",
  "long_orig_resp_ports_share",
  "long_resphost_flow_rate",
  "long_resphost_distinct_origs",
  "long_resphost_distinct_ports",
  "long_resphost_unanswered_share",
];

const FLOW_LEVEL = [
  "proto_tcp",
  "proto_udp",
  "proto_icmp",
  "proto_other",
  "resp_port",
  "syn_seen",
  "established",
  "answered",
  "rejected",
] as const;

/** Ordered feature names of version {@linkcode FEATURE_VERSION}; index i is vector element i. */
export const FEATURE_NAMES: readonly string[] = Object.freeze([
  ...FLOW_LEVEL,
  ...PER_FLOW,
  ...CONTEXT,
]);

const PER_FLOW_OFFSET = FLOW_LEVEL.length;
const CONTEXT_OFFSET = PER_FLOW_OFFSET + PER_FLOW.length;

/** For each PER_FLOW entry, its index in the order `writeFlowFeatures` writes. */
const PER_FLOW_SOURCE = Int32Array.from(PER_FLOW, (name) => {
  const index = FLOW_FEATURE_NAMES.indexOf(name);
  if (index < 0) throw new Error(`Per-flow feature '${name}' has no definition`);
  return index;
});
/** Scratch output of `writeFlowFeatures`. */
const derived = new Float64Array(FLOW_FEATURE_COUNT);

/**
 * Builds the model input for one flow. `context` is normally `flow.context`,
 * which is what leaving it out means (for a record the flow table made, the
 * values are then written without making the context object); when it is
 * null (a flow scored before its context was computed) the context entries
 * are 0. The vector is a view of its own range of a buffer that later
 * vectors share (mind `byteOffset` when reading `buffer`).
 *
 * @example
 * ```ts
 * const x = flowFeatureVector(flow, flow.context);
 * x.length === FEATURE_NAMES.length; // true
 * flowFeatureVector(flow); // the same values
 * ```
 */
export function flowFeatureVector(
  flow: FlowRecord,
  context?: FlowContext | null,
): Float32Array {
  const out = newVector();
  const proto = flow.protocol;
  const isTcp = proto === "TCP";
  const isUdp = proto === "UDP";
  const isIcmp = proto === "ICMP" || proto === "ICMPv6";
  out[0] = isTcp ? 1 : 0;
  out[1] = isUdp ? 1 : 0;
  out[2] = isIcmp ? 1 : 0;
  out[3] = isTcp || isUdp || isIcmp ? 0 : 1;
  out[4] = flow.resp_port ?? -1;
  out[5] = flow.syn_seen ? 1 : 0;
  out[6] = flow.established ? 1 : 0;
  out[7] = flow.answered ? 1 : 0;
  out[8] = flow.rejected ? 1 : 0;
  if (writeFlowFeatures(flow, derived)) {
    // A table's record: the same values its features object would give.
    for (let i = 0; i < PER_FLOW_SOURCE.length; i++) {
      out[PER_FLOW_OFFSET + i] = derived[PER_FLOW_SOURCE[i]];
    }
  } else {
    const features = flow.features;
    for (let i = 0; i < PER_FLOW.length; i++) {
      out[PER_FLOW_OFFSET + i] = features[PER_FLOW[i]];
    }
  }
  if (context === undefined) {
    if (!writeFlowContext(flow, out, CONTEXT_OFFSET)) context = flow.context;
    else return out;
  }
  if (context !== null) writeContextObject(context, out, CONTEXT_OFFSET);
  return out;
}

/** Vectors handed out per shared buffer (about 64 KiB). */
const VECTORS_PER_BUFFER = 180;
let vectorBuffer = new Float32Array(0);
let vectorNext = 0;

/**
 * A zeroed vector: a view of its own range of a buffer shared with the next
 * few hundred vectors, because one typed array per vector with its own
 * buffer costs more than building the vector.
 */
function newVector(): Float32Array {
  const length = FEATURE_NAMES.length;
  if (vectorNext + length > vectorBuffer.length) {
    vectorBuffer = new Float32Array(length * VECTORS_PER_BUFFER);
    vectorNext = 0;
  }
  const start = vectorNext;
  vectorNext += length;
  return vectorBuffer.subarray(start, start + length);
}
