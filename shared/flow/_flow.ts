/**
 * The flow object of the flow table: one per live flow (and per ended flow
 * waiting for its context), reused once reported.
 *
 * @module
 */

import type { FlowAppFields } from "./flow_app_fold.ts";
import type { TunnelType } from "../packet/packet_record.ts";
import { type ContextHandle, ContextTracker } from "./context_features.ts";
import type { FlowContextCounts } from "./flow_context_counts.ts";
import type { FlowFeatureAccumulator } from "./flow_features.ts";
import { AgentLane } from "./_agent_lane.ts";
import { canonicalKey, INDEX_NONE, keyScope } from "./_flow_key.ts";
import type { CloseReason } from "./_flow_record.ts";

/**
 * A flow's live state. The table reuses the objects of reported flows, so
 * {@linkcode Flow.init} sets every field again, in the order declared here.
 *
 * The fields are class fields with initialisers, not `declare`d ones set
 * by `init()`: V8 sizes an object's in-object slots from what its class
 * and constructor define, so declared fields first set in a method went to
 * a separate property array grown three slots at a time (about 4 KB of
 * garbage per flow object made, and a second object to load for most
 * fields). In-object, flow assembly took 6–17 % less CPU (docs/performance_log.md, "Flow
 * objects with in-object fields").
 */
export class Flow {
  /**
   * The table key; null for a TCP flow found and made through the tuple
   * index, whose key is read from its endpoints when first asked for
   * ({@linkcode Flow.key}): it was made for every new flow, and only saved
   * state and rare lookups by key read it (docs/performance_log.md, "Lazy key
   * strings, and the context windows' work").
   */
  keyText: string | null = null;
  uid: string = "";
  uidSuffix: number = 0;
  communityId: string | null = null;
  iface: string = "";
  agent: string | null = null;
  tunnelType: TunnelType | null = null;
  tunnelId: number | null = null;
  protocol: string = "";
  ipProto: number | null = null;
  ipVersion: number | null = null;
  vlanId: number | null = null;
  vlanInnerId: number | null = null;
  origIp: string | null = null;
  origPort: number | null = null;
  origMac: string | null = null;
  respIp: string | null = null;
  respPort: number | null = null;
  respMac: string | null = null;
  icmpType: number | null = null;
  icmpCode: number | null = null;
  icmpId: number | null = null;
  firstSeen: number = 0;
  lastSeen: number = 0;
  closed: boolean = false;
  closeReason: CloseReason | null = null;
  bits: number = 0;
  origIsn: number | null = null;
  origFinEnd: number = -1;
  respFinEnd: number = -1;
  continuation: boolean = false;
  ctxBits: number = 0;
  /** The context, as the window counts at admission; null until admitted. */
  ctx: FlowContextCounts | null = null;
  /** Where the context tracker keeps this flow once admitted (null: nowhere). */
  ctxHandle: ContextHandle | null = null;
  /** Its agent's clock and context windows. */
  lane: AgentLane<Flow> = NO_LANE;
  acc!: FlowFeatureAccumulator;
  /** Finalised: out of the table, waiting for context or already reported. */
  ended: boolean = false;
  /** Epoch of the call that last listed this flow as changed. */
  changedEpoch: number = 0;
  /** Index of this flow in that call's changed list. */
  changedIndex: number = 0;
  isTcp: boolean = false;
  /** Its `hostPairOf()` string, for a non-TCP flow in the table's `HostPairs`; null until needed. */
  hostPair: string | null = null;
  /**
   * The Community ID inputs (source, destination, ports) it was computed
   * from; `cidSrc` null when unknown. A later flow on the same key with the
   * same inputs gets the same ID without hashing again.
   */
  cidSrc: string | null = null;
  cidDst: string | null = null;
  cidSrcPort: number | null = null;
  cidDstPort: number | null = null;
  /** The uid hash lanes after the key (see `flowUid`); valid when `keyLanesSet`. */
  keyLane0: number = 0;
  keyLane1: number = 0;
  keyLane2: number = 0;
  keyLane3: number = 0;
  keyLanesSet: boolean = false;
  /** Bucket of this flow in the table's tuple index; -1 when not indexed. */
  indexHash: number = -1;
  /** Next flow in the same index bucket. */
  indexNext: Flow | undefined = undefined;
  /** How the key is made of the endpoint fields (`INDEX_*`), for the index. */
  indexKind: number = INDEX_NONE;
  /** For `INDEX_ICMP`: the echo id in the key. */
  indexIcmpId: number | null = null;
  /** Application-layer fields folded from the flow's packets, or null before any. */
  app: FlowAppFields | null = null;
  /** `keyHash(key)`, the flow's bucket in the table's `FlowMap`; -1 until needed. */
  keyHash: number = -1;
  /** Next flow in the same `FlowMap` bucket. */
  keyNext: Flow | undefined = undefined;
  /** The flow before this one in its `FlowMap`'s insertion order. */
  orderPrev: Flow | undefined = undefined;
  /** The flow after this one in its `FlowMap`'s insertion order. */
  orderNext: Flow | undefined = undefined;
  /** In a `FlowMap`. */
  inMap: boolean = false;

