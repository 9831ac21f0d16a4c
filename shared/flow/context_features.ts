/**
 * Time-window context features in the spirit of KDD'99 / NSL-KDD's
 * "time-based traffic features": what else the originator did, and what else
 * happened to the responder's service, around the time a flow started.
 *
 * Definitions (see also `models/FEATURES.md`):
 *
 * - The window of flow `f` is the set of flows `g` (including `f`) whose
 *   `first_seen` lies in `(f.first_seen - W, f.first_seen]`, in the order the
 *   flow table created them; two windows are kept, short (2 s, KDD's) and
 *   long (60 s, for slow scans).
 * - Outcomes (answered, rejected, SYN seen, handshake completed) only exist
 *   some time after a flow starts, so the context of `f` is computed once,
 *   when packet time passes `f.first_seen + outcomeDelaySec` (2 s): every
 *   flow in the window has then been observed for at least that long. The
 *   value never changes afterwards, whatever the batch boundaries, because
 *   it depends only on packets with timestamps up to that instant.
 * - Originator side, over flows with the same `orig_ip`: flow rate
 *   (flows / W), distinct responder hosts, distinct responder (protocol,
 *   port) pairs, share rejected (TCP RST from the responder before it sent
 *   anything else, or an ICMP destination-unreachable about the flow), share
 *   unanswered (no responder packet yet).
 * - Responder side, over flows to the same (`resp_ip`, protocol,
 *   `resp_port`): flow rate, distinct originators, share half-open (the
 *   originator sent a SYN but the three-way handshake did not complete).
 * - Version 2 adds, per window, the originator's distinct hosts and ports as
 *   shares of its flows (a scan touches a new port or host with almost every
 *   flow; a client repeats itself), and the responder host over all its
 *   ports: flow rate, distinct originators, distinct (protocol, port) pairs
 *   hit and share unanswered. Floods from forged sources and reflection
 *   floods hit one host from many sources on many ports, which a single
 *   service's counts cannot see.
 *
 * State is serialisable; aggregates are rebuilt from the window entries.
 *
 * @module
 */
import * as entries from "./_context_entries.ts";
import type { ContextHandle, ContextSubject, ContextTrackerState } from "./_context_types.ts";
import {
  A_FIELDS,
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
  grown,
  PairCounts,
  S_FIELDS,
  S_LN,
  S_LORIGS,
  S_LSYN,
  S_LSYN_ESTABLISHED,
  S_SN,
  S_SORIGS,
  S_SSYN,
  S_SSYN_ESTABLISHED,
} from "./_context_cells.ts";
import { JSON_TEXT_ITEMS, jsonArrayText } from "./_json_text.ts";
import { PairIds } from "./_pair_ids.ts";
import { type ContextOptions, resolveContextOptions } from "./context_options.ts";
import { emptyFlowContext, type FlowContext } from "./flow_context.ts";
import { countsOfCells, FlowContextCounts, makeContext } from "./flow_context_counts.ts";

// The tracker's types, for importers of this module.
export type * from "./_context_types.ts";

// The entry layout as this module's own constants, which V8 folds into the
// tracker's code, rather than imported bindings, loaded from their module
// cell at every use (see flow_features.ts).
const {
  ANSWERED,
  bitsOf,
  E_BITS,
  E_FIELDS,
  E_HOST,
  E_HOST_ORIG,
  E_ORIG,
  E_ORIG_PORT,
  E_PORT_KEY,
  E_RESP,
  E_SERVICE,
  E_SERVICE_ORIG,
  NO_PORT,
  REJECTED,
  SYN,
  SYN_ESTABLISHED,
} = entries;

/**
 * Sliding-window context over a stream of flows admitted in start order.
 * Each flow is admitted once (its context is computed then), and outcome
 * changes of admitted flows are fed back with {@linkcode ContextTracker.update}
 * so that later flows see them. Amortised O(1) per admission and update.
 *
 * The flow table drives it: it admits a flow when packet time passes
 * `first_seen + outcomeDelaySec`.
 *
 * @example
 * ```ts
 * const tracker = new ContextTracker();
 * const context = tracker.admit(flowSubject);
 * tracker.update(laterStateOfAnAdmittedFlow);
 * ```
 */
