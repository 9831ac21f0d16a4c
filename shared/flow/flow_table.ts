/**
 * Incremental bidirectional flow table over {@linkcode PacketRecord}s.
 *
 * Keys. Every key starts with the scope of the packet: the agent (sensor)
 * that captured it ({@linkcode FlowPacket.agent_id}), so that two sensors
 * seeing one conversation keep a flow each, as Zeek and Arkime do; and the
 * tunnel that delivered it when that tunnel names a virtual network shared
 * by both directions (VXLAN or Geneve VNI, GRE key, ERSPAN session, PPPoE
 * session), so that two tenants' overlapping
 * inner addresses stay apart. MPLS labels and GTP-U TEIDs are per hop or per
 * direction (and one direction is often seen untagged), so they key nothing.
 * Then, TCP/UDP/SCTP: VLAN ids (outer, inner), IP protocol and the two
 * (address, port) endpoints in canonical order. ICMP/ICMPv6: Zeek's
 * type/counterpart "ports" plus the echo identifier, so a request and its
 * reply share a flow; one-way types (errors, etc.) are keyed by direction
 * and never pair up, as in Community ID. Non-first IP fragments carry no
 * ports: they join the flow of their first fragment, found by (VLANs,
 * source, destination, protocol, IP id) when that fragment was seen within
 * `fragmentTimeoutSec`, else an address-pair flow of that protocol. Other IP
 * protocols, and port protocols whose ports could not be read, are keyed by
 * address pair + protocol; ARP by address pair; anything else by MAC pair +
 * EtherType.
 *
 * Roles. The originator (`orig_*`) is the sender of the first packet, except
 * in TCP: the receiver of a first SYN-ACK is the originator, and while no SYN
 * or SYN-ACK has fixed the roles, a SYN (without ACK) from the responder
 * side, or a SYN-ACK from the originator side, swaps them (Zeek's rule for
 * captures that start mid-connection).
 *
 * Ends. A TCP flow is closed when both FINs have been acknowledged, or at
 * the first RST. It stays in the table, still collecting the teardown (last
 * ACK, retransmitted FINs, ACKs and RSTs right after), until no packet has
 * been seen for `tcpClosedTimeoutSec` (the CIC-IDS2017 "TCP appendix" bug,
 * which splits these into new flows, is not reproduced). A SYN on a closed
 * (or half-closed with both FINs) flow's key, or a SYN with a new sequence
 * number on an established one, starts a new flow (port reuse). Otherwise a
 * flow ends after its protocol's idle timeout, and a flow older than
 * `activeTimeoutSec` is split at its next packet into a continuation that
 * keeps the roles.
 *
 * Time. Everything runs on packet time: `merge()` advances the table's
 * clock from packet timestamps and `expire(nowSec)` takes the time as an
 * argument. Expiry is checked on every lookup with the same rule a sweep
 * uses, so the flows produced do not depend on batch boundaries or on when
 * sweeps run. Packets are expected in time order; a batch that is not is
 * sorted first.
 *
 * Context. Each flow's {@linkcode FlowContext} is computed once packet time
 * passes `first_seen + context.outcomeDelaySec`; a flow is reported as ended
 * only when it is final and has its context.
 *
 * Agents. Each agent has a clock and context windows of its own (see
 * `_agent_lane.ts`): its packets alone expire, sweep and admit its flows, and
 * a flow's context counts only flows of the same agent, as a per-sensor Zeek
 * would. So each agent's flows, features included, are the same whatever
 * order several agents' packets interleave in. An agent that stops sending
 * while others go on follows their packet time once it has moved
 * `agentFollowAfterSec` past the stopped agent's last packet, so its flows
 * still end.
 *
 * State. `toJSON()` returns plain data; `FlowTable.fromJSON()` restores it,
 * and continuing gives exactly the flows of an uninterrupted run. State saved
 * before flows were scoped by agent and tunnel restores its flows unscoped:
 * they end by their timeouts, and the scoped packets that follow start flows
 * of their own. State saved before agents had clocks of their own (version 1)
 * gives each agent of its flows the saved clock and a copy of the shared
 * context windows, which hold other agents' flows until they leave the long
 * window (60 s of packet time).
 *
 * @module
 */

import { foldAppMetadata } from "./flow_app_fold.ts";
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type PacketRecord,
  TCP_FLAG_ACK,
  TCP_FLAG_SYN,
} from "../packet/packet_record.ts";
import { flowCommunityId } from "./community_id.ts";
import { type ContextHandle, type ContextSubject, ContextTracker } from "./context_features.ts";
import {
  type FeaturePacket,
  FlowFeatureAccumulator,
  type FlowFeatureAccumulatorOptions,
  FlowStatsPool,
} from "./flow_features.ts";
import { readIcmpQuote } from "./_icmp_quote.ts";
import { sortByTime } from "./_sort_by_time.ts";
import { AgentLane } from "./_agent_lane.ts";
import { JSON_TEXT_ITEMS, jsonArrayText } from "./_json_text.ts";
import { Flow, NO_LANE } from "./_flow.ts";
import {
  addressPairKey,
  canonicalKey,
  type FlowPacket,
  INDEX_ICMP,
  INDEX_ICMP_ONE_WAY,
  INDEX_NONE,
  INDEX_TUPLE,
  keyedTunnelType,
  keyScope,
  PacketKey,
  packetKeyString,
  packetScope,
  readPacketKey,
  scopedPair,
  tupleHash,
} from "./_flow_key.ts";
import {
  type FlowTableOptions,
  type ResolvedFlowTableOptions,
  resolveOptions,
} from "./_flow_options.ts";
import { type CloseReason, type FlowRecord, toRecord } from "./_flow_record.ts";
import {
  finiteOrNull,
  flowFromState,
  type FlowState,
  type FlowTableState,
  type FlowTableStateV1,
  flowToState,
} from "./_flow_state.ts";
import { flowUid, keyHashOfLanes, type TupleKey } from "./_flow_uid.ts";
import { FlowMap } from "./_flow_map.ts";
import { SmiMap } from "./_smi_map.ts";
import {
  ESTABLISHED,
  hasBoth,
  ORIG_FIN,
  ORIG_SYN,
  REJECTED,
  RESP_FIN,
  updateTcp,
} from "./_tcp_state.ts";

