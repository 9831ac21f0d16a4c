/**
 * One flow's context features kept as the window counts they are derived
 * from ({@linkcode FlowContextCounts}), for flows that hold their context
 * long after the windows moved on.
 *
 * @module
 */
import {
  A_H_LANSWERED,
  A_H_LN,
  A_H_LORIGS,
  A_H_LPORTS,
  A_H_SANSWERED,
  A_H_SN,
  A_H_SORIGS,
  A_H_SPORTS,
  A_O_LANSWERED,
  A_O_LHOSTS,
  A_O_LN,
  A_O_LPORTS,
  A_O_LREJECTED,
  A_O_SANSWERED,
  A_O_SHOSTS,
  A_O_SN,
  A_O_SPORTS,
  A_O_SREJECTED,
  S_LN,
  S_LORIGS,
  S_LSYN,
  S_LSYN_ESTABLISHED,
  S_SN,
  S_SORIGS,
  S_SSYN,
  S_SSYN_ESTABLISHED,
} from "./_context_cells.ts";
import type { ContextOptions } from "./context_options.ts";
import { emptyFlowContext, type FlowContext, writeContextObject } from "./flow_context.ts";

/** {@linkcode countsOfCells}, set in {@linkcode FlowContextCounts}' static block. */
let takeCounts: typeof countsOfCells;
/** {@linkcode makeContext}, set in {@linkcode FlowContextCounts}' static block. */
let makeCounted: typeof makeContext;

/**
 * Where each flow's 26 window counts sit in its slot of a shared slab. As
 * 26 private fields they made an object of about 250 bytes per flow that
 * lived as long as the flow's records and was copied by every scavenge;
 * in a slab they are 104 bytes off the JS heap, and the object keeps four
 * fields.
 */
const C_OS_N = 0;
const C_OS_HOSTS = 1;
const C_OS_PORTS = 2;
const C_OS_REJECTED = 3;
const C_OS_ANSWERED = 4;
const C_OL_N = 5;
const C_OL_HOSTS = 6;
const C_OL_PORTS = 7;
const C_OL_REJECTED = 8;
const C_OL_ANSWERED = 9;
const C_SS_N = 10;
const C_SS_ORIGS = 11;
const C_SS_SYN = 12;
const C_SS_SYN_ESTABLISHED = 13;
const C_SL_N = 14;
const C_SL_ORIGS = 15;
const C_SL_SYN = 16;
const C_SL_SYN_ESTABLISHED = 17;
const C_HS_N = 18;
const C_HS_ORIGS = 19;
const C_HS_PORTS = 20;
const C_HS_ANSWERED = 21;
const C_HL_N = 22;
const C_HL_ORIGS = 23;
const C_HL_PORTS = 24;
const C_HL_ANSWERED = 25;
/** Counts in a slot. */
const COUNTS = 26;
/** Ints per slab (256 KiB): a slab lives as long as any of its flows' counts. */
const COUNTS_SLAB_SIZE = COUNTS * 2520;
/** The slot of counts that have none (no addresses, or a context made elsewhere). */
const NO_COUNTS = new Int32Array(COUNTS);
/** The slab being filled, and its next free slot. */
let countsSlab = new Int32Array(0);
let countsNext = COUNTS_SLAB_SIZE;

/**
 * One flow's context as the window counts it is derived from, taken when
 * the flow was admitted. {@linkcode FlowContextCounts.context} makes the
 * {@linkcode FlowContext} (frozen) on first use and returns that one object
 * from then on; {@linkcode FlowContextCounts.write} writes its values
 * without making it. Both give exactly what
 * {@linkcode ContextTracker.contextOf} gave at admission.
 */
export class FlowContextCounts {
  /** Slab holding the 26 counts at `#at` (see `COUNTS_SLAB_SIZE`). */
  #slab: Int32Array;
  #at: number;
  #options: Required<ContextOptions> | null;
  #context: FlowContext | null = null;

  private constructor(options: Required<ContextOptions> | null) {
    this.#options = options;
    if (options === null) {
      this.#slab = NO_COUNTS;
      this.#at = 0;
      return;
    }
    if (countsNext === COUNTS_SLAB_SIZE) {
      countsSlab = new Int32Array(COUNTS_SLAB_SIZE);
      countsNext = 0;
    }
    this.#slab = countsSlab;
    this.#at = countsNext;
    countsNext += COUNTS;
  }

  static {
    takeCounts = (a, o, h, s, v, options) => {
      const counts = new FlowContextCounts(options);
      counts.#take(a, o, h, s, v);
      return counts;
    };
    makeCounted = (counts) => counts.#make();
  }