export class ContextTracker {
  /** Options in force, defaults filled in. */
  readonly options: Required<ContextOptions>;
  #cursor = -Infinity;
  /**
   * Entries in a ring: entry `i` (counted from the tracker's first) is at
   * row `i & #mask`; `#head` is the oldest long-window entry, `#shortHead`
   * the oldest short-window one, `#end` the next.
   */
  #mask = 1023;
  #uids: string[] = new Array<string>(1024).fill("");
  #seqs = new Float64Array(1024);
  #times = new Float64Array(1024);
  #rows = new Int32Array(1024 * E_FIELDS);
  #head = 0;
  #shortHead = 0;
  #end = 0;
  #nextSeq = 0;
  /**
   * Live entries by uid, for {@linkcode ContextTracker.update}; built on its
   * first call and kept from then on. Callers holding a
   * {@linkcode ContextHandle} never need it, which spares hashing every uid.
   */
  #byUid: Map<string, number> | null = null;
  /** Address -> id, for addresses with an entry in the long window. */
  #addressIds = new Map<string, number>();
  /** Id -> address. */
  #addresses: string[] = [];
  /** Ids given back, reused first. */
  #freeAddresses: number[] = [];
  /** Address counts, `A_FIELDS` a id. */
  #a = new Int32Array(256 * A_FIELDS);
  /** Services: (responder address id, port key) -> id. */
  #serviceIds = new PairIds();
  /** Service counts, `S_FIELDS` a id. */
  #s = new Int32Array(256 * S_FIELDS);
  /** (originator, responder address). */
  #hostPairs = new PairCounts();
  /** (originator, port key). */
  #origPorts = new PairCounts();
  /** (service, originator). */
  #serviceOrigs = new PairCounts();
  /** (responder address, originator). */
  #hostOrigs = new PairCounts();
  /** Protocol name -> small number, for numeric port keys. */
  #protocols = new Map<string, number>();
  #protocolNames: string[] = [];

  /** Creates an empty tracker; throws RangeError on invalid options. */
  constructor(options: ContextOptions = {}) {
    this.options = resolveContextOptions(options);
  }

  /** Entries held in the long window. */
  get size(): number {
    return this.#end - this.#head;
  }

  /**
   * Adds a flow to the windows and returns its context. Flows must be
   * admitted in start order; a flow starting before the previous one is
   * treated as starting at the same time.
   */
  admit(subject: ContextSubject): FlowContext {
    return this.contextOf(this.admitHandle(subject));
  }

  /**
   * {@linkcode ContextTracker.admit} for a caller that keeps the flow: returns
   * a handle to pass to {@linkcode ContextTracker.contextOf} right away, and
   * to {@linkcode ContextTracker.updateHandle} later. Null for a flow
   * without addresses (whose context is all zeros).
   */
  admitHandle(subject: ContextSubject): ContextHandle | null {
    if (subject.orig_ip === null || subject.resp_ip === null) return null;
    if (subject.first_seen > this.#cursor) this.#cursor = subject.first_seen;
    this.#evict();
    return this.#enter(
      this.#nextSeq++,
      subject.uid,
      subject.first_seen,
      subject.orig_ip,
      subject.resp_ip,
      subject.protocol,
      subject.resp_port,
      bitsOf(subject),
      true,
    ) as unknown as ContextHandle;
  }