export type { AgentLaneState } from "./_agent_lane.ts";
export type { FlowPacket } from "./_flow_key.ts";
export type { FlowTableOptions, ResolvedFlowTableOptions } from "./_flow_options.ts";
export {
  type CloseReason,
  type FlowRecord,
  writeFlowContext,
  writeFlowFeatures,
} from "./_flow_record.ts";
export type { FlowState, FlowTableState, FlowTableStateV1 } from "./_flow_state.ts";

/** What `merge()` reports. */
export interface MergeResult {
  /**
   * Flows that got packets, an ICMP rejection or their context in this call,
   * as of its end: live ones, and ended ones still waiting for their context
   * (reported again in `ended` once they have it).
   */
  changed: FlowRecord[];
  /** Flows that are final: they will never change again. */
  ended: FlowRecord[];
}

// Outcome bits as the context tracker sees them.
const OUT_ANSWERED = 1;
const OUT_REJECTED = 2;
const OUT_SYN = 4;
const OUT_ESTABLISHED = 8;

/**
 * Most flow objects (with their accumulators) kept for reuse: enough for the
 * flows a sweep of a busy link ends together (about 10 MiB at most).
 */
const MAX_SPARE_FLOWS = 16384;

const ICMP4_UNREACHABLE = 3;
const ICMP6_UNREACHABLE = 1;
const SCTP_COMMON_HEADER = 12;
const UDP_HEADER = 8;
const ICMP_HEADER = 8;

/** Fragment map entry: where the later fragments of a datagram go. */
interface FragmentEntry {
  key: string;
  uid: string;
  srcIp: string;
  srcPort: number | null;
  dstPort: number | null;
  expiresSec: number;
}

const scratchPacket: FeaturePacket = {
  timestamp: 0,
  length: 0,
  payloadLength: 0,
  headerLength: 0,
  tcpFlags: null,
  tcpWindow: null,
};

/**
 * The flow table. One instance per packet stream; not safe to share between
 * concurrent writers.
 *
 * @example
 * ```ts
 * const table = new FlowTable();
 * const { changed, ended } = table.merge(records);
 * const saved = JSON.stringify(table.toJSON());
 * const again = FlowTable.fromJSON(JSON.parse(saved));
 * const last = again.drain(); // end of input: everything ends
 * ```
 */
export class FlowTable {
  /** Options in force, defaults filled in. */
  readonly options: ResolvedFlowTableOptions;
  #flows = new FlowMap();
  /**
   * Flows of `#flows` whose key is made of their endpoint fields (TCP, UDP
   * or SCTP with both ports and no VLAN; most ICMP), by
   * {@linkcode tupleHash} of the endpoints, chained through
   * `Flow.indexNext`: a packet of such a flow finds it without building and
   * hashing the key string.
   */
  #index = new SmiMap<Flow>();
  #fragments = new Map<string, FragmentEntry>();
  #hostPairs = new Map<string, string>();
  /** Each agent's clock, context windows and admission queue. */
  #lanes = new Map<string | null, AgentLane<Flow>>();
  /** The lane of the packet being processed. */
  #lane: AgentLane<Flow> = NO_LANE;
  /** The latest packet time of any agent. */
  #now = -Infinity;
  /** Records of the flows ended (and with context) in the current call. */
  #endedOut: FlowRecord[] = [];
  /** Flows changed in the current call; `Flow.changedEpoch` dedups them. */
  #changed: (Flow | undefined)[] = [];
  /**
   * Flows reported in the current packet's processing (still possibly read
   * by it), and flows whose objects `#create` may reuse: a flow reported as
   * ended is referenced by nothing in the table any more.
   */
  #retired: Flow[] = [];
  #spares: Flow[] = [];
  /** Accumulators of this table's flows keep their statistics in one pool. */
  #accOptions: FlowFeatureAccumulatorOptions = { pool: new FlowStatsPool() };
  #epoch = 1;
  /** The key of the packet being processed (see `readPacketKey`). */
  #key = new PacketKey();

  /** Creates an empty table; throws RangeError naming a bad option. */
  constructor(options: FlowTableOptions = {}) {
    this.options = resolveOptions(options, new ContextTracker(options.context ?? {}).options);
  }

  /**
   * The table's packet-time clock: the latest packet or `expire()` time of
   * any agent; -Infinity before any.
   */
  get nowSec(): number {
    return this.#now;
  }

  /** Live flows in the table (closed ones still collecting teardown included). */
  get size(): number {
    return this.#flows.size;
  }

