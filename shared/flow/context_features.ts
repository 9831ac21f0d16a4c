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

/** Entries sharing a pair (orig+resp, orig+port, service+orig), per window. */
interface PairCell {
  s: number;
  l: number;
}

/** Per-originator counts, for the short (`s*`) and long (`l*`) window. */
interface OrigCell {
  key: string;
  sN: number;
  lN: number;
  sAnswered: number;
  lAnswered: number;
  sRejected: number;
  lRejected: number;
  sHosts: number;
  lHosts: number;
  sPorts: number;
  lPorts: number;
  /** Responder address -> pair counts. */
  hosts: Map<string, PairCell>;
  /** Port key -> pair counts. */
  ports: Map<number, PairCell>;
}

/** Per-service counts, short and long window. */
interface ServiceCell {
  port: number;
  sN: number;
  lN: number;
  sSyn: number;
  lSyn: number;
  sSynEstablished: number;
  lSynEstablished: number;
  sOrigs: number;
  lOrigs: number;
  /** Originator address -> pair counts. */
  origs: Map<string, PairCell>;
}

/** Per-responder-address counts over all its services, short and long window. */
interface HostCell {
  key: string;
  sN: number;
  lN: number;
  sAnswered: number;
  lAnswered: number;
  sOrigs: number;
  lOrigs: number;
  /** Services with an entry in the short window. */
  sPorts: number;
  /** Port key -> service cell (a service with an entry in the long window). */
  services: Map<number, ServiceCell>;
  /** Originator address -> pair counts. */
  origs: Map<string, PairCell>;
}

/**
 * One admitted flow. It keeps references to the cells it counts in, so
 * leaving a window and outcome updates need no lookups but the deletes of
 * emptied cells; distinct counts move when a pair cell's count goes 0 -> 1
 * or 1 -> 0. Nested maps keyed by the flows' own address strings (whose
 * hashes V8 caches) and by numbers avoid building a key string per flow.
 */
interface Entry {
  /** Still in the long window (updates of evicted entries are ignored). */
  live: boolean;
  seq: number;
  uid: string;
  t: number;
  resp: string;
  protocol: string;
  respPort: number | null;
  bits: number;
  orig: OrigCell;
  service: ServiceCell;
  respHost: HostCell;
  host: PairCell;
  origPort: PairCell;
  serviceOrig: PairCell;
  hostOrig: PairCell;
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
  #entries: Entry[] = [];
  #head = 0; // index into #entries of the oldest long-window entry
  #shortHead = 0; // index of the oldest short-window entry
  #nextSeq = 0;
  /**
   * Live entries by uid, for {@linkcode ContextTracker.update}; built on its
   * first call and kept from then on. Callers holding a
   * {@linkcode ContextHandle} never need it, which spares hashing every uid.
   */
  #byUid: Map<string, Entry> | null = null;
  #origs = new Map<string, OrigCell>();
  /** Responder address -> its counts and service cells. */
  #hosts = new Map<string, HostCell>();
  /** Protocol name -> small number, for numeric port keys. */
  #protocols = new Map<string, number>();

  /** Creates an empty tracker; throws RangeError on invalid options. */
  constructor(options: ContextOptions = {}) {
    this.options = resolveContextOptions(options);
  }

  /** Entries held in the long window. */
  get size(): number {
    return this.#entries.length - this.#head;
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
    return handle === null ? emptyFlowContext() : this.#contextOf(handle as unknown as Entry);
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
    const entry = handle as unknown as Entry;
    if (entry.live) this.#apply(entry, subject);
  }

  /**
   * Handles of the flows in the long window by uid (the latest one for a
   * repeated uid), for a caller restoring its flows next to a tracker from
   * {@linkcode ContextTracker.fromJSON}.
   */
  handlesByUid(): Map<string, ContextHandle> {
    return this.#uidMap() as unknown as Map<string, ContextHandle>;
  }

  #uidMap(): Map<string, Entry> {
    const map = new Map<string, Entry>();
    for (let i = this.#head; i < this.#entries.length; i++) {
      map.set(this.#entries[i].uid, this.#entries[i]);
    }
    return map;
  }

