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
import { PairIds } from "./_pair_ids.ts";

/**
 * An admitted flow's place in a {@linkcode ContextTracker}, from
 * {@linkcode ContextTracker.admitHandle}.
 */
export interface ContextHandle {
  /** Brand: a handle is only made by the tracker. */
  readonly [contextHandleBrand]: true;
}
/** The brand that keeps a {@linkcode ContextHandle} from being made outside the tracker. */
export declare const contextHandleBrand: unique symbol;

/** Options of {@linkcode ContextTracker}. */
export interface ContextOptions {
  /**
   * Short window length, seconds (KDD'99's "past two seconds").
   * @default {2}
   */
  shortWindowSec?: number;
  /**
   * Long window length, seconds; catches scans slower than the short window.
   * @default {60}
   */
  longWindowSec?: number;
  /**
   * Packet time, seconds, after a flow's start at which its context is
   * computed, so that its own and its neighbours' outcomes (answer, reject,
   * handshake) are known: covers a SYN retransmission (1 s) plus any sane RTT.
   * @default {2}
   */
  outcomeDelaySec?: number;
}

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

/** What the tracker reads from a flow. */
export interface ContextSubject {
  /** Stable flow id. */
  uid: string;
  /** Flow start, epoch seconds. */
  first_seen: number;
  /** Originator address, or null for flows without IP/ARP addresses. */
  orig_ip: string | null;
  /** Responder address. */
  resp_ip: string | null;
  /** Protocol name, e.g. `TCP`. */
  protocol: string;
  /** Responder port (Zeek-style for ICMP), or null. */
  resp_port: number | null;
  /** The responder sent at least one packet. */
  answered: boolean;
  /** The flow was rejected (RST before anything else, or ICMP unreachable). */
  rejected: boolean;
  /** The originator sent a SYN. */
  syn: boolean;
  /** The TCP three-way handshake completed. */
  established: boolean;
}

/** Serialised {@linkcode ContextTracker}. */
export interface ContextTrackerState {
  /** Options in force. */
  options: Required<ContextOptions>;
  /** Start time of the most recently admitted flow; null before the first. */
  cursor: number | null;
  /** Sequence number of the first entry still in the short window. */
  shortHeadSeq: number;
  /** Sequence number the next entry gets. */
  nextSeq: number;
  /** Entries of the long window: [seq, uid, first_seen, orig, resp, protocol, resp port, outcome bits]. */
  entries: [number, string, number, string, string, string, number | null, number][];
}

const ANSWERED = 1;
const REJECTED = 2;
const SYN = 4;
const SYN_ESTABLISHED = 8;

/**
 * The windows' counts sit in `Int32Array`s indexed by small integer ids:
 * an address (as originator and as responder host) gets an id when it first
 * enters the long window and gives it back when it leaves; a service
 * (responder address, protocol and port) and each pair the distinct counts
 * need (originator and responder, originator and port, service and
 * originator, responder and originator) get ids from a {@linkcode PairIds}.
 * An entry is a row of the tracker's entry arrays, and its handle is its
 * row's number. Per flow, this allocates nothing on the JS heap (where the
 * cells were objects with maps of their own, and an entry an object that
 * lived as long as its flow), and the string-keyed lookups are the two of
 * the flow's addresses.
 *
 * Address fields, short (`*_S*`) and long window, originator side then
 * responder side:
 */
const A_O_SN = 0;
const A_O_LN = 1;
const A_O_SANSWERED = 2;
const A_O_LANSWERED = 3;
const A_O_SREJECTED = 4;
const A_O_LREJECTED = 5;
/** Distinct responder addresses (pairs with a short / long entry). */
const A_O_SHOSTS = 6;
const A_O_LHOSTS = 7;
/** Distinct responder port keys. */
const A_O_SPORTS = 8;
const A_O_LPORTS = 9;
const A_H_SN = 10;
const A_H_LN = 11;
const A_H_SANSWERED = 12;
const A_H_LANSWERED = 13;
const A_H_SORIGS = 14;
const A_H_LORIGS = 15;
/** Services with an entry in the short window. */
const A_H_SPORTS = 16;
/** Services with an entry in the long window. */
const A_H_LPORTS = 17;
/** Ints per address. */
const A_FIELDS = 18;

/** Service fields. */
const S_SN = 0;
const S_LN = 1;
const S_SSYN = 2;
const S_LSYN = 3;
const S_SSYN_ESTABLISHED = 4;
const S_LSYN_ESTABLISHED = 5;
const S_SORIGS = 6;
const S_LORIGS = 7;
/** Ints per service. */
const S_FIELDS = 8;

