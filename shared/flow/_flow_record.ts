/**
 * Flow records: the plain, JSON-able data the table reports, made from a
 * flow with its statistics kept in shared slabs and its features derived
 * only when read.
 *
 * @module
 */

import type { FlowAppFields } from "./flow_app_fold.ts";
import type { TunnelType } from "../packet/packet_record.ts";
import type { FlowContext } from "./flow_context.ts";
import { FlowContextCounts } from "./flow_context_counts.ts";
import {
  deriveFeatures,
  featuresFromStats,
  FLOW_STATS_SIZE,
  type FlowFeatures,
  PACKED_STATS_MAX_DOUBLES,
  unpackStats,
} from "./flow_features.ts";
import type { Flow } from "./_flow.ts";
import { connState, ESTABLISHED, ORIG_SYN, REJECTED } from "./_tcp_state.ts";

/** Why a flow ended (or, for a live closed TCP flow, how it closed). */
export type CloseReason =
  | "fin"
  | "rst"
  | "idle"
  | "active_timeout"
  | "reuse"
  | "end";

/** One flow as the table reports it: plain, JSON-able data. */
export interface FlowRecord {
  /** Stable id: hash of the flow key and first packet time, so reruns agree. */
  flow_uid: string;
  /** Community ID v1 (seed from the options), null for non-IP or port-less port protocols. */
  community_id: string | null;
  /** Capture interface of the first packet. */
  interface: string;
  /** The agent (sensor) whose packets make the flow; null when they named none. */
  agent: string | null;
  /**
   * Type of the tunnel the flow was keyed on (see the module doc: VXLAN,
   * Geneve, GRE, ERSPAN, PPPoE); null for a flow seen untunnelled, or in a
   * tunnel that keys nothing (MPLS, GTP-U, IP-in-IP).
   */
  tunnel_type: TunnelType | null;
  /** That tunnel's id (VNI, GRE key, ERSPAN or PPPoE session); null without one. */
  tunnel_id: number | null;
  /** Protocol name from the packets (`TCP`, `UDP`, `ICMP`, `ARP`, ...). */
  protocol: string;
  /** IP protocol number; null for non-IP flows. */
  ip_proto: number | null;
  /** 4 or 6; null for non-IP flows. */
  ip_version: number | null;
  /** Outer VLAN id. */
  vlan: number | null;
  /** Inner (QinQ) VLAN id. */
  vlan_inner: number | null;
  /** Originator address (IP, or ARP sender address); null for other L2 flows. */
  orig_ip: string | null;
  /** Originator port; ICMP: the type (Zeek convention); null when port-less. */
  orig_port: number | null;
  /** Originator MAC, when the link has one. */
  orig_mac: string | null;
  /** Responder address. */
  resp_ip: string | null;
  /** Responder port; ICMP: the counterpart type, or the code for one-way types. */
  resp_port: number | null;
  /** Responder MAC. */
  resp_mac: string | null;
  /** ICMP type of the flow's first packet. */
  icmp_type: number | null;
  /** ICMP code of the flow's first packet. */
  icmp_code: number | null;
  /** ICMP echo identifier, part of the key for echo flows. */
  icmp_id: number | null;
  /** First packet time, epoch seconds. */
  first_seen: number;
  /** Last packet time, epoch seconds. */
  last_seen: number;
  /** last_seen - first_seen, seconds. */
  duration: number;
  /** Packets from the originator. */
  orig_packets: number;
  /** Wire bytes from the originator. */
  orig_bytes: number;
  /** Packets from the responder. */
  resp_packets: number;
  /** Wire bytes from the responder. */
  resp_bytes: number;
  /** Transport payload bytes from the originator. */
  orig_payload_bytes: number;
  /** Transport payload bytes from the responder. */
  resp_payload_bytes: number;
  /** `closed` once ended, or once a TCP flow saw FIN+FIN (acked) or RST. */
  state: "active" | "closed";
  /** Why it closed/ended; null while active. */
  close_reason: CloseReason | null;
  /** Zeek-style connection state (S0, S1, SF, REJ, RSTO, RSTR, OTH, ...). */
  conn_state: string;
  /** The originator sent a SYN. */
  syn_seen: boolean;
  /** The TCP three-way handshake completed. */
  established: boolean;
  /** The responder sent at least one packet. */
  answered: boolean;
  /** Rejected: TCP RST from the responder before anything else, or ICMP unreachable. */
  rejected: boolean;
  /** This flow continues one split by the active timeout. */
  continuation: boolean;
  /**
   * Per-flow features as of the last packet. In records the table makes,
   * derived when first read (an own enumerable accessor).
   */
  features: FlowFeatures;
  /**
   * Time-window context; null until computed (see the module doc). In
   * records the table makes, the flow's own frozen object, which every
   * record of the flow shares.
   */
  context: FlowContext | null;
  /** Application-layer fields (first value of each, DNS count and names); absent without any. */
  app?: FlowAppFields;
}

