/**
 * A flow's context: its admission to its agent's context windows once its
 * outcome delay has passed, and its outcome as the windows see it
 * (answered, rejected, SYN, established), handed to the agent's
 * {@linkcode ContextTracker} in a shared scratch subject, again only when it
 * changed.
 *
 * @module
 */

import type { ContextSubject, ContextTracker } from "./context_features.ts";
import type { AgentLane } from "./_agent_lane.ts";
import type { Flow } from "./_flow.ts";
import type { FlowReports } from "./_flow_reports.ts";
import { ESTABLISHED, ORIG_SYN, REJECTED } from "./_tcp_state.ts";

// Outcome bits as the context tracker sees them.
const OUT_ANSWERED = 1;
const OUT_REJECTED = 2;
const OUT_SYN = 4;
const OUT_ESTABLISHED = 8;

/** The flow's outcome bits; `Flow.ctxBits` keeps the ones last handed to the tracker. */
function outcomeBits(flow: Flow): number {
  const bits = flow.bits;
  return (flow.acc.packets(false) > 0 ? OUT_ANSWERED : 0) |
    ((bits & REJECTED) !== 0 ? OUT_REJECTED : 0) |
    ((bits & ORIG_SYN) !== 0 ? OUT_SYN : 0) |
    ((bits & ESTABLISHED) !== 0 ? OUT_ESTABLISHED : 0);
}

/** Reused by {@linkcode subjectOf}: the tracker copies what it keeps. */
const scratchSubject: ContextSubject = {
  uid: "",
  first_seen: 0,
  orig_ip: null,
  resp_ip: null,
  protocol: "",
  resp_port: null,
  answered: false,
  rejected: false,
  syn: false,
  established: false,
};

/** The flow as the context tracker reads it, in a shared scratch object. */
function subjectOf(flow: Flow): ContextSubject {
  const bits = outcomeBits(flow);
  const subject = scratchSubject;
  subject.uid = flow.uid;
  subject.first_seen = flow.firstSeen;
  subject.orig_ip = flow.origIp;
  subject.resp_ip = flow.respIp;
  subject.protocol = flow.protocol;
  subject.resp_port = flow.respPort;
  subject.answered = (bits & OUT_ANSWERED) !== 0;
  subject.rejected = (bits & OUT_REJECTED) !== 0;
  subject.syn = (bits & OUT_SYN) !== 0;
  subject.established = (bits & OUT_ESTABLISHED) !== 0;
  return subject;
}

/**
 * Computes the contexts of an agent's flows whose outcome delay
 * (`delaySec`) passed before `ts`, in admission order; an ended flow is
 * then reported to `reports`, a live one marked changed.
 */
export function admitDue(
  lane: AgentLane<Flow>,
  ts: number,
  delaySec: number,
  reports: FlowReports,
): void {
  const queue = lane.queue;
  const tracker: ContextTracker = lane.tracker;
  while (lane.queueHead < queue.length) {
    const flow = queue[lane.queueHead]!;
    if (!(flow.firstSeen + delaySec < ts)) break;
    queue[lane.queueHead++] = undefined;
    flow.ctxBits = outcomeBits(flow);
    const handle = tracker.admitHandle(subjectOf(flow));
    flow.ctxHandle = handle;
    // The window counts of this moment; every record of the flow shares
    // them, and the context object they give (made when first read).
    flow.ctx = tracker.countsOf(handle);
    if (flow.ended) reports.output(flow);
    else reports.markChanged(flow);
  }
  lane.compact();
}

/**
 * Records a change of an admitted flow's outcome (an answer, a rejection,
 * the handshake) in its agent's context windows; nothing when the bits are
 * those last recorded.
 */
export function reportOutcome(flow: Flow): void {
  if (flow.ctx === null) return;
  const bits = outcomeBits(flow);
  if (bits !== flow.ctxBits) {
    flow.ctxBits = bits;
    if (flow.ctxHandle !== null) flow.lane.tracker.updateHandle(flow.ctxHandle, subjectOf(flow));
  }
}