  /** Copies the counts of the windows' cells as they are now. */
  #take(t: Int32Array, o: number, h: number, s: Int32Array, v: number): void {
    const c = this.#slab;
    const a = this.#at;
    c[a + C_OS_N] = t[o + A_O_SN];
    c[a + C_OS_HOSTS] = t[o + A_O_SHOSTS];
    c[a + C_OS_PORTS] = t[o + A_O_SPORTS];
    c[a + C_OS_REJECTED] = t[o + A_O_SREJECTED];
    c[a + C_OS_ANSWERED] = t[o + A_O_SANSWERED];
    c[a + C_OL_N] = t[o + A_O_LN];
    c[a + C_OL_HOSTS] = t[o + A_O_LHOSTS];
    c[a + C_OL_PORTS] = t[o + A_O_LPORTS];
    c[a + C_OL_REJECTED] = t[o + A_O_LREJECTED];
    c[a + C_OL_ANSWERED] = t[o + A_O_LANSWERED];
    c[a + C_SS_N] = s[v + S_SN];
    c[a + C_SS_ORIGS] = s[v + S_SORIGS];
    c[a + C_SS_SYN] = s[v + S_SSYN];
    c[a + C_SS_SYN_ESTABLISHED] = s[v + S_SSYN_ESTABLISHED];
    c[a + C_SL_N] = s[v + S_LN];
    c[a + C_SL_ORIGS] = s[v + S_LORIGS];
    c[a + C_SL_SYN] = s[v + S_LSYN];
    c[a + C_SL_SYN_ESTABLISHED] = s[v + S_LSYN_ESTABLISHED];
    c[a + C_HS_N] = t[h + A_H_SN];
    c[a + C_HS_ORIGS] = t[h + A_H_SORIGS];
    c[a + C_HS_PORTS] = t[h + A_H_SPORTS];
    c[a + C_HS_ANSWERED] = t[h + A_H_SANSWERED];
    c[a + C_HL_N] = t[h + A_H_LN];
    c[a + C_HL_ORIGS] = t[h + A_H_LORIGS];
    c[a + C_HL_PORTS] = t[h + A_H_LPORTS];
    c[a + C_HL_ANSWERED] = t[h + A_H_LANSWERED];
  }

  /** The context of a flow without addresses: all zeros (see {@linkcode emptyFlowContext}). */
  static empty(): FlowContextCounts {
    return new FlowContextCounts(null);
  }

  /** Holds a context made elsewhere (e.g. restored): `context()` returns `context` itself. */
  static of(context: FlowContext): FlowContextCounts {
    const counts = new FlowContextCounts(null);
    counts.#context = context;
    return counts;
  }

  /** The context, frozen: made on the first call, the same object after. */
  context(): FlowContext {
    let context = this.#context;
    if (context === null) {
      context = this.#context = Object.freeze(this.#make());
    }
    return context;
  }

  /**
   * Writes the context's values at `out[at..at + 28)` in
   * {@linkcode FlowContext}'s key order, as numbers of `out`'s type.
   */
  write(out: Float32Array, at: number): void {
    const context = this.#context;
    if (context !== null || this.#options === null) {
      writeContextObject(context ?? this.context(), out, at);
      return;
    }
    const c = this.#slab;
    const a = this.#at;
    const shortSec = this.#options.shortWindowSec;
    const longSec = this.#options.longWindowSec;
    out[at] = c[a + C_OS_N] / shortSec;
    out[at + 1] = c[a + C_OS_HOSTS];
    out[at + 2] = c[a + C_OS_PORTS];
    out[at + 3] = c[a + C_OS_REJECTED] / c[a + C_OS_N];
    out[at + 4] = (c[a + C_OS_N] - c[a + C_OS_ANSWERED]) / c[a + C_OS_N];
    out[at + 5] = c[a + C_SS_N] / shortSec;
    out[at + 6] = c[a + C_SS_ORIGS];
    out[at + 7] = (c[a + C_SS_SYN] - c[a + C_SS_SYN_ESTABLISHED]) / c[a + C_SS_N];
    out[at + 8] = c[a + C_OL_N] / longSec;
    out[at + 9] = c[a + C_OL_HOSTS];
    out[at + 10] = c[a + C_OL_PORTS];
    out[at + 11] = c[a + C_OL_REJECTED] / c[a + C_OL_N];
    out[at + 12] = (c[a + C_OL_N] - c[a + C_OL_ANSWERED]) / c[a + C_OL_N];
    out[at + 13] = c[a + C_SL_N] / longSec;
    out[at + 14] = c[a + C_SL_ORIGS];
    out[at + 15] = (c[a + C_SL_SYN] - c[a + C_SL_SYN_ESTABLISHED]) / c[a + C_SL_N];
    out[at + 16] = c[a + C_OS_HOSTS] / c[a + C_OS_N];
    out[at + 17] = c[a + C_OS_PORTS] / c[a + C_OS_N];
    out[at + 18] = c[a + C_HS_N] / shortSec;
    out[at + 19] = c[a + C_HS_ORIGS];
    out[at + 20] = c[a + C_HS_PORTS];
    out[at + 21] = (c[a + C_HS_N] - c[a + C_HS_ANSWERED]) / c[a + C_HS_N];
    out[at + 22] = c[a + C_OL_HOSTS] / c[a + C_OL_N];
    out[at + 23] = c[a + C_OL_PORTS] / c[a + C_OL_N];
    out[at + 24] = c[a + C_HL_N] / longSec;
    out[at + 25] = c[a + C_HL_ORIGS];
    out[at + 26] = c[a + C_HL_PORTS];
    out[at + 27] = (c[a + C_HL_N] - c[a + C_HL_ANSWERED]) / c[a + C_HL_N];
  }

  #make(): FlowContext {
    if (this.#options === null) return emptyFlowContext();
    const c = this.#slab;
    const a = this.#at;
    const shortSec = this.#options.shortWindowSec;
    const longSec = this.#options.longWindowSec;
    return {
      short_orig_flow_rate: c[a + C_OS_N] / shortSec,
      short_orig_distinct_resp_hosts: c[a + C_OS_HOSTS],
      short_orig_distinct_resp_ports: c[a + C_OS_PORTS],
      short_orig_rejected_share: c[a + C_OS_REJECTED] / c[a + C_OS_N],
      short_orig_unanswered_share: (c[a + C_OS_N] - c[a + C_OS_ANSWERED]) / c[a + C_OS_N],
      short_resp_flow_rate: c[a + C_SS_N] / shortSec,
      short_resp_distinct_origs: c[a + C_SS_ORIGS],
      short_resp_half_open_share: (c[a + C_SS_SYN] - c[a + C_SS_SYN_ESTABLISHED]) / c[a + C_SS_N],
      long_orig_flow_rate: c[a + C_OL_N] / longSec,
      long_orig_distinct_resp_hosts: c[a + C_OL_HOSTS],
      long_orig_distinct_resp_ports: c[a + C_OL_PORTS],
      long_orig_rejected_share: c[a + C_OL_REJECTED] / c[a + C_OL_N],
      long_orig_unanswered_share: (c[a + C_OL_N] - c[a + C_OL_ANSWERED]) / c[a + C_OL_N],
      long_resp_flow_rate: c[a + C_SL_N] / longSec,
      long_resp_distinct_origs: c[a + C_SL_ORIGS],
      long_resp_half_open_share: (c[a + C_SL_SYN] - c[a + C_SL_SYN_ESTABLISHED]) / c[a + C_SL_N],
      short_orig_resp_hosts_share: c[a + C_OS_HOSTS] / c[a + C_OS_N],
      short_orig_resp_ports_share: c[a + C_OS_PORTS] / c[a + C_OS_N],
      short_resphost_flow_rate: c[a + C_HS_N] / shortSec,
      short_resphost_distinct_origs: c[a + C_HS_ORIGS],
      short_resphost_distinct_ports: c[a + C_HS_PORTS],
      short_resphost_unanswered_share: (c[a + C_HS_N] - c[a + C_HS_ANSWERED]) / c[a + C_HS_N],
      long_orig_resp_hosts_share: c[a + C_OL_HOSTS] / c[a + C_OL_N],
      long_orig_resp_ports_share: c[a + C_OL_PORTS] / c[a + C_OL_N],
      long_resphost_flow_rate: c[a + C_HL_N] / longSec,
      long_resphost_distinct_origs: c[a + C_HL_ORIGS],
      long_resphost_distinct_ports: c[a + C_HL_PORTS],
      long_resphost_unanswered_share: (c[a + C_HL_N] - c[a + C_HL_ANSWERED]) / c[a + C_HL_N],
    };
  }
}

/**
 * The counts of an originator (at `o` of `a`), responder host (at `h`) and
 * service (at `v` of `s`) as they are now, in cells laid out as
 * `_context_cells.ts` says: how `ContextTracker` makes a flow's
 * {@linkcode FlowContextCounts} (whose constructor is private).
 */
export function countsOfCells(
  a: Int32Array,
  o: number,
  h: number,
  s: Int32Array,
  v: number,
  options: Required<ContextOptions>,
): FlowContextCounts {
  return takeCounts(a, o, h, s, v, options);
}

/** The context of `counts` as a new object, not frozen (as `ContextTracker.contextOf` returns it). */
export function makeContext(counts: FlowContextCounts): FlowContext {
  return makeCounted(counts);
}