/**
 * The record of a flow as of now. Its data is the flow's at this moment,
 * but `features` is derived only when read, from a copy of the accumulator
 * statistics made now, and `context` is made only when read, from the
 * window counts the flow took at admission (the first read makes the flow's
 * frozen context object, which every record of the flow then shares): most
 * records are only turned into a feature vector, which
 * {@linkcode writeFlowFeatures} and {@linkcode writeFlowContext} build from
 * the statistics and the counts directly. `features` and `context` are own
 * enumerable properties, so JSON, spread and deep equality see them as
 * before.
 *
 * `final` says that the flow will not change again: its record goes to a
 * slab of its own kind, so that slabs of short-lived snapshots of live
 * flows are not kept alive by the ended flows' records, which usually live
 * longer.
 *
 * The record is an object literal, not a class instance, because V8 can
 * then allocate records straight in the old generation once it sees that
 * they live long (allocation-site pretenuring), instead of copying each one
 * twice through the young generation. Its shape is already stable: every
 * record of the table has one fast-mode hidden class (the stamp's private
 * fields in a small property array, the accessors in the map). A record
 * made by a constructor function instead (`Object.prototype` as its
 * prototype, so the private fields fit in-object) measured no faster and
 * allocated 1–8 % more (4 December, docs/performance_log.md, flow assembly's "Eighth round").
 */
export function toRecord(flow: Flow, final: boolean): FlowRecord {
  const acc = flow.acc;
  const bits = flow.bits;
  const record: FlowRecord = {
    flow_uid: flow.uid,
    community_id: flow.communityId,
    interface: flow.iface,
    agent: flow.agent,
    tunnel_type: flow.tunnelType,
    tunnel_id: flow.tunnelId,
    protocol: flow.protocol,
    ip_proto: flow.ipProto,
    ip_version: flow.ipVersion,
    vlan: flow.vlanId,
    vlan_inner: flow.vlanInnerId,
    orig_ip: flow.origIp,
    orig_port: flow.origPort,
    orig_mac: flow.origMac,
    resp_ip: flow.respIp,
    resp_port: flow.respPort,
    resp_mac: flow.respMac,
    icmp_type: flow.icmpType,
    icmp_code: flow.icmpCode,
    icmp_id: flow.icmpId,
    first_seen: flow.firstSeen,
    last_seen: flow.lastSeen,
    duration: flow.lastSeen - flow.firstSeen,
    orig_packets: acc.packets(true),
    orig_bytes: acc.bytes(true),
    resp_packets: acc.packets(false),
    resp_bytes: acc.bytes(false),
    orig_payload_bytes: acc.payloadBytes(true),
    resp_payload_bytes: acc.payloadBytes(false),
    state: flow.closed ? "closed" : "active",
    close_reason: flow.closeReason,
    conn_state: connState(flow),
    syn_seen: (bits & ORIG_SYN) !== 0,
    established: (bits & ESTABLISHED) !== 0,
    answered: acc.packets(false) > 0,
    rejected: (bits & REJECTED) !== 0,
    continuation: flow.continuation,
  } as FlowRecord;
  const slabs = final ? finalSlabs : liveSlabs;
  if (slabs.next + SLOT_SIZE > slabs.slab.length) {
    slabs.slab = new Float64Array(SLOT_SIZE * SLAB_SLOTS);
    slabs.ints = new Int32Array(slabs.slab.buffer);
    slabs.next = 0;
  }
  const slab = slabs.slab;
  let slot = slabs.next;
  const packed = acc.packStats(slab, slabs.ints, slot + 2);
  if (packed !== 0) {
    slab[slot] = flow.firstSeen;
    slab[slot + 1] = flow.lastSeen;
    slabs.next += 2 + packed;
    slot = -1 - slot;
  } else {
    slabs.next += SLOT_SIZE;
    acc.copyStats(slab, slot);
    slab[slot + SLOT_FIRST_SEEN] = flow.firstSeen;
    slab[slot + SLOT_LAST_SEEN] = flow.lastSeen;
  }
  // `features` then `context` (lazy accessors both), in the interface's order.
  RecordData.attach(record, slab, slot, flow.ctx);
  if (flow.app !== null) record.app = { ...flow.app };
  return record;
}

