/**
 * The context features of one flow ({@linkcode FlowContext}): their names
 * and key order, the all-zero context, and the writer of their values into a
 * feature vector. `context_features.ts` computes them.
 *
 * @module
 */

/** Context features of one flow; `short_*` over the short window, `long_*` over the long one. */
export interface FlowContext {
  /** Flows started by this originator in the short window, per second. */
  short_orig_flow_rate: number;
  /** Distinct responder addresses this originator contacted in the short window. */
  short_orig_distinct_resp_hosts: number;
  /** Distinct responder (protocol, port) pairs this originator contacted in the short window. */
  short_orig_distinct_resp_ports: number;
  /** Share (0..1) of the originator's short-window flows that were rejected. */
  short_orig_rejected_share: number;
  /** Share (0..1) of the originator's short-window flows without any responder packet. */
  short_orig_unanswered_share: number;
  /** Flows to this responder service in the short window, per second. */
  short_resp_flow_rate: number;
  /** Distinct originators that reached this responder service in the short window. */
  short_resp_distinct_origs: number;
  /** Share (0..1) of the service's short-window flows left half-open. */
  short_resp_half_open_share: number;
  /** As `short_orig_flow_rate`, over the long window. */
  long_orig_flow_rate: number;
  /** As `short_orig_distinct_resp_hosts`, over the long window. */
  long_orig_distinct_resp_hosts: number;
  /** As `short_orig_distinct_resp_ports`, over the long window. */
  long_orig_distinct_resp_ports: number;
  /** As `short_orig_rejected_share`, over the long window. */
  long_orig_rejected_share: number;
  /** As `short_orig_unanswered_share`, over the long window. */
  long_orig_unanswered_share: number;
  /** As `short_resp_flow_rate`, over the long window. */
  long_resp_flow_rate: number;
  /** As `short_resp_distinct_origs`, over the long window. */
  long_resp_distinct_origs: number;
  /** As `short_resp_half_open_share`, over the long window. */
  long_resp_half_open_share: number;
  /** `short_orig_distinct_resp_hosts` / flows of the originator in the short window (0..1]. */
  short_orig_resp_hosts_share: number;
  /** `short_orig_distinct_resp_ports` / flows of the originator in the short window (0..1]. */
  short_orig_resp_ports_share: number;
  /** Flows to the responder address (any protocol or port) in the short window, per second. */
  short_resphost_flow_rate: number;
  /** Distinct originators that reached the responder address in the short window. */
  short_resphost_distinct_origs: number;
  /** Distinct (protocol, port) pairs reached on the responder address in the short window. */
  short_resphost_distinct_ports: number;
  /** Share (0..1) of the short-window flows to the responder address without any responder packet. */
  short_resphost_unanswered_share: number;
  /** As `short_orig_resp_hosts_share`, over the long window. */
  long_orig_resp_hosts_share: number;
  /** As `short_orig_resp_ports_share`, over the long window. */
  long_orig_resp_ports_share: number;
  /** As `short_resphost_flow_rate`, over the long window. */
  long_resphost_flow_rate: number;
  /** As `short_resphost_distinct_origs`, over the long window. */
  long_resphost_distinct_origs: number;
  /** As `short_resphost_distinct_ports`, over the long window. */
  long_resphost_distinct_ports: number;
  /** As `short_resphost_unanswered_share`, over the long window. */
  long_resphost_unanswered_share: number;
}

/** A context of all zeros, for flows without IP addresses. */
export function emptyFlowContext(): FlowContext {
  return {
    short_orig_flow_rate: 0,
    short_orig_distinct_resp_hosts: 0,
    short_orig_distinct_resp_ports: 0,
    short_orig_rejected_share: 0,
    short_orig_unanswered_share: 0,
    short_resp_flow_rate: 0,
    short_resp_distinct_origs: 0,
    short_resp_half_open_share: 0,
    long_orig_flow_rate: 0,
    long_orig_distinct_resp_hosts: 0,
    long_orig_distinct_resp_ports: 0,
    long_orig_rejected_share: 0,
    long_orig_unanswered_share: 0,
    long_resp_flow_rate: 0,
    long_resp_distinct_origs: 0,
    long_resp_half_open_share: 0,
    short_orig_resp_hosts_share: 0,
    short_orig_resp_ports_share: 0,
    short_resphost_flow_rate: 0,
    short_resphost_distinct_origs: 0,
    short_resphost_distinct_ports: 0,
    short_resphost_unanswered_share: 0,
    long_orig_resp_hosts_share: 0,
    long_orig_resp_ports_share: 0,
    long_resphost_flow_rate: 0,
    long_resphost_distinct_origs: 0,
    long_resphost_distinct_ports: 0,
    long_resphost_unanswered_share: 0,
  };
}

/**
 * Writes a context's values at `out[at..at + 28)` in {@linkcode FlowContext}'s
 * key order, with plain property reads (a keyed read per name would go
 * through V8's megamorphic lookup); `feature_vector_test.ts` checks the order
 * against the feature names.
 */
export function writeContextObject(c: FlowContext, out: Float32Array, at: number): void {
  out[at] = c.short_orig_flow_rate;
  out[at + 1] = c.short_orig_distinct_resp_hosts;
  out[at + 2] = c.short_orig_distinct_resp_ports;
  out[at + 3] = c.short_orig_rejected_share;
  out[at + 4] = c.short_orig_unanswered_share;
  out[at + 5] = c.short_resp_flow_rate;
  out[at + 6] = c.short_resp_distinct_origs;
  out[at + 7] = c.short_resp_half_open_share;
  out[at + 8] = c.long_orig_flow_rate;
  out[at + 9] = c.long_orig_distinct_resp_hosts;
  out[at + 10] = c.long_orig_distinct_resp_ports;
  out[at + 11] = c.long_orig_rejected_share;
  out[at + 12] = c.long_orig_unanswered_share;
  out[at + 13] = c.long_resp_flow_rate;
  out[at + 14] = c.long_resp_distinct_origs;
  out[at + 15] = c.long_resp_half_open_share;
  out[at + 16] = c.short_orig_resp_hosts_share;
  out[at + 17] = c.short_orig_resp_ports_share;
  out[at + 18] = c.short_resphost_flow_rate;
  out[at + 19] = c.short_resphost_distinct_origs;
  out[at + 20] = c.short_resphost_distinct_ports;
  out[at + 21] = c.short_resphost_unanswered_share;
  out[at + 22] = c.long_orig_resp_hosts_share;
  out[at + 23] = c.long_orig_resp_ports_share;
  out[at + 24] = c.long_resphost_flow_rate;
  out[at + 25] = c.long_resphost_distinct_origs;
  out[at + 26] = c.long_resphost_distinct_ports;
  out[at + 27] = c.long_resphost_unanswered_share;
}