  #apply(entry: Entry, subject: ContextSubject): void {
    // Outcomes only ever become true; ignore anything else.
    const added = bitsOf(subject) & ~entry.bits;
    if (added === 0) return;
    entry.bits |= added;
    const inShort = this.#shortHead < this.#entries.length &&
      entry.seq >= this.#entries[this.#shortHead].seq;
    addBits(entry, added, 1, inShort, true);
  }

  /** The tracker's state as plain data. */
  toJSON(): ContextTrackerState {
    const live = this.#entries.slice(this.#head);
    return {
      options: { ...this.options },
      cursor: this.#cursor === -Infinity ? null : this.#cursor,
      shortHeadSeq: this.#shortHead < this.#entries.length
        ? this.#entries[this.#shortHead].seq
        : this.#nextSeq,
      nextSeq: this.#nextSeq,
      entries: live.map((
        e,
      ) => [e.seq, e.uid, e.t, e.orig.key, e.resp, e.protocol, e.respPort, e.bits]),
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
      if (inShort && shortHead < 0) shortHead = tracker.#entries.length;
      tracker.#enter(seq, uid, t, orig, resp, protocol, respPort, bits, inShort);
    }
    tracker.#shortHead = shortHead < 0 ? tracker.#entries.length : shortHead;
    return tracker;
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
  ): Entry {
    let protocolId = this.#protocols.get(protocol);
    if (protocolId === undefined) {
      protocolId = this.#protocols.size;
      this.#protocols.set(protocol, protocolId);
    }
    const portKey = protocolId * (NO_PORT + 1) + (respPort ?? NO_PORT);
    let orig = this.#origs.get(origIp);
    if (orig === undefined) {
      orig = {
        key: origIp,
        sN: 0,
        lN: 0,
        sAnswered: 0,
        lAnswered: 0,
        sRejected: 0,
        lRejected: 0,
        sHosts: 0,
        lHosts: 0,
        sPorts: 0,
        lPorts: 0,
        hosts: new Map(),
        ports: new Map(),
      };
      this.#origs.set(origIp, orig);
    }
    let respHost = this.#hosts.get(resp);
    if (respHost === undefined) {
      respHost = {
        key: resp,
        sN: 0,
        lN: 0,
        sAnswered: 0,
        lAnswered: 0,
        sOrigs: 0,
        lOrigs: 0,
        sPorts: 0,
        services: new Map(),
        origs: new Map(),
      };
      this.#hosts.set(resp, respHost);
    }
    const services = respHost.services;
    let service = services.get(portKey);
    if (service === undefined) {
      service = {
        port: portKey,
        sN: 0,
        lN: 0,
        sSyn: 0,
        lSyn: 0,
        sSynEstablished: 0,
        lSynEstablished: 0,
        sOrigs: 0,
        lOrigs: 0,
        origs: new Map(),
      };
      services.set(portKey, service);
    }
    const entry: Entry = {
      live: true,
      seq,
      uid,
      t,
      resp,
      protocol,
      respPort,
      bits,
      orig,
      service,
      respHost,
      host: pairOf(orig.hosts, resp),
      origPort: pairOf(orig.ports, portKey),
      serviceOrig: pairOf(service.origs, origIp),
      hostOrig: pairOf(respHost.origs, origIp),
    };
    this.#entries.push(entry);
    this.#byUid?.set(uid, entry);
    orig.lN++;
    service.lN++;
    respHost.lN++;
    if (entry.host.l++ === 0) orig.lHosts++;
    if (entry.origPort.l++ === 0) orig.lPorts++;
    if (entry.serviceOrig.l++ === 0) service.lOrigs++;
    if (entry.hostOrig.l++ === 0) respHost.lOrigs++;
    if (inShort) {
      orig.sN++;
      if (service.sN++ === 0) respHost.sPorts++;
      respHost.sN++;
      if (entry.host.s++ === 0) orig.sHosts++;
      if (entry.origPort.s++ === 0) orig.sPorts++;
      if (entry.serviceOrig.s++ === 0) service.sOrigs++;
      if (entry.hostOrig.s++ === 0) respHost.sOrigs++;
    }
    addBits(entry, bits, 1, inShort, true);
    return entry;
  }

  #evict(): void {
    const entries = this.#entries;
    const shortLimit = this.#cursor - this.options.shortWindowSec;
    while (this.#shortHead < entries.length && entries[this.#shortHead].t <= shortLimit) {
      const e = entries[this.#shortHead++];
      addBits(e, e.bits, -1, true, false);
      e.orig.sN--;
      if (--e.service.sN === 0) e.respHost.sPorts--;
      e.respHost.sN--;
      if (--e.host.s === 0) e.orig.sHosts--;
      if (--e.origPort.s === 0) e.orig.sPorts--;
      if (--e.serviceOrig.s === 0) e.service.sOrigs--;
      if (--e.hostOrig.s === 0) e.respHost.sOrigs--;
    }
    const longLimit = this.#cursor - this.options.longWindowSec;
    while (this.#head < entries.length && entries[this.#head].t <= longLimit) {
      const e = entries[this.#head++];
      addBits(e, e.bits, -1, false, true);
      e.live = false;
      if (this.#byUid !== null && this.#byUid.get(e.uid) === e) this.#byUid.delete(e.uid);
      const orig = e.orig;
      const service = e.service;
      if (--e.host.l === 0) {
        orig.lHosts--;
        orig.hosts.delete(e.resp);
      }
      if (--e.origPort.l === 0) {
        orig.lPorts--;
        orig.ports.delete(service.port);
      }
      if (--e.serviceOrig.l === 0) {
        service.lOrigs--;
        service.origs.delete(orig.key);
      }
      const respHost = e.respHost;
      if (--e.hostOrig.l === 0) {
        respHost.lOrigs--;
        respHost.origs.delete(orig.key);
      }
      if (--orig.lN === 0) this.#origs.delete(orig.key);
      if (--service.lN === 0) respHost.services.delete(service.port);
      if (--respHost.lN === 0) this.#hosts.delete(respHost.key);
    }
    // The long window is a superset of the short one; keep the indices ordered.
    if (this.#shortHead < this.#head) this.#shortHead = this.#head;
    if (this.#head > 1024 && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#shortHead -= this.#head;
      this.#head = 0;
    }
  }

  #contextOf(e: Entry): FlowContext {
    return contextOfEntry(e, this.options);
  }

  /**
   * {@linkcode ContextTracker.contextOf} for a caller that keeps the context
   * for later: the window counts it is derived from, taken now (a few small
   * integers, where the context itself is 28 numbers, most of them
   * fractions). Null for a `null` handle: see {@linkcode FlowContextCounts.EMPTY}.
   */
  countsOf(handle: ContextHandle | null): FlowContextCounts {
    if (handle === null) return FlowContextCounts.empty();
    return countsOfEntry(handle as unknown as Entry, this.options);
  }
}

/** Takes the counts of an entry's cells (made in {@linkcode FlowContextCounts}' static block). */
let countsOfEntry: (e: Entry, options: Required<ContextOptions>) => FlowContextCounts;
/** The context of an entry as a new object, not frozen (as `ContextTracker.contextOf` returns it). */
let contextOfEntry: (e: Entry, options: Required<ContextOptions>) => FlowContext;

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
    countsOfEntry = (e, options) => {
      const counts = new FlowContextCounts(options);
      counts.#take(e.orig, e.service, e.respHost);
      return counts;
    };
    contextOfEntry = (e, options) => countsOfEntry(e, options).#make();
  }

  /** Copies the counts of the windows' cells as they are now. */
  #take(o: OrigCell, s: ServiceCell, h: HostCell): void {
    const c = this.#slab;
    const a = this.#at;
    c[a + C_OS_N] = o.sN;
    c[a + C_OS_HOSTS] = o.sHosts;
    c[a + C_OS_PORTS] = o.sPorts;
    c[a + C_OS_REJECTED] = o.sRejected;
    c[a + C_OS_ANSWERED] = o.sAnswered;
    c[a + C_OL_N] = o.lN;
    c[a + C_OL_HOSTS] = o.lHosts;
    c[a + C_OL_PORTS] = o.lPorts;
    c[a + C_OL_REJECTED] = o.lRejected;
    c[a + C_OL_ANSWERED] = o.lAnswered;
    c[a + C_SS_N] = s.sN;
    c[a + C_SS_ORIGS] = s.sOrigs;
    c[a + C_SS_SYN] = s.sSyn;
    c[a + C_SS_SYN_ESTABLISHED] = s.sSynEstablished;
    c[a + C_SL_N] = s.lN;
    c[a + C_SL_ORIGS] = s.lOrigs;
    c[a + C_SL_SYN] = s.lSyn;
    c[a + C_SL_SYN_ESTABLISHED] = s.lSynEstablished;
    c[a + C_HS_N] = h.sN;
    c[a + C_HS_ORIGS] = h.sOrigs;
    c[a + C_HS_PORTS] = h.sPorts;
    c[a + C_HS_ANSWERED] = h.sAnswered;
    c[a + C_HL_N] = h.lN;
    c[a + C_HL_ORIGS] = h.lOrigs;
    c[a + C_HL_PORTS] = h.services.size;
    c[a + C_HL_ANSWERED] = h.lAnswered;
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

function pairOf<K>(map: Map<K, PairCell>, key: K): PairCell {
  let cell = map.get(key);
  if (cell === undefined) {
    cell = { s: 0, l: 0 };
    map.set(key, cell);
  }
  return cell;
}

/** Adds (sign 1) or removes (-1) outcome bits in the chosen windows. */
function addBits(
  e: Entry,
  bits: number,
  sign: number,
  short: boolean,
  long: boolean,
): void {
  if (bits === 0) return;
  const o = e.orig;
  const s = e.service;
  const h = e.respHost;
  if (long) {
    if (bits & ANSWERED) {
      o.lAnswered += sign;
      h.lAnswered += sign;
    }
    if (bits & REJECTED) o.lRejected += sign;
    if (bits & SYN) s.lSyn += sign;
    if (bits & SYN_ESTABLISHED) s.lSynEstablished += sign;
  }
  if (short) {
    if (bits & ANSWERED) {
      o.sAnswered += sign;
      h.sAnswered += sign;
    }
    if (bits & REJECTED) o.sRejected += sign;
    if (bits & SYN) s.sSyn += sign;
    if (bits & SYN_ESTABLISHED) s.sSynEstablished += sign;
  }
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