/** Lets a subclass constructor add private fields to an object made elsewhere. */
class Stamp {
  constructor(target: object) {
    return target;
  }
}

/**
 * The hidden part of a table's record: where its statistics are, and its
 * features object once read. Private fields stamped onto the record literal
 * (they are not properties: keys, JSON and deep equality do not see them).
 */
class RecordData extends Stamp {
  /** Slab holding the record's statistics, first and last packet time. */
  #slab: Float64Array;
  /**
   * Offset of the record's slot in `#slab`: of a whole copy of the
   * statistics, or, as `-1 - offset`, of a packed one (see `PACKED_SLOT_SIZE`).
   */
  #slot: number;
  /** The flow's context counts; null before its context was computed. */
  #ctx: FlowContextCounts | null;
  /**
   * Features objects of the records whose `features` was read or assigned.
   * Kept aside rather than in a fourth field: few records ever need one.
   */
  static #features = new WeakMap<object, FlowFeatures>();

  private constructor(
    record: FlowRecord,
    slab: Float64Array,
    slot: number,
    ctx: FlowContextCounts | null,
  ) {
    super(record);
    this.#slab = slab;
    this.#slot = slot;
    this.#ctx = ctx;
  }

  static #featuresProperty: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: RecordData): FlowFeatures {
      let features = RecordData.#features.get(this);
      if (features === undefined) {
        const stats = wholeSlot(this.#slab, this.#slot);
        features = featuresFromStats(stats, 0, stats[SLOT_FIRST_SEEN], stats[SLOT_LAST_SEEN]);
        RecordData.#features.set(this, features);
      }
      return features;
    },
    set(this: RecordData, value: FlowFeatures): void {
      RecordData.#features.set(this, value);
    },
  };

  static #contextProperty: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: RecordData): FlowContext | null {
      const ctx = this.#ctx;
      return ctx === null ? null : ctx.context();
    },
    set(this: RecordData, value: FlowContext | null): void {
      this.#ctx = value === null ? null : FlowContextCounts.of(value);
    },
  };

  /**
   * Stamps the record's statistics slot and context counts, and makes
   * `features` and `context` lazy.
   */
  static attach(
    record: FlowRecord,
    slab: Float64Array,
    slot: number,
    ctx: FlowContextCounts | null,
  ): void {
    new RecordData(record, slab, slot, ctx);
    // Two defineProperty calls, in the record's key order: one defineProperties
    // with a descriptor map took nearly twice as long (0.6 against 0.33 µs a
    // record, measured apart), 11 % of flow assembly in a profile.
    Object.defineProperty(record, "features", RecordData.#featuresProperty);
    Object.defineProperty(record, "context", RecordData.#contextProperty);
  }

  /** See {@linkcode writeFlowContext}. */
  static writeContext(record: FlowRecord, out: Float32Array, at: number): boolean {
    if (!(#slab in record)) return false;
    const ctx = (record as unknown as RecordData).#ctx;
    if (ctx === null) return false;
    ctx.write(out, at);
    return true;
  }

  /** See {@linkcode writeFlowFeatures}. */
  static writeFeatures(record: FlowRecord, out: Float64Array): boolean {
    if (!(#slab in record)) return false;
    const data = record as unknown as RecordData;
    if (RecordData.#features.has(data)) return false;
    const stats = wholeSlot(data.#slab, data.#slot);
    deriveFeatures(stats, 0, stats[SLOT_FIRST_SEEN], stats[SLOT_LAST_SEEN], out);
    return true;
  }
}

/**
 * Fast path of the feature vector: writes the per-flow features of a record
 * this table made into `out` (in `FLOW_FEATURE_NAMES` order, the values its
 * `features` object would hold) and returns true. Returns false, writing
 * nothing, for any other record, or one whose `features` was read or
 * assigned: the caller then reads `record.features`.
 */
export function writeFlowFeatures(record: FlowRecord, out: Float64Array): boolean {
  return RecordData.writeFeatures(record, out);
}

/**
 * Fast path of the feature vector: writes the context of a record this
 * table made at `out[at..at + 28)` (in {@linkcode FlowContext}'s key order,
 * the values its `context` object holds) and returns true, without making
 * that object. Returns false, writing nothing, for any other record or one
 * without a context: the caller then reads `record.context`.
 */
export function writeFlowContext(record: FlowRecord, out: Float32Array, at: number): boolean {
  return RecordData.writeContext(record, out, at);
}

/**
 * Records keep their statistics (and first/last packet time) in slots of
 * shared slabs: off the JS heap, so the garbage collector neither allocates
 * nor copies them one record at a time, and the flow's own statistics can
 * die with the flow. A slab lives as long as any of its records.
 *
 * A slot is packed when it can be (see `FlowFeatureAccumulator.packStats`):
 * the statistics the features are derived from, whole numbers as 32-bit
 * integers, those that are +0 left out (a flow of 4 packets: 150–200 bytes
 * rather than 584 whole, or 400 with every statistic kept). Writing fresh
 * slab memory is much of what making a record costs, so the smaller slot is
 * worth unpacking once when its features are read.
 */
const SLOT_FIRST_SEEN = FLOW_STATS_SIZE;
const SLOT_LAST_SEEN = FLOW_STATS_SIZE + 1;
const SLOT_SIZE = FLOW_STATS_SIZE + 2;
// A packed slot: first and last packet time, then the statistics packed
// (`FlowFeatureAccumulator.packStats`: sparse, at most PACKED_STATS_MAX_DOUBLES).
if (2 + PACKED_STATS_MAX_DOUBLES > SLOT_SIZE) throw new Error("a packed slot must fit a whole one");
/** Slots per slab (256 KiB): few enough slabs that their allocation costs little per record. */
const SLAB_SLOTS = 448;
/** A slab being filled (and its integer view), and its next free slot. */
interface SlabCursor {
  slab: Float64Array;
  ints: Int32Array;
  next: number;
}
/** Records of ended flows. */
const finalSlabs: SlabCursor = { slab: new Float64Array(0), ints: new Int32Array(0), next: 0 };
/** Snapshots of live flows. */
const liveSlabs: SlabCursor = { slab: new Float64Array(0), ints: new Int32Array(0), next: 0 };

/** Scratch copy of a slot, laid out whole (see {@linkcode wholeSlot}). */
const whole = new Float64Array(SLOT_SIZE);
/** The integer view of the slab last unpacked from. */
let unpackedInts: Int32Array = new Int32Array(0);

/**
 * A record's slot `slot` of `slab` (packed or whole), copied laid out whole
 * at offset 0 of a scratch array that the next call overwrites.
 */
function wholeSlot(slab: Float64Array, slot: number): Float64Array {
  if (slot >= 0) {
    for (let i = 0; i < SLOT_SIZE; i++) whole[i] = slab[slot + i];
    return whole;
  }
  const at = -1 - slot;
  if (unpackedInts.buffer !== slab.buffer) unpackedInts = new Int32Array(slab.buffer);
  unpackStats(slab, unpackedInts, at + 2, whole);
  whole[SLOT_FIRST_SEEN] = slab[at];
  whole[SLOT_LAST_SEEN] = slab[at + 1];
  return whole;
}