  /**
   * Adds a batch of packets. Returns the live flows that changed and the
   * flows that ended (final, with context) during this call.
   */
  merge(packets: readonly FlowPacket[]): MergeResult {
    this.#mergePackets(packets);
    const changed = this.#collectChanged();
    return { changed, ended: this.#collectEnded() };
  }

  /**
   * Adds a batch of packets like {@linkcode merge}, but returns only the
   * flows that ended. The live flows it changes are reported by the next
   * {@linkcode takeChanged} (or `merge()`), each once however many calls
   * changed it: a long input merged in slices this way is snapshotted once,
   * not once per slice.
   */
  mergeEnded(packets: readonly FlowPacket[]): FlowRecord[] {
    this.#mergePackets(packets);
    return this.#collectEnded();
  }

  /**
   * Snapshots of the live flows changed since they were last reported (by
   * `merge()` or this), each once.
   */
  takeChanged(): FlowRecord[] {
    return this.#collectChanged();
  }

  #mergePackets(packets: readonly FlowPacket[]): void {
    let ordered = packets;
    for (let i = 1; i < packets.length; i++) {
      if (packets[i].timestamp < packets[i - 1].timestamp) {
        ordered = sortByTime(packets);
        break;
      }
    }
    let lane = this.#lane;
    for (let i = 0; i < ordered.length; i++) {
      const p = ordered[i];
      const ts = p.timestamp;
      const agent = p.agent_id ?? null;
      if (agent !== lane.agent || lane === NO_LANE) lane = this.#laneOf(agent);
      this.#lane = lane;
      if (ts > lane.nowSec) lane.nowSec = ts;
      if (ts > this.#now) this.#now = ts;
      lane.lagSec = this.#now - lane.nowSec;
      this.#admitUntil(lane, ts);
      this.#process(p, ts);
    }
    let due = false;
    const followAfter = this.options.agentFollowAfterSec;
    for (const other of this.#lanes.values()) {
      // An agent the others' packet time left behind by more than the wait.
      this.#advance(other, this.#now - other.lagSec - followAfter);
      if (other.nowSec >= other.nextSweepSec) due = true;
    }
    if (due) this.#sweepAll();
  }

  /** The lane of `agent`'s packets, made on its first packet. */
  #laneOf(agent: string | null): AgentLane<Flow> {
    let lane = this.#lanes.get(agent);
    if (lane === undefined) {
      lane = new AgentLane(agent, new ContextTracker(this.options.context));
      this.#lanes.set(agent, lane);
    }
    return lane;
  }

