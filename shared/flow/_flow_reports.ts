/**
 * What a flow table reports from one call: the records of the flows that
 * ended (final, with context), the live flows changed since the last
 * report, each once, and the objects of reported flows, kept for the next
 * flows so that a sweep's burst of ended flows serves the ones after it.
 *
 * @module
 */

import type { Flow } from "./_flow.ts";
import { type FlowRecord, toRecord } from "./_flow_record.ts";

/**
 * Most flow objects (with their accumulators) kept for reuse: enough for the
 * flows a sweep of a busy link ends together (about 10 MiB at most).
 */
const MAX_SPARE_FLOWS = 16384;

/** A flow table's reports and spare flow objects (see the module doc). */
export class FlowReports {
  /** Records of the flows ended (and with context) in the current call. */
  #endedOut: FlowRecord[] = [];
  /** Flows changed in the current call; `Flow.changedEpoch` dedups them. */
  #changed: (Flow | undefined)[] = [];
  /**
   * Flows reported in the current packet's processing (still possibly read
   * by it), and flows whose objects {@linkcode FlowReports.spare} may give
   * again: a flow reported as ended is referenced by nothing in the table
   * any more.
   */
  #retired: Flow[] = [];
  #spares: Flow[] = [];
  #epoch = 1;

  /** Lists a live flow as changed in this report, once however often it changes. */
  markChanged(flow: Flow): void {
    if (flow.changedEpoch !== this.#epoch) {
      flow.changedEpoch = this.#epoch;
      flow.changedIndex = this.#changed.length;
      this.#changed.push(flow);
    }
  }

  /**
   * Reports a flow that is final and has its context. Its record is made
   * now (the flow can no longer change) and the table lets go of it, so
   * that a flow that ends young is collected young.
   */
  output(flow: Flow): void {
    this.#endedOut.push(toRecord(flow, true));
    // Nothing reads a reported flow's statistics again: reuse the slot.
    flow.acc.release();
    if (flow.changedEpoch === this.#epoch) this.#changed[flow.changedIndex] = undefined;
    this.#retired.push(flow);
  }

  /** Snapshots of the live flows changed since the last report; starts a new report. */
  takeChanged(): FlowRecord[] {
    const changed: FlowRecord[] = [];
    // A flow that ended but waits for its context is reported as it is now
    // (closed, without context); it is reported again once it has one.
    // Flows reported as ended had their slot cleared.
    for (const flow of this.#changed) {
      if (flow !== undefined) changed.push(toRecord(flow, false));
    }
    this.#changed = [];
    this.#epoch++;
    return changed;
  }

  /** The flows ended since the last report; their objects may serve new flows now. */
  takeEnded(): FlowRecord[] {
    const ended = this.#endedOut;
    this.recycle();
    this.#endedOut = [];
    return ended;
  }

  /**
   * A reported flow's object to reuse, if any; its accumulator was released
   * (see {@linkcode FlowReports.output}) and must be renewed.
   */
  spare(): Flow | undefined {
    return this.#spares.pop();
  }

  /**
   * Moves the flows reported so far to the spares (up to a bound) and lets
   * the rest go: called once they have been read for the last time.
   */
  recycle(): void {
    const retired = this.#retired;
    if (retired.length === 0) return;
    for (let i = 0; i < retired.length && this.#spares.length < MAX_SPARE_FLOWS; i++) {
      this.#spares.push(retired[i]);
    }
    retired.length = 0;
  }
}
