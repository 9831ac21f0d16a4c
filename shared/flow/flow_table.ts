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
  IPPROTO_TCP,
  TCP_FLAG_ACK,
  TCP_FLAG_SYN,
} from "../packet/packet_record.ts";
import { ContextTracker } from "./context_features.ts";
import {
  FlowFeatureAccumulator,
  type FlowFeatureAccumulatorOptions,
  FlowStatsPool,
} from "./flow_features.ts";
import { AgentLane } from "./_agent_lane.ts";
import { featurePacketOf } from "./_feature_packet.ts";
import { Flow, NO_LANE } from "./_flow.ts";
import { expiryReason } from "./_flow_expiry.ts";
import {
  addressPairKey,
  type FlowPacket,
  INDEX_NONE,
  INDEX_TUPLE,
  isFromOrig,
  keyedTunnelType,
  PacketKey,
  packetKeyString,
  readPacketKey,
} from "./_flow_key.ts";
import { FlowMap } from "./_flow_map.ts";
import {
  type FlowTableOptions,
  type ResolvedFlowTableOptions,
  resolveOptions,
} from "./_flow_options.ts";
import { admitDue, reportOutcome } from "./_flow_outcome.ts";
import { type CloseReason, type FlowRecord, toRecord } from "./_flow_record.ts";
import { FlowReports } from "./_flow_reports.ts";
import { startFlow } from "./_flow_start.ts";
import type { FlowTableState, FlowTableStateV1 } from "./_flow_state.ts";
import {
  checkStateVersion,
  type FlowTableParts,
  restoreTable,
  tableToState,
  tableToStateText,
} from "./_flow_table_json.ts";
import { FragmentMap } from "./_fragment_map.ts";
import { HostPairs } from "./_host_pairs.ts";
import { ICMP4_UNREACHABLE, ICMP6_UNREACHABLE, unreachableTarget } from "./_icmp_unreachable.ts";
import { JSON_TEXT_ITEMS } from "./_json_text.ts";
import { sortByTime } from "./_sort_by_time.ts";
import { hasBoth, isReuse, ORIG_FIN, REJECTED, RESP_FIN, updateTcp } from "./_tcp_state.ts";
import { TupleIndex } from "./_tuple_index.ts";

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
   * Flows of `#flows` whose key is made of their endpoint fields (see
   * {@linkcode TupleIndex}): a packet of such a flow finds it without
   * building and hashing the key string.
   */
  #index = new TupleIndex();
  /** Where the later fragments of a datagram go, by `PacketKey.fragmentKey`. */
  #fragments = new FragmentMap();
  /** Latest non-TCP flow key by host pair, for ICMP errors without a quote. */
  #hostPairs = new HostPairs();
  /** Each agent's clock, context windows and admission queue. */
  #lanes = new Map<string | null, AgentLane<Flow>>();
  /** The lane of the packet being processed. */
  #lane: AgentLane<Flow> = NO_LANE;
  /** The latest packet time of any agent. */
  #now = -Infinity;
  /** What the current call reports, and the objects of reported flows for reuse. */
  #reports = new FlowReports();
  /** Accumulators of this table's flows keep their statistics in one pool. */
  #accOptions: FlowFeatureAccumulatorOptions = { pool: new FlowStatsPool() };
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
    const changed = this.#reports.takeChanged();
    return { changed, ended: this.#reports.takeEnded() };
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
    return this.#reports.takeEnded();
  }

  /**
   * Snapshots of the live flows changed since they were last reported (by
   * `merge()` or this), each once.
   */
  takeChanged(): FlowRecord[] {
    return this.#reports.takeChanged();
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
      admitDue(lane, ts, this.options.context.outcomeDelaySec, this.#reports);
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
      admitDue(lane, nowSec, this.options.context.outcomeDelaySec, this.#reports);
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
    return this.#reports.takeEnded();
  }

  /**
   * Ends every flow idle past its timeout at its own agent's clock, without
   * moving any clock: what a sweep at the last packet would end. Returns the
   * ended flows.
   */
  sweep(): FlowRecord[] {
    this.#sweepAll();
    return this.#reports.takeEnded();
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
    for (const lane of this.#lanes.values()) {
      admitDue(lane, Infinity, this.options.context.outcomeDelaySec, this.#reports);
    }
    this.#reports.takeChanged(); // every flow ended: nothing live is left to report
    return this.#reports.takeEnded();
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
    return tableToState(this.#parts());
  }

  /**
   * The text of `JSON.stringify(this.toJSON())` in pieces of up to `per`
   * flows or entries, so that saving a large table never holds its whole
   * state as objects and one string (issue 15). The table must not change
   * until the last piece is taken.
   */
  *toJSONText(per: number = JSON_TEXT_ITEMS): Generator<string> {
    yield* tableToStateText(this.#parts(), per);
  }

  /**
   * Restores a table saved with {@linkcode FlowTable.toJSON}, or by a
   * release before agents had clocks of their own (see the module doc).
   */
  static fromJSON(state: FlowTableState | FlowTableStateV1): FlowTable {
    checkStateVersion(state);
    const table = new FlowTable(state.options);
    table.#now = state.nowSec ?? -Infinity;
    restoreTable(state, table.#parts(), (agent) => table.#laneOf(agent));
    return table;
  }

  /** The parts saved state holds, for `_flow_table_json.ts`. */
  #parts(): FlowTableParts {
    return {
      options: this.options,
      nowSec: this.#now,
      flows: this.#flows,
      index: this.#index,
      lanes: this.#lanes,
      fragments: this.#fragments,
      hostPairs: this.#hostPairs,
      accOptions: this.#accOptions,
    };
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
      flow = this.#index.find(
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
      // Every flow under a tuple key is indexed (see TupleIndex.find): the miss is
      // proof. The host-pair map keeps a new non-TCP flow's key: made now.
      key = packetKeyString(p, k);
    }
    const tcpFlags = p.ip_proto === IPPROTO_TCP && !p.is_fragment ? p.tcp_flags : null;
    const pureSyn = tcpFlags !== null && (tcpFlags & TCP_FLAG_SYN) !== 0 &&
      (tcpFlags & TCP_FLAG_ACK) === 0;

    let previous: Flow | undefined;
    let continueFrom: Flow | undefined;
    if (flow !== undefined) {
      const reason = expiryReason(flow, ts, true, this.options);
      if (reason !== null) {
        this.#finalize(flow, reason);
        previous = flow;
        if (reason === "active_timeout") continueFrom = flow;
        flow = undefined;
      } else if (pureSyn && isReuse(flow, p, k)) {
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
      fromOrig = continueFrom === undefined || isFromOrig(k, flow);
    } else {
      fromOrig = isFromOrig(k, flow);
    }
    if (k.fragmentKey !== null && !k.laterFragment) {
      this.#fragments.record(k, key ?? flow.key, flow.uid, ts + this.options.fragmentTimeoutSec);
    }

    if (tcpFlags !== null && flow.isTcp) {
      fromOrig = updateTcp(flow, p, tcpFlags, fromOrig);
    }

    if (ts > flow.lastSeen) flow.lastSeen = ts;
    if (ts < flow.firstSeen) flow.firstSeen = ts;
    flow.acc.add(fromOrig, featurePacketOf(p, ts, tcpFlags));
    if (p.app_protocol) flow.app = foldAppMetadata(flow.app, p, fromOrig);

    if (
      p.icmp_type !== null && k.oneWay &&
      ((p.ip_proto === IPPROTO_ICMP && p.icmp_type === ICMP4_UNREACHABLE) ||
        (p.ip_proto === IPPROTO_ICMPV6 && p.icmp_type === ICMP6_UNREACHABLE))
    ) {
      this.#chargeUnreachable(p, ts);
    }

    this.#reports.markChanged(flow);
    reportOutcome(flow);
  }

  /**
   * The key of a non-first fragment: its first fragment's flow, when that
   * was seen within the fragment timeout and its flow is still live (the
   * ports in `k` then become that fragment's), else the address pair.
   */
  #laterFragmentKey(p: FlowPacket, k: PacketKey, ts: number): string {
    const fragmentKey = k.fragmentKey!;
    const entry = this.#fragments.take(fragmentKey, p.more_fragments, ts);
    if (entry !== undefined) {
      const flow = this.#flows.get(entry.key);
      if (
        ts <= entry.expiresSec && flow !== undefined && flow.uid === entry.uid &&
        expiryReason(flow, ts, false, this.options) === null
      ) {
        k.srcPort = entry.srcPort;
        k.dstPort = entry.dstPort;
        return entry.key;
      }
    }
    return addressPairKey(p, k);
  }

  #create(
    key: string | null,
    p: FlowPacket,
    ts: number,
    previous: Flow | undefined,
    continueFrom: Flow | undefined,
  ): Flow {
    let flow = this.#reports.spare();
    if (flow === undefined) {
      const acc = new FlowFeatureAccumulator(
        this.options.activityTimeoutSec,
        undefined,
        this.#accOptions,
      );
      flow = new Flow(key, acc);
    } else {
      // A reported flow's accumulator was released (see FlowReports.output): a new slot.
      const acc = flow.acc;
      acc.renew(this.#accOptions.pool!);
      flow.init(key, acc);
    }
    startFlow(flow, key, p, this.#key, ts, previous, continueFrom, this.options.communityIdSeed);
    this.#flows.set(flow);
    this.#index.add(flow, continueFrom, this.#key.indexKind, p.icmp_id);
    flow.lane = this.#lane;
    this.#lane.queue.push(flow);
    this.#hostPairs.enter(flow, previous, key);
    // Flows reported while this packet was handled (such as `previous`) have
    // been read for the last time: their objects may serve the next flows.
    this.#reports.recycle();
    return flow;
  }

  /** Marks the flow an ICMP destination-unreachable is about as rejected. */
  #chargeUnreachable(p: FlowPacket, ts: number): void {
    const target = unreachableTarget(p, this.#index, this.#flows, this.#hostPairs);
    if (target === undefined || expiryReason(target, ts, false, this.options) !== null) return;
    if ((target.bits & REJECTED) === 0) {
      target.bits |= REJECTED;
      this.#reports.markChanged(target);
      reportOutcome(target);
    }
  }

  // --- time --------------------------------------------------------------

  /** Ends the flows idle past their timeout, each at its own agent's clock. */
  #sweep(): void {
    // In insertion order, as FlowMap.values() walks it (deleting the flow
    // at hand allowed), without its generator: a sweep visits every live
    // flow, and the iterator results were 2 % of the bench's allocation.
    for (let flow = this.#flows.first; flow !== undefined;) {
      const next = flow.orderNext;
      const reason = expiryReason(flow, flow.lane.nowSec, false, this.options);
      if (reason !== null) this.#finalize(flow, reason);
      flow = flow.inMap ? flow.orderNext : next;
    }
    this.#fragments.sweep(this.#flows);
  }

  #finalize(flow: Flow, reason: CloseReason): void {
    if (flow.inMap) {
      this.#flows.delete(flow);
      this.#index.remove(flow);
    }
    this.#hostPairs.leave(flow);
    flow.ended = true;
    flow.closed = true;
    flow.closeReason = reason;
    if (flow.ctx !== null) this.#reports.output(flow);
  }
}