  constructor(key: string | null, acc: FlowFeatureAccumulator) {
    this.init(key, acc);
  }

  /**
   * The table key: `keyText`, or, when that is null, the tuple key of the
   * flow's endpoints (`canonicalKey` of its scope without VLANs, IP
   * protocol, addresses and ports: what `packetKeyString` made of its
   * first packet, whichever end the flow's roles give each), made and kept
   * on first read.
   */
  get key(): string {
    return this.keyText ??= canonicalKey(
      keyScope(this.agent, this.tunnelType, this.tunnelId, ""),
      this.ipProto!,
      this.origIp!,
      this.origPort,
      this.respIp!,
      this.respPort,
    );
  }

  /**
   * Sets every field to a new flow's (the class fields' initial values):
   * the table reuses the objects of reported flows (see `FlowReports.spare`).
   * Same order as the fields, so a reused flow keeps its hidden class.
   */
  init(key: string | null, acc: FlowFeatureAccumulator): void {
    this.keyText = key;
    this.uid = "";
    this.uidSuffix = 0;
    this.communityId = null;
    this.iface = "";
    this.agent = null;
    this.tunnelType = null;
    this.tunnelId = null;
    this.protocol = "";
    this.ipProto = null;
    this.ipVersion = null;
    this.vlanId = null;
    this.vlanInnerId = null;
    this.origIp = null;
    this.origPort = null;
    this.origMac = null;
    this.respIp = null;
    this.respPort = null;
    this.respMac = null;
    this.icmpType = null;
    this.icmpCode = null;
    this.icmpId = null;
    this.firstSeen = 0;
    this.lastSeen = 0;
    this.closed = false;
    this.closeReason = null;
    this.bits = 0;
    this.origIsn = null;
    this.origFinEnd = -1;
    this.respFinEnd = -1;
    this.continuation = false;
    this.ctxBits = 0;
    this.ctx = null;
    this.ctxHandle = null;
    this.lane = NO_LANE;
    this.acc = acc;
    this.ended = false;
    this.changedEpoch = 0;
    this.changedIndex = 0;
    this.isTcp = false;
    this.hostPair = null;
    this.cidSrc = null;
    this.cidDst = null;
    this.cidSrcPort = null;
    this.cidDstPort = null;
    this.keyLane0 = 0;
    this.keyLane1 = 0;
    this.keyLane2 = 0;
    this.keyLane3 = 0;
    this.keyLanesSet = false;
    this.indexHash = -1;
    this.indexNext = undefined;
    this.indexKind = INDEX_NONE;
    this.indexIcmpId = null;
    this.app = null;
    this.keyHash = -1;
    this.keyNext = undefined;
    this.orderPrev = undefined;
    this.orderNext = undefined;
    this.inMap = false;
  }
}

/** The lane of a flow not yet given one (one type for the field). */
export const NO_LANE: AgentLane<Flow> = new AgentLane<Flow>(null, new ContextTracker());