/** Entry row fields (besides its uid, seq and start time). */
const E_BITS = 0;
const E_ORIG = 1;
const E_RESP = 2;
const E_PORT_KEY = 3;
const E_SERVICE = 4;
/** Pair ids: originator and responder, originator and port, service and originator, responder and originator. */
const E_HOST = 5;
const E_ORIG_PORT = 6;
const E_SERVICE_ORIG = 7;
const E_HOST_ORIG = 8;
/** Ints per entry. */
const E_FIELDS = 9;

/** Entries of one pair kind, short (2 id) and long (2 id + 1) window. */
class PairCounts {
  readonly ids = new PairIds();
  counts = new Int32Array(512);

  /** The id of `(a, b)`, a new one with zero counts if not held. */
  intern(a: number, b: number): number {
    const id = this.ids.intern(a, b);
    if (2 * id + 1 >= this.counts.length) this.counts = grown(this.counts, 2 * id + 2);
    const counts = this.counts;
    if (counts[2 * id + 1] === 0) counts[2 * id] = 0;
    return id;
  }

  /** Counts one entry of `id` out of the long window; true when that was its last (the id is freed). */
  leave(id: number): boolean {
    if (--this.counts[2 * id + 1] !== 0) return false;
    this.ids.delete(id);
    return true;
  }
}

/** `array`'s values in an array of at least `length` (doubled). */
function grown(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  let size = array.length * 2;
  while (size < length) size *= 2;
  const next = new Int32Array(size);
  next.set(array);
  return next;
}

function bitsOf(subject: ContextSubject): number {
  return (subject.answered ? ANSWERED : 0) | (subject.rejected ? REJECTED : 0) |
    (subject.syn ? SYN : 0) | (subject.syn && subject.established ? SYN_ESTABLISHED : 0);
}

/** Port slot for "no port" in a port key. */
const NO_PORT = 65536;

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
    const mask = this.#mask;
    const rows = this.#rows;
    for (let i = this.#head; i < this.#end; i++) {
      const row = (i & mask) * E_FIELDS;
      const portKey = rows[row + E_PORT_KEY];
      const port = portKey % (NO_PORT + 1);
      entries.push([
        this.#seqs[i & mask],
        this.#uids[i & mask],
        this.#times[i & mask],
        this.#addresses[rows[row + E_ORIG]],
        this.#addresses[rows[row + E_RESP]],
        this.#protocolNames[(portKey - port) / (NO_PORT + 1)],
        port === NO_PORT ? null : port,
        rows[row + E_BITS],
      ]);
    }
    return {
      options: { ...this.options },
      cursor: this.#cursor === -Infinity ? null : this.#cursor,
      shortHeadSeq: this.#shortHead < this.#end
        ? this.#seqs[this.#shortHead & mask]
        : this.#nextSeq,
      nextSeq: this.#nextSeq,
      entries,
    };
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
   * fractions). Null for a `null` handle: see {@linkcode FlowContextCounts.EMPTY}.
   */
  countsOf(handle: ContextHandle | null): FlowContextCounts {
    if (handle === null) return FlowContextCounts.empty();
    return this.#countsOf(handle as unknown as number);
  }
}

/**
 * Takes the counts of an originator (at `o` of `a`), responder host (at `h`)
 * and service (at `v` of `s`), made in {@linkcode FlowContextCounts}' static block.
 */
let countsOfCells: (
  a: Int32Array,
  o: number,
  h: number,
  s: Int32Array,
  v: number,
  options: Required<ContextOptions>,
) => FlowContextCounts;
/** The context of counts as a new object, not frozen (as `ContextTracker.contextOf` returns it). */
let makeContext: (counts: FlowContextCounts) => FlowContext;

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
    countsOfCells = (a, o, h, s, v, options) => {
      const counts = new FlowContextCounts(options);
      counts.#take(a, o, h, s, v);
      return counts;
    };
    makeContext = (counts) => counts.#make();
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

function resolveContextOptions(options: ContextOptions): Required<ContextOptions> {
  const resolved: Required<ContextOptions> = {
    shortWindowSec: options.shortWindowSec ?? 2,
    longWindowSec: options.longWindowSec ?? 60,
    outcomeDelaySec: options.outcomeDelaySec ?? 2,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value < 0 || (name !== "outcomeDelaySec" && value === 0)) {
      throw new RangeError(
        `Cannot track flow context as '${name}' must be a positive number of seconds: current value is ${value}`,
      );
    }
  }
  if (resolved.longWindowSec < resolved.shortWindowSec) {
    throw new RangeError(
      `Cannot track flow context as 'longWindowSec' must be at least 'shortWindowSec' (${resolved.shortWindowSec}): current value is ${resolved.longWindowSec}`,
    );
  }
  return resolved;
}