  /** Moves an agent's clock on to `nowSec` (if later), computing the contexts that are due. */
  #advance(lane: AgentLane<Flow>, nowSec: number): void {
    if (nowSec > lane.nowSec) {
      lane.nowSec = nowSec;
      this.#admitUntil(lane, nowSec);
    }
  }

  /** Sweeps every agent's flows at that agent's own clock. */
  #sweepAll(): void {
    this.#sweep();
    for (const lane of this.#lanes.values()) {
      lane.nextSweepSec = lane.nowSec + this.options.sweepIntervalSec;
    }
  }

  /**
   * Advances the clock to `nowSec` (packet time, e.g. the ingest watermark)
   * and ends every flow idle past its timeout. Each agent's clock moves to
   * `nowSec` less the lag its last packet had behind the latest of all (see
   * {@linkcode FlowTableOptions.agentFollowAfterSec}). Returns the ended
   * flows.
   */
  expire(nowSec: number): FlowRecord[] {
    if (Number.isNaN(nowSec)) {
      throw new RangeError(
        `Cannot expire flows as 'nowSec' must be a number: current value is ${nowSec}`,
      );
    }
    if (nowSec > this.#now) this.#now = nowSec;
    for (const lane of this.#lanes.values()) this.#advance(lane, nowSec - lane.lagSec);
    this.#sweepAll();
    // Live flows it changes (by computing their context) are reported by the next merge.
    return this.#collectEnded();
  }

  /**
   * Ends every flow idle past its timeout at its own agent's clock, without
   * moving any clock: what a sweep at the last packet would end. Returns the
   * ended flows.
   */
  sweep(): FlowRecord[] {
    this.#sweepAll();
    return this.#collectEnded();
  }

  /**
   * End of input: ends every flow (reason `end` unless it already closed by
   * FIN/RST), computes the contexts still missing and returns all of them.
   */
  drain(): FlowRecord[] {
    for (const flow of [...this.#flows.values()]) {
      this.#finalize(flow, flow.closed ? flow.closeReason! : "end");
    }
    this.#fragments.clear();
    for (const lane of this.#lanes.values()) this.#admitUntil(lane, Infinity);
    this.#collectChanged(); // every flow ended: nothing live is left to report
    return this.#collectEnded();
  }

  /**
   * The uids of every flow the table holds: live ones, and ended ones still
   * waiting for their context. Any flow a later `merge()` reports that is not
   * among them was created by that call.
   */
  uids(): Set<string> {
    const uids = new Set<string>();
    for (const flow of this.#flows.values()) uids.add(flow.uid);
    for (const lane of this.#lanes.values()) {
      for (const flow of lane.waiting()) uids.add(flow.uid);
    }
    return uids;
  }

  /** Snapshots of all live flows. */
  snapshot(): FlowRecord[] {
    return [...this.#flows.values()].map((flow) => toRecord(flow, false));
  }

  /** The whole state as plain data, for `JSON.stringify` and the database. */
  toJSON(): FlowTableState {
    const pending: FlowState[] = [];
    for (const lane of this.#lanes.values()) {
      for (const flow of lane.waiting()) if (flow.ended) pending.push(flowToState(flow));
    }
    return {
      version: 2,
      options: structuredClone(this.options),
      nowSec: finiteOrNull(this.#now),
      flows: [...this.#flows.values()].map(flowToState),
      pending,
      agents: [...this.#lanes.values()].map((lane) => lane.toJSON((flow) => flow.uid)),
      fragments: [...this.#fragments].map((
        [fragmentKey, e],
      ) => [fragmentKey, e.key, e.uid, e.srcIp, e.srcPort, e.dstPort, e.expiresSec]),
      hostPairs: [...this.#hostPairs],
    };
  }

  /**
   * The text of `JSON.stringify(this.toJSON())` in pieces of up to `per`
   * flows or entries, so that saving a large table never holds its whole
   * state as objects and one string (issue 15). The table must not change
   * until the last piece is taken.
   */
  *toJSONText(per: number = JSON_TEXT_ITEMS): Generator<string> {
    yield `{"version":2,"options":${JSON.stringify(this.options)},"nowSec":${
      JSON.stringify(finiteOrNull(this.#now))
    },"flows":`;
    yield* jsonArrayText(this.#flows.values(), flowToState, per);
    yield `,"pending":`;
    yield* jsonArrayText(this.#endedWaiting(), flowToState, per);
    yield `,"agents":[`;
    let first = true;
    for (const lane of this.#lanes.values()) {
      if (!first) yield ",";
      first = false;
      yield* lane.toJSONText((flow) => flow.uid, per);
    }
    yield `],"fragments":`;
    yield* jsonArrayText(
      this.#fragments,
      (
        [fragmentKey, e],
      ) => [fragmentKey, e.key, e.uid, e.srcIp, e.srcPort, e.dstPort, e.expiresSec],
      per,
    );
    yield `,"hostPairs":`;
    yield* jsonArrayText(this.#hostPairs, (pair) => pair, per);
    yield "}";
  }

  *#endedWaiting(): Generator<Flow> {
    for (const lane of this.#lanes.values()) {
      for (const flow of lane.waiting()) if (flow.ended) yield flow;
    }
  }

  /**
   * Restores a table saved with {@linkcode FlowTable.toJSON}, or by a
   * release before agents had clocks of their own (see the module doc).
   */
  static fromJSON(state: FlowTableState | FlowTableStateV1): FlowTable {
    if (state.version !== 1 && state.version !== 2) {
      throw new RangeError(
        `Cannot restore flow table as 'version' must be 1 or 2: current value is ${
          (state as { version: unknown }).version
        }`,
      );
    }
    const table = new FlowTable(state.options);
    table.#now = state.nowSec ?? -Infinity;
    const byUid = new Map<string, Flow>();
    for (const saved of state.flows) {
      const flow = flowFromState(saved, table.options.activityTimeoutSec, table.#accOptions);
      table.#flows.set(flow);
      table.#indexAdd(flow, undefined, INDEX_NONE, null);
      byUid.set(flow.uid, flow);
    }
    for (const saved of state.pending) {
      const flow = flowFromState(saved, table.options.activityTimeoutSec, table.#accOptions);
      flow.ended = true;
      byUid.set(`ended:${flow.uid}`, flow);
    }
    const flowOf = (uid: string): Flow => {
      const flow = byUid.get(`ended:${uid}`) ?? byUid.get(uid);
      if (flow === undefined) {
        throw new RangeError(`Cannot restore flow table as queued flow '${uid}' is missing`);
      }
      return flow;
    };
    if (state.version === 2) {
      for (const saved of state.agents) {
        table.#lanes.set(saved.agent, AgentLane.fromJSON(saved, flowOf));
      }
    } else {
      table.#restoreSharedClock(state, [...byUid.values()], flowOf);
    }
    for (const flow of byUid.values()) {
      flow.lane = table.#laneOf(flow.agent);
    }
    for (const [fragmentKey, key, uid, srcIp, srcPort, dstPort, expiresSec] of state.fragments) {
      table.#fragments.set(fragmentKey, { key, uid, srcIp, srcPort, dstPort, expiresSec });
    }
    for (const [pair, key] of state.hostPairs) table.#hostPairs.set(pair, key);
    // Reconnect admitted flows to their tracker entries (as the uid lookup
    // of the tracker's update() would find them).
    const handles = new Map<AgentLane<Flow>, Map<string, ContextHandle>>();
    for (const flow of table.#flows.values()) {
      if (flow.ctx === null) continue;
      let ofLane = handles.get(flow.lane);
      if (ofLane === undefined) handles.set(flow.lane, ofLane = flow.lane.tracker.handlesByUid());
      flow.ctxHandle = ofLane.get(flow.uid) ?? null;
    }
    return table;
  }

  /**
   * Version 1 state had one clock, queue and tracker for every agent: each
   * agent of its flows gets that clock, its own flows of the queue, and a copy
   * of the tracker.
   */
  #restoreSharedClock(
    state: FlowTableStateV1,
    flows: Flow[],
    flowOf: (uid: string) => Flow,
  ): void {
    const agents = new Set(flows.map((flow) => flow.agent));
    for (const agent of agents) {
      const lane = new AgentLane<Flow>(agent, ContextTracker.fromJSON(state.context));
      lane.nowSec = state.nowSec ?? -Infinity;
      lane.nextSweepSec = state.nextSweepSec ?? -Infinity;
      this.#lanes.set(agent, lane);
    }
    for (const uid of state.queue) {
      const flow = flowOf(uid);
      this.#lanes.get(flow.agent)!.queue.push(flow);
    }
  }

  // --- packet path -------------------------------------------------------

  #process(p: FlowPacket, ts: number): void {
    const k = this.#key;
    if (!readPacketKey(p, k)) return;
    // Null: a TCP flow's tuple key, made from the flow's endpoints when read
    // (see Flow.key); nothing on a TCP flow's own path reads it.
    let key: string | null = null;
    let flow: Flow | undefined;
    if (k.indexKind !== INDEX_NONE) {
      // Endpoints that make the key: the index finds the flow without it.
      const tunnelType = keyedTunnelType(p.tunnel_type);
      flow = this.#indexFind(
        k.src!,
        k.srcPort!,
        k.dst!,
        k.dstPort!,
        p.ip_proto!,
        k.indexKind,
        p.icmp_id,
        p.agent_id ?? null,
        tunnelType,
        tunnelType === null ? null : p.tunnel_id ?? null,
      );
    }
    if (flow !== undefined) {
      // A flow found by the index is the one under the packet's key.
      if (!flow.isTcp) key = flow.key;
    } else if (k.indexKind !== INDEX_TUPLE) {
      key = k.laterFragment ? this.#laterFragmentKey(p, k, ts) : packetKeyString(p, k);
      flow = this.#flows.get(key);
    } else if (p.ip_proto !== IPPROTO_TCP) {
      // Every flow under a tuple key is indexed (see #indexFind): the miss is
      // proof. The host-pair map keeps a new non-TCP flow's key: made now.
      key = packetKeyString(p, k);
    }
    const tcpFlags = p.ip_proto === IPPROTO_TCP && !p.is_fragment ? p.tcp_flags : null;
    const pureSyn = tcpFlags !== null && (tcpFlags & TCP_FLAG_SYN) !== 0 &&
      (tcpFlags & TCP_FLAG_ACK) === 0;

    let previous: Flow | undefined;
    let continueFrom: Flow | undefined;
    if (flow !== undefined) {
      const reason = this.#expiryReason(flow, ts, true);
      if (reason !== null) {
        this.#finalize(flow, reason);
        previous = flow;
        if (reason === "active_timeout") continueFrom = flow;
        flow = undefined;
      } else if (pureSyn && this.#isReuse(flow, p)) {
        this.#finalize(
          flow,
          flow.closed
            ? flow.closeReason!
            : hasBoth(flow.bits, ORIG_FIN, RESP_FIN)
            ? "fin"
            : "reuse",
        );
        previous = flow;
        flow = undefined;
      }
    }
    let fromOrig: boolean;
    if (flow === undefined) {
      flow = this.#create(key, p, ts, previous, continueFrom);
      // A new flow's roles come from this packet; a continuation keeps its own.
      fromOrig = continueFrom === undefined || this.#isFromOrig(flow);
    } else {
      fromOrig = this.#isFromOrig(flow);
    }
    if (k.fragmentKey !== null && !k.laterFragment) {
      this.#fragments.set(k.fragmentKey, {
        key: key ?? flow.key,
        uid: flow.uid,
        srcIp: k.src!,
        srcPort: k.srcPort,
        dstPort: k.dstPort,
        expiresSec: ts + this.options.fragmentTimeoutSec,
      });
    }

    if (tcpFlags !== null && flow.isTcp) {
      fromOrig = updateTcp(flow, p, tcpFlags, fromOrig);
    }

    if (ts > flow.lastSeen) flow.lastSeen = ts;
    if (ts < flow.firstSeen) flow.firstSeen = ts;
    scratchPacket.timestamp = ts;
    scratchPacket.length = p.length;
    scratchPacket.payloadLength = p.payload_length;
    scratchPacket.headerLength = headerLength(p);
    scratchPacket.tcpFlags = tcpFlags;
    scratchPacket.tcpWindow = tcpFlags !== null ? p.tcp_window : null;
    flow.acc.add(fromOrig, scratchPacket);
    if (p.app_protocol) flow.app = foldAppMetadata(flow.app, p, fromOrig);

    if (
      p.icmp_type !== null && k.oneWay &&
      ((p.ip_proto === IPPROTO_ICMP && p.icmp_type === ICMP4_UNREACHABLE) ||
        (p.ip_proto === IPPROTO_ICMPV6 && p.icmp_type === ICMP6_UNREACHABLE))
    ) {
      this.#chargeUnreachable(p, ts);
    }

    this.#markChanged(flow);
    this.#reportOutcome(flow);
  }

  /**
   * The key of a non-first fragment: its first fragment's flow, when that
   * was seen within the fragment timeout and its flow is still live (the
   * ports in `k` then become that fragment's), else the address pair.
   */
  #laterFragmentKey(p: FlowPacket, k: PacketKey, ts: number): string {
    const fragmentKey = k.fragmentKey!;
    const entry = this.#fragments.get(fragmentKey);
    if (entry !== undefined) {
      if (!p.more_fragments || ts > entry.expiresSec) this.#fragments.delete(fragmentKey);
      const flow = this.#flows.get(entry.key);
      if (
        ts <= entry.expiresSec && flow !== undefined && flow.uid === entry.uid &&
        this.#expiryReason(flow, ts, false) === null
      ) {
        k.srcPort = entry.srcPort;
        k.dstPort = entry.dstPort;
        return entry.key;
      }
    }
    return addressPairKey(p, k);
  }

  /** The packet whose key is in `#key` was sent by the flow's originator. */
  #isFromOrig(flow: Flow): boolean {
    const k = this.#key;
    return k.src === flow.origIp && k.srcPort === flow.origPort
      ? true
      : (flow.origIp === null && k.src === flow.origMac);
  }

  #create(
    key: string | null,
    p: FlowPacket,
    ts: number,
    previous: Flow | undefined,
    continueFrom: Flow | undefined,
  ): Flow {
    let flow = this.#spares.pop();
    if (flow === undefined) {
      const acc = new FlowFeatureAccumulator(
        this.options.activityTimeoutSec,
        undefined,
        this.#accOptions,
      );
      flow = new Flow(key, acc);
    } else {
      // A reported flow's accumulator was released (see #output): a new slot.
      const acc = flow.acc;
      acc.renew(this.#accOptions.pool!);
      flow.init(key, acc);
    }
    flow.iface = p.interface;
    // The key's scope (same key, same values).
    flow.agent = p.agent_id ?? null;
    flow.tunnelType = keyedTunnelType(p.tunnel_type);
    flow.tunnelId = flow.tunnelType === null ? null : p.tunnel_id ?? null;
    flow.protocol = p.protocol;
    flow.ipProto = p.ip_proto;
    flow.ipVersion = p.ip_version;
    flow.vlanId = p.vlan_id;
    flow.vlanInnerId = p.vlan_inner_id;
    flow.isTcp = p.ip_proto === IPPROTO_TCP;
    flow.firstSeen = ts;
    flow.lastSeen = ts;
    const isIp = p.src_ip !== null && p.dst_ip !== null;
    if (continueFrom !== undefined) {
      // Same conversation past the active timeout: keep roles and TCP state.
      flow.origIp = continueFrom.origIp;
      flow.origPort = continueFrom.origPort;
      flow.origMac = continueFrom.origMac;
      flow.respIp = continueFrom.respIp;
      flow.respPort = continueFrom.respPort;
      flow.respMac = continueFrom.respMac;
      flow.bits = continueFrom.bits & ~REJECTED;
      flow.origIsn = continueFrom.origIsn;
      flow.origFinEnd = continueFrom.origFinEnd;
      flow.respFinEnd = continueFrom.respFinEnd;
      flow.continuation = true;
    } else if (isIp) {
      const k = this.#key;
      flow.origIp = k.src;
      flow.origPort = k.srcPort;
      flow.respIp = k.dst;
      flow.respPort = k.dstPort;
      flow.origMac = p.eth_src;
      flow.respMac = p.eth_dst;
    } else {
      flow.origMac = p.eth_src;
      flow.respMac = p.eth_dst;
    }
    if (p.icmp_type !== null && (p.ip_proto === IPPROTO_ICMP || p.ip_proto === IPPROTO_ICMPV6)) {
      flow.icmpType = p.icmp_type;
      flow.icmpCode = p.icmp_code;
      flow.icmpId = p.icmp_id;
    }
    if (isIp && p.ip_proto !== null) {
      const icmp = p.ip_proto === IPPROTO_ICMP || p.ip_proto === IPPROTO_ICMPV6;
      const src = p.src_ip!;
      const dst = p.dst_ip!;
      const srcPort = icmp ? p.icmp_type : (p.is_fragment ? null : p.src_port);
      const dstPort = icmp ? p.icmp_code : (p.is_fragment ? null : p.dst_port);
      flow.cidSrc = src;
      flow.cidDst = dst;
      flow.cidSrcPort = srcPort;
      flow.cidDstPort = dstPort;
      // Same key, so same protocol and seed: the same inputs give the same ID.
      // Outside ICMP the ID ignores direction, so reversed inputs do too.
      if (
        previous !== undefined && previous.cidSrc !== null &&
        ((previous.cidSrc === src && previous.cidDst === dst &&
          previous.cidSrcPort === srcPort && previous.cidDstPort === dstPort) ||
          (!icmp && previous.cidSrc === dst && previous.cidDst === src &&
            previous.cidSrcPort === dstPort && previous.cidDstPort === srcPort))
      ) {
        flow.communityId = previous.communityId;
      } else {
        flow.communityId = flowCommunityId(
          src,
          dst,
          p.ip_proto,
          srcPort,
          dstPort,
          this.options.communityIdSeed,
        );
      }
    }
    flow.uidSuffix = previous !== undefined && previous.firstSeen === ts
      ? previous.uidSuffix + 1
      : 0;
    flow.uid = flowUid(flow, previous, key === null ? tupleKeyOf(flow) : null);
    flow.keyHash = keyHashOfLanes(flow);
    this.#flows.set(flow);
    this.#indexAdd(flow, continueFrom, this.#key.indexKind, p.icmp_id);
    flow.lane = this.#lane;
    this.#lane.queue.push(flow);
    if (!flow.isTcp && flow.origIp !== null && flow.respIp !== null) {
      flow.hostPair = previous !== undefined && previous.hostPair !== null &&
          previous.origIp === flow.origIp && previous.respIp === flow.respIp
        ? previous.hostPair
        : hostPairOf(flow);
      this.#hostPairs.set(flow.hostPair, key ?? flow.key);
    }
    // Flows reported while this packet was handled (such as `previous`) have
    // been read for the last time: their objects may serve the next flows.
    if (this.#retired.length > 0) this.#recycle();
    return flow;
  }

  /** Moves retired flows to the spares (up to a bound) and lets the rest go. */
  #recycle(): void {
    const retired = this.#retired;
    for (let i = 0; i < retired.length && this.#spares.length < MAX_SPARE_FLOWS; i++) {
      this.#spares.push(retired[i]);
    }
    retired.length = 0;
  }

  /** True when a pure SYN on `flow`'s key starts a new connection. */
  #isReuse(flow: Flow, p: PacketRecord): boolean {
    if (!flow.isTcp) return false;
    if (flow.closed || hasBoth(flow.bits, ORIG_FIN, RESP_FIN)) return true;
    if ((flow.bits & ESTABLISHED) === 0) return false;
    // A SYN with a fresh ISN after the handshake: the old connection is gone.
    const fromOrig = this.#isFromOrig(flow);
    return !fromOrig || (p.tcp_seq !== null && flow.origIsn !== null && p.tcp_seq !== flow.origIsn);
  }

  /** Marks the flow an ICMP destination-unreachable is about as rejected. */
  #chargeUnreachable(p: FlowPacket, ts: number): void {
    const vlans = packetScope(p);
    const untagged = p.vlan_id === null && p.vlan_inner_id === null;
    let target: Flow | undefined;
    const quote = readIcmpQuote(p);
    if (quote !== null) {
      const ported = quote.srcPort !== null &&
        (quote.ipProto === IPPROTO_TCP || quote.ipProto === IPPROTO_UDP ||
          quote.ipProto === IPPROTO_SCTP);
      if (ported && untagged && quote.dstPort !== null) {
        target = this.#indexFind(
          quote.srcIp,
          quote.srcPort!,
          quote.dstIp,
          quote.dstPort,
          quote.ipProto,
          INDEX_TUPLE,
          null,
          p.agent_id ?? null,
          keyedTunnelType(p.tunnel_type),
          keyedTunnelType(p.tunnel_type) === null ? null : p.tunnel_id ?? null,
        );
      }
      if (target === undefined) {
        const key = ported
          ? canonicalKey(
            vlans,
            quote.ipProto,
            quote.srcIp,
            quote.srcPort,
            quote.dstIp,
            quote.dstPort,
          )
          : canonicalKey(vlans, quote.ipProto, quote.srcIp, null, quote.dstIp, null);
        target = this.#flows.get(key);
      }
    } else if (p.dst_ip !== null && p.src_ip !== null) {
      // No quote: the latest non-TCP flow from the error's receiver to its sender.
      const scope = keyScope(
        p.agent_id ?? null,
        keyedTunnelType(p.tunnel_type),
        p.tunnel_id ?? null,
        "",
      );
      const key = this.#hostPairs.get(scopedPair(scope, p.dst_ip, p.src_ip));
      if (key !== undefined) target = this.#flows.get(key);
      if (target !== undefined && (target.origIp !== p.dst_ip || target.respIp !== p.src_ip)) {
        target = undefined;
      }
    }
    if (target === undefined || this.#expiryReason(target, ts, false) !== null) return;
    if ((target.bits & REJECTED) === 0) {
      target.bits |= REJECTED;
      this.#markChanged(target);
      this.#reportOutcome(target);
    }
  }

  // --- tuple index -------------------------------------------------------

  /**
   * The indexed flow whose key a packet with these endpoints (Zeek's ports
   * for ICMP) would get, if any. A hit is exact: the flow is the one
   * `#flows` holds under that key. A miss of `INDEX_TUPLE` proves that no
   * flow has the key (every TCP, UDP or SCTP flow keyed by its ports and no
   * VLAN is indexed, see `#indexAdd`); any other miss proves nothing (an ICMP
   * flow is indexed only when made from a packet of an indexed kind, and not
   * when restored): the caller then looks the key up. Flows of every scope (agent,
   * keyed tunnel) share the buckets; only one of the packet's scope is found.
   */
  #indexFind(
    src: string,
    srcPort: number,
    dst: string,
    dstPort: number,
    proto: number,
    kind: number,
    icmpId: number | null,
    agent: string | null,
    tunnelType: string | null,
    tunnelId: number | null,
  ): Flow | undefined {
    let flow = this.#index.get(tupleHash(src, srcPort, dst, dstPort, proto));
    while (flow !== undefined) {
      if (
        flow.indexKind === kind && flow.ipProto === proto &&
        ((flow.origPort === srcPort && flow.respPort === dstPort && flow.origIp === src &&
          flow.respIp === dst) ||
          (kind !== INDEX_ICMP_ONE_WAY && flow.origPort === dstPort &&
            flow.respPort === srcPort && flow.origIp === dst && flow.respIp === src)) &&
        (kind !== INDEX_ICMP || flow.indexIcmpId === icmpId) && flow.agent === agent &&
        flow.tunnelType === tunnelType && flow.tunnelId === tunnelId
      ) {
        return flow;
      }
      flow = flow.indexNext;
    }
    return undefined;
  }

  /**
   * Indexes a flow just put in `#flows` when its key is known to be made of
   * its endpoint fields. A TCP, UDP or SCTP flow with both ports and no VLAN
   * always has such a key (roles flip, but the pair stays). An ICMP flow is
   * indexed when its key came from the ICMP branch of `#process`
   * (`icmpKind`, with the packet's echo id), or from the flow it continues.
   */
  #indexAdd(
    flow: Flow,
    continueFrom: Flow | undefined,
    icmpKind: number,
    icmpId: number | null,
  ): void {
    const proto = flow.ipProto;
    if (
      flow.origIp === null || flow.respIp === null || flow.origPort === null ||
      flow.respPort === null || flow.vlanId !== null || flow.vlanInnerId !== null
    ) {
      return;
    }
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) {
      flow.indexKind = INDEX_TUPLE;
    } else if (continueFrom !== undefined) {
      if (continueFrom.indexKind === INDEX_NONE) return;
      flow.indexKind = continueFrom.indexKind;
      flow.indexIcmpId = continueFrom.indexIcmpId;
    } else if (icmpKind !== INDEX_NONE) {
      flow.indexKind = icmpKind;
      flow.indexIcmpId = icmpId;
    } else {
      return;
    }
    const hash = tupleHash(flow.origIp, flow.origPort, flow.respIp, flow.respPort, proto!);
    flow.indexHash = hash;
    flow.indexNext = this.#index.get(hash);
    this.#index.set(hash, flow);
  }

  /** Takes a flow just removed from `#flows` out of the index. */
  #indexRemove(flow: Flow): void {
    const hash = flow.indexHash;
    if (hash < 0) return;
    flow.indexHash = -1;
    let head = this.#index.get(hash);
    if (head === flow) {
      if (flow.indexNext === undefined) this.#index.delete(hash);
      else this.#index.set(hash, flow.indexNext);
    } else {
      while (head !== undefined && head.indexNext !== flow) head = head.indexNext;
      if (head !== undefined) head.indexNext = flow.indexNext;
    }
    flow.indexNext = undefined;
  }

  // --- time --------------------------------------------------------------

  /**
   * Why `flow` would end at packet time `ts`, or null. The active timeout is
   * only applied on the packet path (`withActive`), so that sweeps never end
   * a flow the packet path would have continued.
   */
  #expiryReason(flow: Flow, ts: number, withActive: boolean): CloseReason | null {
    const gap = ts - flow.lastSeen;
    const o = this.options;
    if (flow.closed) return gap > o.tcpClosedTimeoutSec ? flow.closeReason : null;
    let idle: number;
    if (flow.isTcp) {
      if (hasBoth(flow.bits, ORIG_FIN, RESP_FIN)) {
        return gap > o.tcpClosedTimeoutSec ? "fin" : null;
      }
      idle = flow.acc.packets(false) > 0 ? o.tcpIdleTimeoutSec : o.tcpAttemptTimeoutSec;
    } else if (flow.ipProto === IPPROTO_UDP) {
      idle = o.udpIdleTimeoutSec;
    } else if (flow.ipProto === IPPROTO_ICMP || flow.ipProto === IPPROTO_ICMPV6) {
      idle = o.icmpIdleTimeoutSec;
    } else {
      idle = o.otherIdleTimeoutSec;
    }
    if (gap > idle) return "idle";
    if (withActive && ts - flow.firstSeen > o.activeTimeoutSec) return "active_timeout";
    return null;
  }

  /** Ends the flows idle past their timeout, each at its own agent's clock. */
  #sweep(): void {
    // In insertion order, as FlowMap.values() walks it (deleting the flow
    // at hand allowed), without its generator: a sweep visits every live
    // flow, and the iterator results were 2 % of the bench's allocation.
    for (let flow = this.#flows.first; flow !== undefined;) {
      const next = flow.orderNext;
      const reason = this.#expiryReason(flow, flow.lane.nowSec, false);
      if (reason !== null) this.#finalize(flow, reason);
      flow = flow.inMap ? flow.orderNext : next;
    }
    for (const [fragmentKey, entry] of this.#fragments) {
      // An entry whose flow is gone leads nowhere (see #resolveKey); the
      // others expire at their flow's agent's clock.
      const flow = this.#flows.get(entry.key);
      if (flow === undefined || flow.uid !== entry.uid || flow.lane.nowSec > entry.expiresSec) {
        this.#fragments.delete(fragmentKey);
      }
    }
  }

  #finalize(flow: Flow, reason: CloseReason): void {
    if (flow.inMap) {
      this.#flows.delete(flow);
      this.#indexRemove(flow);
    }
    // Only non-TCP flows are entered there, and their roles never flip.
    if (!flow.isTcp && flow.origIp !== null && flow.respIp !== null) {
      const pair = flow.hostPair ?? hostPairOf(flow);
      if (this.#hostPairs.get(pair) === flow.key) this.#hostPairs.delete(pair);
    }
    flow.ended = true;
    flow.closed = true;
    flow.closeReason = reason;
    if (flow.ctx !== null) this.#output(flow);
  }

  /** Computes contexts of an agent's flows whose outcome delay passed before `ts`. */
  #admitUntil(lane: AgentLane<Flow>, ts: number): void {
    const delay = this.options.context.outcomeDelaySec;
    const queue = lane.queue;
    const tracker = lane.tracker;
    while (lane.queueHead < queue.length) {
      const flow = queue[lane.queueHead]!;
      if (!(flow.firstSeen + delay < ts)) break;
      queue[lane.queueHead++] = undefined;
      flow.ctxBits = outcomeBits(flow);
      const handle = tracker.admitHandle(subjectOf(flow));
      flow.ctxHandle = handle;
      // The window counts of this moment; every record of the flow shares
      // them, and the context object they give (made when first read).
      flow.ctx = tracker.countsOf(handle);
      if (flow.ended) this.#output(flow);
      else this.#markChanged(flow);
    }
    lane.compact();
  }

  #reportOutcome(flow: Flow): void {
    if (flow.ctx === null) return;
    const bits = outcomeBits(flow);
    if (bits !== flow.ctxBits) {
      flow.ctxBits = bits;
      if (flow.ctxHandle !== null) flow.lane.tracker.updateHandle(flow.ctxHandle, subjectOf(flow));
    }
  }

  #markChanged(flow: Flow): void {
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
  #output(flow: Flow): void {
    this.#endedOut.push(toRecord(flow, true));
    // Nothing reads a reported flow's statistics again: reuse the slot.
    flow.acc.release();
    if (flow.changedEpoch === this.#epoch) this.#changed[flow.changedIndex] = undefined;
    this.#retired.push(flow);
  }

  /** Snapshots of the live flows changed since the last report; starts a new report. */
  #collectChanged(): FlowRecord[] {
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
  #collectEnded(): FlowRecord[] {
    const ended = this.#endedOut;
    if (this.#retired.length > 0) this.#recycle();
    this.#endedOut = [];
    return ended;
  }
}

