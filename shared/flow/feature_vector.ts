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

import { type FlowContext, writeContextObject } from "./flow_context.ts";
import { FLOW_FEATURE_COUNT, FLOW_FEATURE_NAMES, type FlowFeatures } from "./flow_features.ts";
import { type FlowRecord, writeFlowContext, writeFlowFeatures } from "./flow_table.ts";

/** Version of {@linkcode FEATURE_NAMES}; a model records the version it was trained on. */
export const FEATURE_VERSION = 2;

// The per-flow part is every feature flow_features.ts derives, in its order. Adding one there
// changes the model's input; models/FEATURES.md (feature_vector_test.ts) and the committed model's
// sidecar (the scorer refuses a model whose featureNames differ) both pin FEATURE_NAMES, so that
// cannot pass unnoticed: bump FEATURE_VERSION and retrain.
const PER_FLOW: readonly (keyof FlowFeatures)[] = FLOW_FEATURE_NAMES;

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
    out.set(derived, PER_FLOW_OFFSET);
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
