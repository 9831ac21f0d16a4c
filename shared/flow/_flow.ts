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
import { INDEX_NONE } from "./_flow_key.ts";
import type { CloseReason } from "./_flow_record.ts";

/**
 * A flow's live state. The table reuses the objects of reported flows, so
 * {@linkcode Flow.init} lists every field, in one order, which keeps one
 * hidden class for all flows.
 */
export class Flow {
  declare key: string;
  declare uid: string;
  declare uidSuffix: number;
  declare communityId: string | null;
  declare iface: string;
  declare agent: string | null;
  declare tunnelType: TunnelType | null;
  declare tunnelId: number | null;
  declare protocol: string;
  declare ipProto: number | null;
  declare ipVersion: number | null;
  declare vlanId: number | null;
  declare vlanInnerId: number | null;
  declare origIp: string | null;
  declare origPort: number | null;
  declare origMac: string | null;
  declare respIp: string | null;
  declare respPort: number | null;
  declare respMac: string | null;
  declare icmpType: number | null;
  declare icmpCode: number | null;
  declare icmpId: number | null;
  declare firstSeen: number;
  declare lastSeen: number;
  declare closed: boolean;
  declare closeReason: CloseReason | null;
  declare bits: number;
  declare origIsn: number | null;
  declare origFinEnd: number;
  declare respFinEnd: number;
  declare continuation: boolean;
  declare ctxBits: number;
  /** The context, as the window counts at admission; null until admitted. */
  declare ctx: FlowContextCounts | null;
  /** Where the context tracker keeps this flow once admitted (null: nowhere). */
  declare ctxHandle: ContextHandle | null;
  /** Its agent's clock and context windows. */
  declare lane: AgentLane<Flow>;
  declare acc: FlowFeatureAccumulator;
  /** Finalised: out of the table, waiting for context or already reported. */
  declare ended: boolean;
  /** Epoch of the call that last listed this flow as changed. */
  declare changedEpoch: number;
  /** Index of this flow in that call's changed list. */
  declare changedIndex: number;
  declare isTcp: boolean;
  /** `${origIp}|${respIp}` of a non-TCP flow in `#hostPairs`; null until needed. */
  declare hostPair: string | null;
  /**
   * The Community ID inputs (source, destination, ports) it was computed
   * from; `cidSrc` null when unknown. A later flow on the same key with the
   * same inputs gets the same ID without hashing again.
   */
  declare cidSrc: string | null;
  declare cidDst: string | null;
  declare cidSrcPort: number | null;
  declare cidDstPort: number | null;
  /** The uid hash lanes after the key (see `flowUid`); valid when `keyLanesSet`. */
  declare keyLane0: number;
  declare keyLane1: number;
  declare keyLane2: number;
  declare keyLane3: number;
  declare keyLanesSet: boolean;
  /** Bucket of this flow in the table's tuple index; -1 when not indexed. */
  declare indexHash: number;
  /** Next flow in the same index bucket. */
  declare indexNext: Flow | undefined;
  /** How the key is made of the endpoint fields (`INDEX_*`), for the index. */
  declare indexKind: number;
  /** For `INDEX_ICMP`: the echo id in the key. */
  declare indexIcmpId: number | null;
  /** Application-layer fields folded from the flow's packets, or null before any. */
  declare app: FlowAppFields | null;
  /** `keyHash(key)`, the flow's bucket in the table's `FlowMap`; -1 until needed. */
  declare keyHash: number;
  /** Next flow in the same `FlowMap` bucket. */
  declare keyNext: Flow | undefined;
  /** The flow before this one in its `FlowMap`'s insertion order. */
  declare orderPrev: Flow | undefined;
  /** The flow after this one in its `FlowMap`'s insertion order. */
  declare orderNext: Flow | undefined;
  /** In a `FlowMap`. */
  declare inMap: boolean;

  constructor(key: string, acc: FlowFeatureAccumulator) {
    this.init(key, acc);
  }

  /**
   * Sets every field to a new flow's: the table reuses the objects of
   * reported flows (see `FlowTable#spares`), so this is the one place that
   * lists them, in one order, which keeps one hidden class for all flows.
   */
  init(key: string, acc: FlowFeatureAccumulator): void {
    this.key = key;
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