/** Reused by {@linkcode tupleKeyOf}: `flowUid` reads it and keeps nothing. */
const scratchTuple: TupleKey = { scope: "", proto: 0, a: "", aPort: 0, b: "", bPort: 0 };

/** The parts of a tuple-indexed flow's key (see `Flow.key`), in a shared scratch object. */
function tupleKeyOf(flow: Flow): TupleKey {
  const tuple = scratchTuple;
  tuple.scope = keyScope(flow.agent, flow.tunnelType, flow.tunnelId, "");
  tuple.proto = flow.ipProto!;
  tuple.a = flow.origIp!;
  tuple.aPort = flow.origPort!;
  tuple.b = flow.respIp!;
  tuple.bPort = flow.respPort!;
  return tuple;
}

/** `#hostPairs` key of a non-TCP flow. */
function hostPairOf(flow: Flow): string {
  return scopedPair(
    keyScope(flow.agent, flow.tunnelType, flow.tunnelId, ""),
    flow.origIp!,
    flow.respIp!,
  );
}

function headerLength(p: PacketRecord): number {
  const ip = p.ip_header_length ?? 0;
  if (p.is_fragment) return ip;
  switch (p.ip_proto) {
    case IPPROTO_TCP:
      return ip + (p.tcp_header_length ?? 0);
    case IPPROTO_UDP:
      return ip + UDP_HEADER;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return ip + ICMP_HEADER;
    case IPPROTO_SCTP:
      return ip + SCTP_COMMON_HEADER;
    default:
      return ip;
  }
}

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