  /**
   * The context of the flow just admitted as `handle`, as
   * {@linkcode ContextTracker.admit} returns it.
   */
  contextOf(handle: ContextHandle | null): FlowContext {
    return handle === null
      ? emptyFlowContext()
      : makeContext(this.#countsOf(handle as unknown as number));
  }

  /** Records outcome changes of an admitted flow; other flows are ignored. */
  update(subject: ContextSubject): void {
    let byUid = this.#byUid;
    if (byUid === null) {
      byUid = this.#byUid = this.#uidMap();
    }
    const entry = byUid.get(subject.uid);
    if (entry === undefined) return;
    this.#apply(entry, subject);
  }

  /**
   * {@linkcode ContextTracker.update} of the flow admitted as `handle`;
   * ignored once the flow has left the long window.
   */
  updateHandle(handle: ContextHandle, subject: ContextSubject): void {
    const entry = handle as unknown as number;
    if (entry >= this.#head) this.#apply(entry, subject);
  }

  /**
   * Handles of the flows in the long window by uid (the latest one for a
   * repeated uid), for a caller restoring its flows next to a tracker from
   * {@linkcode ContextTracker.fromJSON}.
   */
  handlesByUid(): Map<string, ContextHandle> {
    return this.#uidMap() as unknown as Map<string, ContextHandle>;
  }

  #uidMap(): Map<string, number> {
    const map = new Map<string, number>();
    for (let i = this.#head; i < this.#end; i++) map.set(this.#uids[i & this.#mask], i);
    return map;
  }

  #apply(entry: number, subject: ContextSubject): void {
    // Outcomes only ever become true; ignore anything else.
    const row = (entry & this.#mask) * E_FIELDS;
    const bits = this.#rows[row + E_BITS];
    const added = bitsOf(subject) & ~bits;
    if (added === 0) return;
    this.#rows[row + E_BITS] = bits | added;
    const inShort = this.#shortHead < this.#end &&
      this.#seqs[entry & this.#mask] >= this.#seqs[this.#shortHead & this.#mask];
    this.#addBits(row, added, 1, inShort, true);
  }

  /** Adds (sign 1) or removes (-1) an entry's outcome bits in the chosen windows. */
  #addBits(row: number, bits: number, sign: number, short: boolean, long: boolean): void {
    if (bits === 0) return;
    const a = this.#a;
    const s = this.#s;
    const rows = this.#rows;
    const o = rows[row + E_ORIG] * A_FIELDS;
    const h = rows[row + E_RESP] * A_FIELDS;
    const v = rows[row + E_SERVICE] * S_FIELDS;
    if (long) {
      if (bits & ANSWERED) {
        a[o + A_O_LANSWERED] += sign;
        a[h + A_H_LANSWERED] += sign;
      }
      if (bits & REJECTED) a[o + A_O_LREJECTED] += sign;
      if (bits & SYN) s[v + S_LSYN] += sign;
      if (bits & SYN_ESTABLISHED) s[v + S_LSYN_ESTABLISHED] += sign;
    }
    if (short) {
      if (bits & ANSWERED) {
        a[o + A_O_SANSWERED] += sign;
        a[h + A_H_SANSWERED] += sign;
      }
      if (bits & REJECTED) a[o + A_O_SREJECTED] += sign;
      if (bits & SYN) s[v + S_SSYN] += sign;
      if (bits & SYN_ESTABLISHED) s[v + S_SSYN_ESTABLISHED] += sign;
    }
  }

  /** The tracker's state as plain data. */
  toJSON(): ContextTrackerState {
    const entries: ContextTrackerState["entries"] = [];
    for (let i = this.#head; i < this.#end; i++) entries.push(this.#entryState(i));
    return {
      options: { ...this.options },
      cursor: this.#cursorState(),
      shortHeadSeq: this.#shortHeadSeqState(),
      nextSeq: this.#nextSeq,
      entries,
    };
  }

  /**
   * The text of `JSON.stringify(this.toJSON())` in pieces of `per` entries,
   * without the whole array of entries. The tracker must not change until
   * the last piece is taken.
   */
  *toJSONText(per: number = JSON_TEXT_ITEMS): Generator<string> {
    yield `{"options":${JSON.stringify({ ...this.options })},"cursor":${
      JSON.stringify(this.#cursorState())
    },"shortHeadSeq":${JSON.stringify(this.#shortHeadSeqState())},"nextSeq":${
      JSON.stringify(this.#nextSeq)
    },"entries":`;
    yield* jsonArrayText(this.#entryRows(), (i) => this.#entryState(i), per);
    yield "}";
  }

  *#entryRows(): Generator<number> {
    for (let i = this.#head; i < this.#end; i++) yield i;
  }

  #cursorState(): number | null {
    return this.#cursor === -Infinity ? null : this.#cursor;
  }

  #shortHeadSeqState(): number {
    return this.#shortHead < this.#end ? this.#seqs[this.#shortHead & this.#mask] : this.#nextSeq;
  }

  /** Entry `i` (a position from `#head` to `#end`) as saved. */
  #entryState(i: number): ContextTrackerState["entries"][number] {
    const mask = this.#mask;
    const rows = this.#rows;
    const row = (i & mask) * E_FIELDS;
    const portKey = rows[row + E_PORT_KEY];
    const port = portKey % (NO_PORT + 1);
    return [
      this.#seqs[i & mask],
      this.#uids[i & mask],
      this.#times[i & mask],
      this.#addresses[rows[row + E_ORIG]],
      this.#addresses[rows[row + E_RESP]],
      this.#protocolNames[(portKey - port) / (NO_PORT + 1)],
      port === NO_PORT ? null : port,
      rows[row + E_BITS],
    ];
  }

  /** Rebuilds a tracker saved with {@linkcode ContextTracker.toJSON}. */
  static fromJSON(state: ContextTrackerState): ContextTracker {
    const tracker = new ContextTracker(state.options);
    tracker.#cursor = state.cursor ?? -Infinity;
    tracker.#nextSeq = state.nextSeq;
    let shortHead = -1;
    for (const [seq, uid, t, orig, resp, protocol, respPort, bits] of state.entries) {
      const inShort = seq >= state.shortHeadSeq;
      if (inShort && shortHead < 0) shortHead = tracker.#end;
      tracker.#enter(seq, uid, t, orig, resp, protocol, respPort, bits, inShort);
    }
    tracker.#shortHead = shortHead < 0 ? tracker.#end : shortHead;
    return tracker;
  }

  /** The id of `address`, a new one if it has no entry in the long window. */
  #addressId(address: string): number {
    let id = this.#addressIds.get(address);
    if (id === undefined) {
      id = this.#freeAddresses.pop();
      if (id === undefined) {
        id = this.#addresses.length;
        this.#addresses.push(address);
        if ((id + 1) * A_FIELDS > this.#a.length) this.#a = grown(this.#a, (id + 1) * A_FIELDS);
      } else {
        this.#addresses[id] = address;
      }
      this.#addressIds.set(address, id);
    }
    return id;
  }

  /** Gives `address`'s id back once it counts no entry as originator or responder. */
  #release(address: number): void {
    const a = this.#a;
    const at = address * A_FIELDS;
    if (a[at + A_O_LN] !== 0 || a[at + A_H_LN] !== 0) return;
    this.#addressIds.delete(this.#addresses[address]);
    this.#addresses[address] = "";
    this.#freeAddresses.push(address);
  }

  #enter(
    seq: number,
    uid: string,
    t: number,
    origIp: string,
    resp: string,
    protocol: string,
    respPort: number | null,
    bits: number,
    inShort: boolean,
  ): number {
    let protocolId = this.#protocols.get(protocol);
    if (protocolId === undefined) {
      protocolId = this.#protocols.size;
      this.#protocols.set(protocol, protocolId);
      this.#protocolNames.push(protocol);
    }
    const portKey = protocolId * (NO_PORT + 1) + (respPort ?? NO_PORT);
    const orig = this.#addressId(origIp);
    const host = this.#addressId(resp);
    const service = this.#serviceIds.intern(host, portKey);
    if ((service + 1) * S_FIELDS > this.#s.length) {
      this.#s = grown(this.#s, (service + 1) * S_FIELDS);
    }
    const a = this.#a;
    const s = this.#s;
    const o = orig * A_FIELDS;
    const h = host * A_FIELDS;
    const v = service * S_FIELDS;
    // A cell without long-window entries starts from zero (it was dropped).
    if (a[o + A_O_LN] === 0) a.fill(0, o, o + A_H_SN);
    if (a[h + A_H_LN] === 0) a.fill(0, h + A_H_SN, h + A_FIELDS);
    if (s[v + S_LN] === 0) {
      s.fill(0, v, v + S_FIELDS);
      a[h + A_H_LPORTS]++;
    }
    const hostPairs = this.#hostPairs;
    const origPorts = this.#origPorts;
    const serviceOrigs = this.#serviceOrigs;
    const hostOrigs = this.#hostOrigs;
    const hostPair = hostPairs.intern(orig, host);
    const origPort = origPorts.intern(orig, portKey);
    const serviceOrig = serviceOrigs.intern(service, orig);
    const hostOrig = hostOrigs.intern(host, orig);

    if (this.#end - this.#head > this.#mask) this.#growEntries();
    const entry = this.#end++;
    const at = entry & this.#mask;
    this.#uids[at] = uid;
    this.#seqs[at] = seq;
    this.#times[at] = t;
    const rows = this.#rows;
    const row = at * E_FIELDS;
    rows[row + E_BITS] = bits;
    rows[row + E_ORIG] = orig;
    rows[row + E_RESP] = host;
    rows[row + E_PORT_KEY] = portKey;
    rows[row + E_SERVICE] = service;
    rows[row + E_HOST] = hostPair;
    rows[row + E_ORIG_PORT] = origPort;
    rows[row + E_SERVICE_ORIG] = serviceOrig;
    rows[row + E_HOST_ORIG] = hostOrig;
    this.#byUid?.set(uid, entry);

    const hp = hostPairs.counts;
    const op = origPorts.counts;
    const so = serviceOrigs.counts;
    const ho = hostOrigs.counts;
    a[o + A_O_LN]++;
    s[v + S_LN]++;
    a[h + A_H_LN]++;
    if (hp[2 * hostPair + 1]++ === 0) a[o + A_O_LHOSTS]++;
    if (op[2 * origPort + 1]++ === 0) a[o + A_O_LPORTS]++;
    if (so[2 * serviceOrig + 1]++ === 0) s[v + S_LORIGS]++;
    if (ho[2 * hostOrig + 1]++ === 0) a[h + A_H_LORIGS]++;
    if (inShort) {
      a[o + A_O_SN]++;
      if (s[v + S_SN]++ === 0) a[h + A_H_SPORTS]++;
      a[h + A_H_SN]++;
      if (hp[2 * hostPair]++ === 0) a[o + A_O_SHOSTS]++;
      if (op[2 * origPort]++ === 0) a[o + A_O_SPORTS]++;
      if (so[2 * serviceOrig]++ === 0) s[v + S_SORIGS]++;
      if (ho[2 * hostOrig]++ === 0) a[h + A_H_SORIGS]++;
    }
    this.#addBits(row, bits, 1, inShort, true);
    return entry;
  }

  /** Doubles the entry ring, keeping each live entry's number. */
  #growEntries(): void {
    const oldMask = this.#mask;
    const capacity = (oldMask + 1) * 2;
    const mask = capacity - 1;
    const uids = new Array<string>(capacity).fill("");
    const seqs = new Float64Array(capacity);
    const times = new Float64Array(capacity);
    const rows = new Int32Array(capacity * E_FIELDS);
    for (let i = this.#head; i < this.#end; i++) {
      const from = i & oldMask;
      const to = i & mask;
      uids[to] = this.#uids[from];
      seqs[to] = this.#seqs[from];
      times[to] = this.#times[from];
      rows.set(this.#rows.subarray(from * E_FIELDS, (from + 1) * E_FIELDS), to * E_FIELDS);
    }
    this.#mask = mask;
    this.#uids = uids;
    this.#seqs = seqs;
    this.#times = times;
    this.#rows = rows;
  }

  #evict(): void {
    const mask = this.#mask;
    const times = this.#times;
    const rows = this.#rows;
    const a = this.#a;
    const s = this.#s;
    const hp = this.#hostPairs.counts;
    const op = this.#origPorts.counts;
    const so = this.#serviceOrigs.counts;
    const ho = this.#hostOrigs.counts;
    const end = this.#end;
    const shortLimit = this.#cursor - this.options.shortWindowSec;
    while (this.#shortHead < end && times[this.#shortHead & mask] <= shortLimit) {
      const row = (this.#shortHead++ & mask) * E_FIELDS;
      this.#addBits(row, rows[row + E_BITS], -1, true, false);
      const o = rows[row + E_ORIG] * A_FIELDS;
      const h = rows[row + E_RESP] * A_FIELDS;
      const v = rows[row + E_SERVICE] * S_FIELDS;
      a[o + A_O_SN]--;
      if (--s[v + S_SN] === 0) a[h + A_H_SPORTS]--;
      a[h + A_H_SN]--;
      if (--hp[2 * rows[row + E_HOST]] === 0) a[o + A_O_SHOSTS]--;
      if (--op[2 * rows[row + E_ORIG_PORT]] === 0) a[o + A_O_SPORTS]--;
      if (--so[2 * rows[row + E_SERVICE_ORIG]] === 0) s[v + S_SORIGS]--;
      if (--ho[2 * rows[row + E_HOST_ORIG]] === 0) a[h + A_H_SORIGS]--;
    }
    const longLimit = this.#cursor - this.options.longWindowSec;
    while (this.#head < end && times[this.#head & mask] <= longLimit) {
      const entry = this.#head++;
      const row = (entry & mask) * E_FIELDS;
      this.#addBits(row, rows[row + E_BITS], -1, false, true);
      if (this.#byUid !== null) {
        const uid = this.#uids[entry & mask];
        if (this.#byUid.get(uid) === entry) this.#byUid.delete(uid);
      }
      this.#uids[entry & mask] = "";
      const orig = rows[row + E_ORIG];
      const host = rows[row + E_RESP];
      const service = rows[row + E_SERVICE];
      const o = orig * A_FIELDS;
      const h = host * A_FIELDS;
      const v = service * S_FIELDS;
      if (this.#hostPairs.leave(rows[row + E_HOST])) a[o + A_O_LHOSTS]--;
      if (this.#origPorts.leave(rows[row + E_ORIG_PORT])) a[o + A_O_LPORTS]--;
      if (this.#serviceOrigs.leave(rows[row + E_SERVICE_ORIG])) s[v + S_LORIGS]--;
      if (this.#hostOrigs.leave(rows[row + E_HOST_ORIG])) a[h + A_H_LORIGS]--;
      a[o + A_O_LN]--;
      if (--s[v + S_LN] === 0) {
        a[h + A_H_LPORTS]--;
        this.#serviceIds.delete(service);
      }
      a[h + A_H_LN]--;
      this.#release(orig);
      if (host !== orig) this.#release(host);
    }
    // The long window is a superset of the short one; keep the indices ordered.
    if (this.#shortHead < this.#head) this.#shortHead = this.#head;
  }

  #countsOf(entry: number): FlowContextCounts {
    const rows = this.#rows;
    const row = (entry & this.#mask) * E_FIELDS;
    return countsOfCells(
      this.#a,
      rows[row + E_ORIG] * A_FIELDS,
      rows[row + E_RESP] * A_FIELDS,
      this.#s,
      rows[row + E_SERVICE] * S_FIELDS,
      this.options,
    );
  }

  /**
   * {@linkcode ContextTracker.contextOf} for a caller that keeps the context
   * for later: the window counts it is derived from, taken now (a few small
   * integers, where the context itself is 28 numbers, most of them
   * fractions). Null for a `null` handle: see {@linkcode FlowContextCounts.empty}.
   */
  countsOf(handle: ContextHandle | null): FlowContextCounts {
    if (handle === null) return FlowContextCounts.empty();
    return this.#countsOf(handle as unknown as number);
  }
}
