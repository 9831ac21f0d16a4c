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

import { type FlowAppFields, foldAppMetadata } from "./flow_app_fold.ts";
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type PacketRecord,
  TCP_FLAG_ACK,
  TCP_FLAG_FIN,
  TCP_FLAG_RST,
  TCP_FLAG_SYN,
  type TunnelType,
} from "../packet/packet_record.ts";
import { flowCommunityId } from "./community_id.ts";
import {
  type ContextHandle,
  type ContextOptions,
  type ContextSubject,
  ContextTracker,
  type ContextTrackerState,
  type FlowContext,
} from "./context_features.ts";
import {
  DEFAULT_ACTIVITY_TIMEOUT_SEC,
  deriveFeatures,
  type FeaturePacket,
  featuresFromStats,
  FLOW_STATS_SIZE,
  FlowFeatureAccumulator,
  type FlowFeatureAccumulatorOptions,
  type FlowFeatures,
  FlowStatsPool,
} from "./flow_features.ts";
import { icmpCounterpart, icmpPortEquivalents } from "./_icmp_ports.ts";
import { readIcmpQuote } from "./_icmp_quote.ts";
import { sortByTime } from "./_sort_by_time.ts";
import { AgentLane, type AgentLaneState } from "./_agent_lane.ts";

export type { AgentLaneState };

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
  uid: string;
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
  vlan_id: number | null;
  /** Inner (QinQ) VLAN id. */
  vlan_inner_id: number | null;
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
  duration_sec: number;
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
 * A packet as the table takes it: a {@linkcode PacketRecord}, and the agent
 * that captured it (the sending agent of its batch, `raw_packets.agent_id`).
 */
export interface FlowPacket extends PacketRecord {
  /** The capturing agent; flows of different agents never merge. Absent or null: none. */
  agent_id?: string | null;
}

/** Options of {@linkcode FlowTable}; all times in packet-time seconds. */
export interface FlowTableOptions {
  /**
   * TCP idle timeout once the responder has answered (Zeek's
   * `tcp_inactivity_timeout`).
   * @default {300}
   */
  tcpIdleTimeoutSec?: number;
  /**
   * TCP idle timeout while the responder has sent nothing (connection
   * attempts, scans); covers SYN retransmissions up to a 32 s back-off.
   * @default {60}
   */
  tcpAttemptTimeoutSec?: number;
  /**
   * How long a closed TCP flow (FIN+FIN, RST) keeps collecting teardown
   * packets after its last one (Zeek's `tcp_close_delay`).
   * @default {5}
   */
  tcpClosedTimeoutSec?: number;
  /**
   * UDP idle timeout (Zeek's `udp_inactivity_timeout`).
   * @default {60}
   */
  udpIdleTimeoutSec?: number;
  /**
   * ICMP/ICMPv6 idle timeout (Zeek's `icmp_inactivity_timeout`).
   * @default {60}
   */
  icmpIdleTimeoutSec?: number;
  /**
   * Idle timeout of every other protocol (SCTP, GRE, ARP, L2, ...).
   * @default {60}
   */
  otherIdleTimeoutSec?: number;
  /**
   * A flow older than this is split at its next packet (NetFlow's default
   * active timeout), so very long flows are reported and scored.
   * @default {1800}
   */
  activeTimeoutSec?: number;
  /**
   * How long a first fragment's flow is remembered for its later fragments
   * (Linux `ipfrag_time`).
   * @default {30}
   */
  fragmentTimeoutSec?: number;
  /**
   * Gap that starts a new active period in the activity/idle features
   * (CICFlowMeter's activity timeout).
   * @default {5}
   */
  activityTimeoutSec?: number;
  /**
   * Packet time between the sweeps `merge()` runs for idle flows; sweeps
   * only change when an ended flow is reported, never its content.
   * @default {5}
   */
  sweepIntervalSec?: number;
  /**
   * Packet time the other agents may move on past an agent's last packet
   * before that agent's clock follows theirs (keeping the lag it had), so
   * that the flows of an agent that stopped sending end while others go on.
   * Agents whose deliveries interleave within this much packet time get
   * exactly the flows each would get alone.
   * @default {120}
   */
  agentFollowAfterSec?: number;
  /**
   * Community ID seed.
   * @default {0}
   */
  communityIdSeed?: number;
  /**
   * Context windows; see {@linkcode ContextOptions}.
   * @default {{}}
   */
  context?: ContextOptions;
}

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

/** Serialised {@linkcode FlowTable}; plain JSON-able data. */
export interface FlowTableState {
  /** Format version of this state: 2 since agents have clocks of their own. */
  version: 2;
  /** Options in force. */
  options: ResolvedFlowTableOptions;
  /** The table's packet-time clock: the latest of the agents'. */
  nowSec: number | null;
  /** Live flows in table order. */
  flows: FlowState[];
  /** Ended flows still waiting for their context. */
  pending: FlowState[];
  /** Each agent's clock, context windows and flows awaiting context. */
  agents: AgentLaneState[];
  /** Fragment map: [fragment key, flow key, flow uid, src ip, src port, dst port, expiry]. */
  fragments: [string, string, string, string, number | null, number | null, number][];
  /** Latest non-TCP flow key per "orig|resp" address pair ("scope|orig|resp" in a scope). */
  hostPairs: [string, string][];
}

/**
 * {@linkcode FlowTableState} as saved before agents had clocks of their own:
 * one clock, one queue and one context tracker for all. Still restored.
 */
export interface FlowTableStateV1 extends Omit<FlowTableState, "version" | "agents" | "options"> {
  /** Format version of this state. */
  version: 1;
  /** Options in force (without the ones added since). */
  options: Omit<ResolvedFlowTableOptions, "agentFollowAfterSec">;
  /** Packet time of the next sweep. */
  nextSweepSec: number | null;
  /** uids of flows awaiting context, in admission order. */
  queue: string[];
  /** Context tracker state. */
  context: ContextTrackerState;
}

/** A flow's internal state as plain data. */
export interface FlowState {
  /** Table key. */
  key: string;
  /** See {@linkcode FlowRecord.uid}. */
  uid: string;
  /** Disambiguates flows on one key starting at the same instant. */
  uidSuffix: number;
  /** See {@linkcode FlowRecord}. */
  communityId: string | null;
  /** See {@linkcode FlowRecord}. */
  iface: string;
  /** See {@linkcode FlowRecord.agent}; absent in state saved before flows had one. */
  agent?: string | null;
  /** See {@linkcode FlowRecord.tunnel_type}; absent in state saved before. */
  tunnelType?: TunnelType | null;
  /** See {@linkcode FlowRecord.tunnel_id}; absent in state saved before. */
  tunnelId?: number | null;
  /** See {@linkcode FlowRecord}. */
  protocol: string;
  /** See {@linkcode FlowRecord}. */
  ipProto: number | null;
  /** See {@linkcode FlowRecord}. */
  ipVersion: number | null;
  /** See {@linkcode FlowRecord}. */
  vlanId: number | null;
  /** See {@linkcode FlowRecord}. */
  vlanInnerId: number | null;
  /** See {@linkcode FlowRecord}. */
  origIp: string | null;
  /** See {@linkcode FlowRecord}. */
  origPort: number | null;
  /** See {@linkcode FlowRecord}. */
  origMac: string | null;
  /** See {@linkcode FlowRecord}. */
  respIp: string | null;
  /** See {@linkcode FlowRecord}. */
  respPort: number | null;
  /** See {@linkcode FlowRecord}. */
  respMac: string | null;
  /** See {@linkcode FlowRecord}. */
  icmpType: number | null;
  /** See {@linkcode FlowRecord}. */
  icmpCode: number | null;
  /** See {@linkcode FlowRecord}. */
  icmpId: number | null;
  /** See {@linkcode FlowRecord}. */
  firstSeen: number;
  /** See {@linkcode FlowRecord}. */
  lastSeen: number;
  /** Closed by FIN/RST (or ended). */
  closed: boolean;
  /** See {@linkcode FlowRecord}. */
  closeReason: CloseReason | null;
  /** TCP/outcome bit set. */
  bits: number;
  /** Originator's initial sequence number. */
  origIsn: number | null;
  /** Sequence number just past the originator's FIN, -1 if unknown. */
  origFinEnd: number;
  /** Sequence number just past the responder's FIN, -1 if unknown. */
  respFinEnd: number;
  /** See {@linkcode FlowRecord}. */
  continuation: boolean;
  /** Outcome bits last reported to the context tracker. */
  ctxBits: number;
  /** Context, once computed. */
  context: FlowContext | null;
  /** Feature accumulator statistics. */
  stats: number[];
  /** Application-layer fields folded so far (see `flow_app_fold.ts`); absent without any. */
  app?: FlowAppFields | null;
}

/** {@linkcode FlowTableOptions} with every default filled in. */
export type ResolvedFlowTableOptions =
  & Required<Omit<FlowTableOptions, "context">>
  & { context: Required<ContextOptions> };
type ResolvedOptions = ResolvedFlowTableOptions;

// Flow bits. ORIG_x/RESP_x pairs are swapped on a role flip.
const ORIG_SYN = 1 << 0;
const RESP_SYN = 1 << 1;
const ORIG_SYNACK = 1 << 2;
const RESP_SYNACK = 1 << 3;
const ORIG_FIN = 1 << 4;
const RESP_FIN = 1 << 5;
const ORIG_FIN_ACKED = 1 << 6;
const RESP_FIN_ACKED = 1 << 7;
const ORIG_RST = 1 << 8;
const RESP_RST = 1 << 9;
const ORIG_NONRST = 1 << 10;
const RESP_NONRST = 1 << 11;
const ESTABLISHED = 1 << 12;
const REJECTED = 1 << 13;
const ROLES_LOCKED = 1 << 14;
const PAIRED_BITS: [number, number][] = [
  [ORIG_SYN, RESP_SYN],
  [ORIG_SYNACK, RESP_SYNACK],
  [ORIG_FIN, RESP_FIN],
  [ORIG_FIN_ACKED, RESP_FIN_ACKED],
  [ORIG_RST, RESP_RST],
  [ORIG_NONRST, RESP_NONRST],
];

// Outcome bits as the context tracker sees them.
const OUT_ANSWERED = 1;
const OUT_REJECTED = 2;
const OUT_SYN = 4;
const OUT_ESTABLISHED = 8;

/** Most flow objects kept for reuse; enough for any burst of flows ending together. */
const MAX_SPARE_FLOWS = 4096;

const ICMP4_UNREACHABLE = 3;
const ICMP6_UNREACHABLE = 1;
const SCTP_COMMON_HEADER = 12;
const UDP_HEADER = 8;
const ICMP_HEADER = 8;

class Flow {
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
  declare context: FlowContext | null;
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
    this.context = null;
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
  }
}

/** The lane of a flow not yet given one (one type for the field). */
const NO_LANE = new AgentLane<Flow>(null, new ContextTracker());

/** Fragment map entry: where the later fragments of a datagram go. */
interface FragmentEntry {
  key: string;
  uid: string;
  srcIp: string;
  srcPort: number | null;
  dstPort: number | null;
  expiresSec: number;
}

// Index kinds: how a flow's key is made of its endpoint fields.
const INDEX_NONE = 0;
/** `|proto|a|aPort|b|bPort` (TCP, UDP, SCTP). */
const INDEX_TUPLE = 1;
/** `|proto|id|a|type|b|counterpart`: ICMP request/reply types. */
const INDEX_ICMP = 2;
/** `|proto>src|type|dst|code`: one-way ICMP types, keyed by direction. */
const INDEX_ICMP_ONE_WAY = 3;

// Scratch output of #resolveKey, to avoid an allocation per packet.
let kSrc: string | null = null;
let kDst: string | null = null;
let kSrcPort: number | null = null;
let kDstPort: number | null = null;
let kOneWay = false;
let kFragmentKey: string | null = null;
/** Set by `#process` to the index kind of the key it built on its ICMP path. */
let kIndexKind = INDEX_NONE;

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
  #flows = new Map<string, Flow>();
  /**
   * Flows of `#flows` whose key is made of their endpoint fields (TCP, UDP
   * or SCTP with both ports and no VLAN; most ICMP), by
   * {@linkcode tupleHash} of the endpoints, chained through
   * `Flow.indexNext`: a packet of such a flow finds it without building and
   * hashing the key string.
   */
  #index = new Map<number, Flow>();
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
    return [...this.#flows.values()].map((flow) => toRecord(flow));
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
      table.#flows.set(flow.key, flow);
      kIndexKind = INDEX_NONE;
      table.#indexAdd(flow, undefined, null);
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
      if (flow.context === null) continue;
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
    let key: string | null;
    let flow: Flow | undefined;
    const proto = p.ip_proto;
    const agent = p.agent_id ?? null;
    const tunnelType = keyedTunnelType(p.tunnel_type);
    const tunnelId = tunnelType === null ? null : p.tunnel_id ?? null;
    kIndexKind = INDEX_NONE;
    if (
      (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) &&
      p.src_ip !== null && p.dst_ip !== null && p.src_port !== null && p.dst_port !== null &&
      !p.is_fragment && !p.more_fragments && p.vlan_id === null && p.vlan_inner_id === null
    ) {
      // A plain port tuple: the key #resolveKey gives, its flow found
      // through the index (or, on a miss, the usual way).
      kSrc = p.src_ip;
      kDst = p.dst_ip;
      kSrcPort = p.src_port;
      kDstPort = p.dst_port;
      kOneWay = false;
      kFragmentKey = null;
      flow = this.#indexFind(
        p.src_ip,
        p.src_port,
        p.dst_ip,
        p.dst_port,
        proto,
        INDEX_TUPLE,
        null,
        agent,
        tunnelType,
        tunnelId,
      );
      if (flow !== undefined) {
        key = flow.key;
      } else {
        key = canonicalKey(
          keyScope(agent, tunnelType, tunnelId, ""),
          proto,
          p.src_ip,
          p.src_port,
          p.dst_ip,
          p.dst_port,
        );
        flow = this.#flows.get(key);
      }
    } else if (
      (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) && p.icmp_type !== null &&
      p.src_ip !== null && p.dst_ip !== null && !p.is_fragment && !p.more_fragments &&
      p.vlan_id === null && p.vlan_inner_id === null
    ) {
      // ICMP with Zeek's ports, as #resolveKey keys it.
      const counterpart = icmpCounterpart(proto, p.icmp_type);
      const oneWay = counterpart < 0;
      kSrc = p.src_ip;
      kDst = p.dst_ip;
      kSrcPort = p.icmp_type;
      kDstPort = oneWay ? p.icmp_code ?? 0 : counterpart;
      kOneWay = oneWay;
      kFragmentKey = null;
      kIndexKind = oneWay ? INDEX_ICMP_ONE_WAY : INDEX_ICMP;
      flow = this.#indexFind(
        kSrc,
        kSrcPort,
        kDst,
        kDstPort,
        proto,
        kIndexKind,
        p.icmp_id,
        agent,
        tunnelType,
        tunnelId,
      );
      if (flow !== undefined) {
        key = flow.key;
      } else {
        const scope = keyScope(agent, tunnelType, tunnelId, "");
        key = oneWay
          ? `${scope}|${proto}>${kSrc}|${kSrcPort}|${kDst}|${kDstPort}`
          : canonicalKey(scope, `${proto}|${p.icmp_id ?? ""}`, kSrc, kSrcPort, kDst, kDstPort);
        flow = this.#flows.get(key);
      }
    } else {
      key = this.#resolveKey(p, ts);
      if (key === null) return;
      flow = this.#flows.get(key);
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
    if (kFragmentKey !== null) {
      this.#fragments.set(kFragmentKey, {
        key,
        uid: flow.uid,
        srcIp: kSrc!,
        srcPort: kSrcPort,
        dstPort: kDstPort,
        expiresSec: ts + this.options.fragmentTimeoutSec,
      });
    }

    if (tcpFlags !== null && flow.isTcp) {
      fromOrig = this.#updateTcp(flow, p, tcpFlags, fromOrig);
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
      p.icmp_type !== null && kOneWay &&
      ((p.ip_proto === IPPROTO_ICMP && p.icmp_type === ICMP4_UNREACHABLE) ||
        (p.ip_proto === IPPROTO_ICMPV6 && p.icmp_type === ICMP6_UNREACHABLE))
    ) {
      this.#chargeUnreachable(p, ts);
    }

    this.#markChanged(flow);
    this.#reportOutcome(flow);
  }

  /**
   * Computes the flow key of a packet and leaves its endpoints in the k*
   * scratch variables (ports are Zeek-style for ICMP). Null: nothing to key.
   */
  #resolveKey(p: FlowPacket, ts: number): string | null {
    kFragmentKey = null;
    kOneWay = false;
    const vlans = packetScope(p);
    const src = p.src_ip;
    const dst = p.dst_ip;
    const proto = p.ip_proto;
    if (src === null || dst === null) {
      // L2: MAC pair + EtherType.
      kSrc = p.eth_src;
      kDst = p.eth_dst;
      kSrcPort = null;
      kDstPort = null;
      if (kSrc === null || kDst === null) return null;
      return canonicalKey(vlans, `L2:${p.ether_type ?? p.protocol}`, kSrc, null, kDst, null);
    }
    kSrc = src;
    kDst = dst;
    if (proto === null) {
      // ARP (or another non-IP protocol that names addresses).
      kSrcPort = null;
      kDstPort = null;
      return canonicalKey(vlans, p.protocol, src, null, dst, null);
    }
    if (p.is_fragment) {
      const fragmentKey = `${vlans}|${proto}|${src}|${dst}|${p.ip_id}`;
      const entry = this.#fragments.get(fragmentKey);
      if (entry !== undefined) {
        if (!p.more_fragments || ts > entry.expiresSec) this.#fragments.delete(fragmentKey);
        const flow = this.#flows.get(entry.key);
        if (
          ts <= entry.expiresSec && flow !== undefined && flow.uid === entry.uid &&
          this.#expiryReason(flow, ts, false) === null
        ) {
          kSrcPort = entry.srcPort;
          kDstPort = entry.dstPort;
          return entry.key;
        }
      }
      kSrcPort = null;
      kDstPort = null;
      return canonicalKey(vlans, proto, src, null, dst, null);
    }
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) {
      if (p.src_port === null || p.dst_port === null) {
        kSrcPort = null;
        kDstPort = null;
        return canonicalKey(vlans, proto, src, null, dst, null);
      }
      kSrcPort = p.src_port;
      kDstPort = p.dst_port;
      if (p.more_fragments && (p.frag_offset ?? 0) === 0) {
        kFragmentKey = `${vlans}|${proto}|${src}|${dst}|${p.ip_id}`;
      }
      return canonicalKey(vlans, proto, src, kSrcPort, dst, kDstPort);
    }
    if ((proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) && p.icmp_type !== null) {
      const [sp, dp, oneWay] = icmpPortEquivalents(proto, p.icmp_type, p.icmp_code ?? 0);
      kSrcPort = sp;
      kDstPort = dp;
      kOneWay = oneWay;
      if (p.more_fragments && (p.frag_offset ?? 0) === 0) {
        kFragmentKey = `${vlans}|${proto}|${src}|${dst}|${p.ip_id}`;
      }
      if (oneWay) return `${vlans}|${proto}>${src}|${sp}|${dst}|${dp}`;
      return canonicalKey(vlans, `${proto}|${p.icmp_id ?? ""}`, src, sp, dst, dp);
    }
    kSrcPort = null;
    kDstPort = null;
    if (p.more_fragments && (p.frag_offset ?? 0) === 0) {
      kFragmentKey = `${vlans}|${proto}|${src}|${dst}|${p.ip_id}`;
    }
    return canonicalKey(vlans, proto, src, null, dst, null);
  }

  #isFromOrig(flow: Flow): boolean {
    return kSrc === flow.origIp && kSrcPort === flow.origPort
      ? true
      : (flow.origIp === null && kSrc === flow.origMac);
  }

  #create(
    key: string,
    p: FlowPacket,
    ts: number,
    previous: Flow | undefined,
    continueFrom: Flow | undefined,
  ): Flow {
    const acc = new FlowFeatureAccumulator(
      this.options.activityTimeoutSec,
      undefined,
      this.#accOptions,
    );
    let flow = this.#spares.pop();
    if (flow === undefined) flow = new Flow(key, acc);
    else flow.init(key, acc);
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
      flow.origIp = kSrc;
      flow.origPort = kSrcPort;
      flow.respIp = kDst;
      flow.respPort = kDstPort;
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
    flow.uid = flowUid(flow, previous);
    this.#flows.set(key, flow);
    this.#indexAdd(flow, continueFrom, p.icmp_id);
    flow.lane = this.#lane;
    this.#lane.queue.push(flow);
    if (!flow.isTcp && flow.origIp !== null && flow.respIp !== null) {
      flow.hostPair = previous !== undefined && previous.hostPair !== null &&
          previous.origIp === flow.origIp && previous.respIp === flow.respIp
        ? previous.hostPair
        : hostPairOf(flow);
      this.#hostPairs.set(flow.hostPair, key);
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

  /** TCP state machine; returns the (possibly swapped) direction. */
  #updateTcp(flow: Flow, p: PacketRecord, flags: number, fromOrig: boolean): boolean {
    const syn = (flags & TCP_FLAG_SYN) !== 0;
    const ack = (flags & TCP_FLAG_ACK) !== 0;
    let bits = flow.bits;
    if (syn && !ack) {
      if (!fromOrig && (bits & ROLES_LOCKED) === 0) {
        this.#flip(flow);
        bits = flow.bits;
        fromOrig = true;
      }
      bits |= (fromOrig ? ORIG_SYN : RESP_SYN) | ROLES_LOCKED;
      if (fromOrig && flow.origIsn === null) flow.origIsn = p.tcp_seq;
    } else if (syn && ack) {
      if (fromOrig && (bits & ROLES_LOCKED) === 0) {
        this.#flip(flow);
        bits = flow.bits;
        fromOrig = false;
      }
      bits |= (fromOrig ? ORIG_SYNACK : RESP_SYNACK) | ROLES_LOCKED;
    } else if (
      ack && fromOrig && (bits & ORIG_SYN) !== 0 && (bits & RESP_SYNACK) !== 0
    ) {
      bits |= ESTABLISHED;
    }
    const seq = p.tcp_seq;
    if ((flags & TCP_FLAG_FIN) !== 0) {
      const end = seq === null ? -1 : (seq + p.payload_length + 1 + (syn ? 1 : 0)) >>> 0;
      if (fromOrig) {
        if ((bits & ORIG_FIN) === 0) flow.origFinEnd = end;
        bits |= ORIG_FIN;
      } else {
        if ((bits & RESP_FIN) === 0) flow.respFinEnd = end;
        bits |= RESP_FIN;
      }
    }
    if (ack) {
      const otherFin = fromOrig ? RESP_FIN : ORIG_FIN;
      const otherAcked = fromOrig ? RESP_FIN_ACKED : ORIG_FIN_ACKED;
      if ((bits & otherFin) !== 0 && (bits & otherAcked) === 0) {
        const finEnd = fromOrig ? flow.respFinEnd : flow.origFinEnd;
        if (finEnd < 0 || p.tcp_ack === null || seqAtLeast(p.tcp_ack, finEnd)) {
          bits |= otherAcked;
        }
      }
    }
    if ((flags & TCP_FLAG_RST) !== 0) {
      bits |= fromOrig ? ORIG_RST : RESP_RST;
      if (!fromOrig && (bits & RESP_NONRST) === 0) bits |= REJECTED;
      if (!flow.closed) {
        flow.closed = true;
        flow.closeReason = "rst";
      }
    } else {
      bits |= fromOrig ? ORIG_NONRST : RESP_NONRST;
    }
    flow.bits = bits;
    if (!flow.closed && hasBoth(bits, ORIG_FIN_ACKED, RESP_FIN_ACKED)) {
      flow.closed = true;
      flow.closeReason = "fin";
    }
    return fromOrig;
  }

  #flip(flow: Flow): void {
    [flow.origIp, flow.respIp] = [flow.respIp, flow.origIp];
    [flow.origPort, flow.respPort] = [flow.respPort, flow.origPort];
    [flow.origMac, flow.respMac] = [flow.respMac, flow.origMac];
    [flow.origFinEnd, flow.respFinEnd] = [flow.respFinEnd, flow.origFinEnd];
    let bits = flow.bits;
    for (const [a, b] of PAIRED_BITS) {
      const hadA = (bits & a) !== 0;
      const hadB = (bits & b) !== 0;
      bits &= ~(a | b);
      if (hadA) bits |= b;
      if (hadB) bits |= a;
    }
    flow.bits = bits;
    flow.origIsn = null;
    flow.acc.swapDirections();
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
   * `#flows` holds under that key. A miss proves nothing (not every flow is
   * indexed): the caller then looks the key up. Flows of every scope (agent,
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
    tunnelType: TunnelType | null,
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
   * (`kIndexKind`, with the packet's echo id), or from the flow it continues.
   */
  #indexAdd(flow: Flow, continueFrom: Flow | undefined, icmpId: number | null): void {
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
    } else if (kIndexKind !== INDEX_NONE) {
      flow.indexKind = kIndexKind;
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
    for (const flow of this.#flows.values()) {
      const reason = this.#expiryReason(flow, flow.lane.nowSec, false);
      if (reason !== null) this.#finalize(flow, reason);
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
    if (this.#flows.get(flow.key) === flow) {
      this.#flows.delete(flow.key);
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
    if (flow.context !== null) this.#output(flow);
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
      // Frozen, so that every record of the flow can share it.
      flow.context = Object.freeze(tracker.contextOf(handle));
      if (flow.ended) this.#output(flow);
      else this.#markChanged(flow);
    }
    lane.compact();
  }

  #reportOutcome(flow: Flow): void {
    if (flow.context === null) return;
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
    this.#endedOut.push(toRecord(flow));
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
      if (flow !== undefined) changed.push(toRecord(flow));
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

/**
 * Tunnel types whose id names a network that both directions share. The pcap
 * export matches a flow's packets with the same list (shared/db/flow_packets.ts).
 */
const KEYED_TUNNEL_TYPES: ReadonlySet<string> = new Set<TunnelType>([
  "vxlan",
  "geneve",
  "gre",
  "erspan",
  "pppoe",
]);

/** The tunnel type a packet's flow is keyed on (see the module doc), or null. */
function keyedTunnelType(type: TunnelType | null | undefined): TunnelType | null {
  return type != null && KEYED_TUNNEL_TYPES.has(type) ? type : null;
}

/**
 * The start of every key in a scope: `vlans` alone for packets without an
 * agent or a keyed tunnel (the keys of tables before scopes existed), else
 * the length-prefixed agent (agent ids may hold any printable character),
 * the tunnel and the VLANs, unambiguously.
 */
function keyScope(
  agent: string | null,
  tunnelType: TunnelType | null,
  tunnelId: number | null,
  vlans: string,
): string {
  if (agent === null && tunnelType === null) return vlans;
  const who = agent === null ? "-" : `${agent.length}:${agent}`;
  return `${who}/${tunnelType ?? ""}:${tunnelType === null ? "" : tunnelId ?? ""}/${vlans}`;
}

/** {@linkcode keyScope} of a packet, VLANs included. */
function packetScope(p: FlowPacket): string {
  const tunnelType = keyedTunnelType(p.tunnel_type);
  return keyScope(
    p.agent_id ?? null,
    tunnelType,
    tunnelType === null ? null : p.tunnel_id ?? null,
    p.vlan_id === null && p.vlan_inner_id === null
      ? ""
      : `${p.vlan_id ?? ""}.${p.vlan_inner_id ?? ""}`,
  );
}

/** `#hostPairs` key of an address pair in a scope (without VLANs). */
function scopedPair(scope: string, orig: string, resp: string): string {
  return scope === "" ? `${orig}|${resp}` : `${scope}|${orig}|${resp}`;
}

/** `#hostPairs` key of a non-TCP flow. */
function hostPairOf(flow: Flow): string {
  return scopedPair(
    keyScope(flow.agent, flow.tunnelType, flow.tunnelId, ""),
    flow.origIp!,
    flow.respIp!,
  );
}

function hasBoth(bits: number, a: number, b: number): boolean {
  return (bits & a) !== 0 && (bits & b) !== 0;
}

/** FNV-1a over the UTF-16 code units of `text`. */
function stringHash(text: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * Index bucket of a port tuple: the same for both directions, a small
 * non-negative integer (a Smi), so the index map never hashes a string.
 */
function tupleHash(a: string, aPort: number, b: string, bPort: number, proto: number): number {
  const ha = Math.imul(stringHash(a) ^ aPort, 0x9e3779b1);
  const hb = Math.imul(stringHash(b) ^ bPort, 0x9e3779b1);
  let h = ((ha + hb) | 0) ^ Math.imul(proto, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & 0x3fffffff;
}

/** Serial-number comparison (RFC 1982) for 32-bit TCP sequence numbers. */
function seqAtLeast(a: number, b: number): boolean {
  return ((a - b) >>> 0) < 0x80000000;
}

/** `vlans|protocol|lowEndpoint|lowPort|highEndpoint|highPort`, built in one go. */
function canonicalKey(
  vlans: string,
  protocol: string | number,
  a: string,
  aPort: number | null,
  b: string,
  bPort: number | null,
): string {
  if (a < b || (a === b && (aPort ?? 0) <= (bPort ?? 0))) {
    return `${vlans}|${protocol}|${a}|${aPort ?? ""}|${b}|${bPort ?? ""}`;
  }
  return `${vlans}|${protocol}|${b}|${bPort ?? ""}|${a}|${aPort ?? ""}`;
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

/**
 * The flow uid: "F" + 22 base64url characters (120 bits) of a 128-bit hash of
 * `${key}|${firstSeen}|${uidSuffix}` (the key, the first packet time and the
 * same-instant suffix). Uniqueness is all that is needed (no adversary
 * chooses keys to collide uids in our own table), so a fast multiply-xor
 * hash with four 32-bit lanes replaces a cryptographic one. The hash runs
 * one part at a time, so the lanes after the key can come from the previous
 * flow on the same key, and are kept for the next one.
 */
function flowUid(flow: Flow, previous: Flow | undefined): string {
  if (previous !== undefined && previous.keyLanesSet) {
    uidLanes[0] = previous.keyLane0;
    uidLanes[1] = previous.keyLane1;
    uidLanes[2] = previous.keyLane2;
    uidLanes[3] = previous.keyLane3;
  } else {
    uidLanes[0] = 0x9e3779b9 | 0;
    uidLanes[1] = 0x85ebca6b | 0;
    uidLanes[2] = 0xc2b2ae35 | 0;
    uidLanes[3] = 0x27d4eb2f;
    hashUidText(flow.key);
  }
  flow.keyLane0 = uidLanes[0];
  flow.keyLane1 = uidLanes[1];
  flow.keyLane2 = uidLanes[2];
  flow.keyLane3 = uidLanes[3];
  flow.keyLanesSet = true;
  return finishUid(flow.firstSeen, flow.uidSuffix);
}

/** Hashes `|${firstSeen}|${suffix}` into the lanes and renders the uid. */
function finishUid(firstSeen: number, suffix: number): string {
  hashUidText(`|${firstSeen}|${suffix}`);
  let h1 = uidLanes[0];
  let h2 = uidLanes[1];
  let h3 = uidLanes[2];
  let h4 = uidLanes[3];
  // Cross the lanes, then avalanche each (MurmurHash3's fmix32).
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  const codes = uidCodes;
  codes[0] = 70; // 'F'
  base64Word(fmix32(h1), codes, 1);
  base64Word(fmix32(h2), codes, 7);
  base64Word(fmix32(h3), codes, 13);
  base64Word(fmix32(h4), codes, 19);
  // Of the last word, only the first 4 characters are kept.
  return String.fromCharCode.apply(null, codes);
}

/** The four hash lanes of {@linkcode flowUid}. */
const uidLanes = new Int32Array(4);
/** Character codes of a uid: "F" + 22 base64url characters (the last word's 6th dropped). */
const uidCodes: number[] = new Array(23).fill(0);

/** Feeds the characters of `text` into {@linkcode uidLanes}. */
function hashUidText(text: string): void {
  let h1 = uidLanes[0];
  let h2 = uidLanes[1];
  let h3 = uidLanes[2];
  let h4 = uidLanes[3];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(((h1 ^ c) << 13) | ((h1 ^ c) >>> 19), 0x01000193);
    h2 = Math.imul(((h2 ^ c) << 17) | ((h2 ^ c) >>> 15), 0x5bd1e995);
    h3 = Math.imul(((h3 ^ c) << 11) | ((h3 ^ c) >>> 21), 0x1b873593);
    h4 = Math.imul(((h4 ^ c) << 7) | ((h4 ^ c) >>> 25), 0xcc9e2d51);
  }
  uidLanes[0] = h1;
  uidLanes[1] = h2;
  uidLanes[2] = h3;
  uidLanes[3] = h4;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const BASE64URL_CODES = Array.from(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
  (c) => c.charCodeAt(0),
);

/**
 * 30 bits of a word as 5 base64url characters, plus 2 more bits as a sixth,
 * written as character codes at `codes[at..]` (a sixth past the end of
 * `codes` is dropped).
 */
function base64Word(word: number, codes: number[], at: number): void {
  codes[at] = BASE64URL_CODES[(word >>> 26) & 63];
  codes[at + 1] = BASE64URL_CODES[(word >>> 20) & 63];
  codes[at + 2] = BASE64URL_CODES[(word >>> 14) & 63];
  codes[at + 3] = BASE64URL_CODES[(word >>> 8) & 63];
  if (at + 4 < codes.length) codes[at + 4] = BASE64URL_CODES[(word >>> 2) & 63];
  if (at + 5 < codes.length) codes[at + 5] = BASE64URL_CODES[word & 3];
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

/** Zeek's conn_state, derived from the flow bits. */
function connState(flow: Flow): string {
  const bits = flow.bits;
  const origPackets = flow.acc.packets(true);
  const respPackets = flow.acc.packets(false);
  if (!flow.isTcp) {
    if (origPackets > 0 && respPackets > 0) return "SF";
    return origPackets > 0 ? "S0" : "OTH";
  }
  const origSyn = (bits & ORIG_SYN) !== 0;
  const respSynAck = (bits & RESP_SYNACK) !== 0;
  const origFin = (bits & ORIG_FIN) !== 0;
  const respFin = (bits & RESP_FIN) !== 0;
  const origRst = (bits & ORIG_RST) !== 0;
  const respRst = (bits & RESP_RST) !== 0;
  if (origSyn && !respSynAck) {
    if (respRst) return "REJ";
    if (origRst) return "RSTOS0";
    if (origFin) return "SH";
    return "S0";
  }
  if (!origSyn && respSynAck) {
    if (respRst) return "RSTRH";
    if (respFin) return "SHR";
    return "OTH";
  }
  if (!origSyn && !respSynAck && !flow.continuation) return "OTH";
  if (origRst) return "RSTO";
  if (respRst) return "RSTR";
  if (origFin && respFin) return "SF";
  if (origFin) return "S2";
  if (respFin) return "S3";
  return "S1";
}

/**
 * The record of a flow as of now. Its data is the flow's at this moment,
 * but `features` is derived only when read, from a copy of the accumulator
 * statistics made now, and `context` is the flow's own frozen context
 * object: most records are only turned into a feature vector, which
 * {@linkcode writeFlowFeatures} builds from the statistics directly.
 * `features` is an own enumerable property, so JSON, spread and deep
 * equality see it as before.
 *
 * The record is an object literal, not a class instance, because V8 can
 * then allocate records straight in the old generation once it sees that
 * they live long (allocation-site pretenuring), instead of copying each one
 * twice through the young generation.
 */
function toRecord(flow: Flow): FlowRecord {
  const acc = flow.acc;
  const bits = flow.bits;
  const record: FlowRecord = {
    uid: flow.uid,
    community_id: flow.communityId,
    interface: flow.iface,
    agent: flow.agent,
    tunnel_type: flow.tunnelType,
    tunnel_id: flow.tunnelId,
    protocol: flow.protocol,
    ip_proto: flow.ipProto,
    ip_version: flow.ipVersion,
    vlan_id: flow.vlanId,
    vlan_inner_id: flow.vlanInnerId,
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
    duration_sec: flow.lastSeen - flow.firstSeen,
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
  if (slabNext + SLOT_SIZE > slab.length) {
    slab = new Float64Array(SLOT_SIZE * SLAB_SLOTS);
    slabNext = 0;
  }
  const slot = slabNext;
  slabNext += SLOT_SIZE;
  acc.copyStats(slab, slot);
  slab[slot + SLOT_FIRST_SEEN] = flow.firstSeen;
  slab[slot + SLOT_LAST_SEEN] = flow.lastSeen;
  // `features` (a lazy accessor) then `context`, in the interface's order.
  RecordData.attach(record, slab, slot);
  record.context = flow.context;
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
  /** Offset of the record's slot in `#slab`. */
  #slot: number;
  /**
   * Features objects of the records whose `features` was read or assigned.
   * Kept aside rather than in a third field: few records ever need one,
   * and two private fields plus `context` fit the record's first
   * out-of-object property block.
   */
  static #features = new WeakMap<object, FlowFeatures>();

  private constructor(record: FlowRecord, slab: Float64Array, slot: number) {
    super(record);
    this.#slab = slab;
    this.#slot = slot;
  }

  static #featuresProperty: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: RecordData): FlowFeatures {
      let features = RecordData.#features.get(this);
      if (features === undefined) {
        const slab = this.#slab;
        const slot = this.#slot;
        features = featuresFromStats(
          slab,
          slot,
          slab[slot + SLOT_FIRST_SEEN],
          slab[slot + SLOT_LAST_SEEN],
        );
        RecordData.#features.set(this, features);
      }
      return features;
    },
    set(this: RecordData, value: FlowFeatures): void {
      RecordData.#features.set(this, value);
    },
  };

  /** Stamps the record's statistics slot and makes `features` lazy. */
  static attach(record: FlowRecord, slab: Float64Array, slot: number): void {
    new RecordData(record, slab, slot);
    Object.defineProperty(record, "features", RecordData.#featuresProperty);
  }

  /** See {@linkcode writeFlowFeatures}. */
  static writeFeatures(record: FlowRecord, out: Float64Array): boolean {
    if (!(#slab in record)) return false;
    const data = record as unknown as RecordData;
    if (RecordData.#features.has(data)) return false;
    const slab = data.#slab;
    const slot = data.#slot;
    deriveFeatures(slab, slot, slab[slot + SLOT_FIRST_SEEN], slab[slot + SLOT_LAST_SEEN], out);
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
 * Records keep their statistics (and first/last packet time) in slots of
 * shared slabs: off the JS heap, so the garbage collector neither allocates
 * nor copies them one record at a time, and the flow's own statistics can
 * die with the flow. A slab lives as long as any of its records.
 */
const SLOT_FIRST_SEEN = FLOW_STATS_SIZE;
const SLOT_LAST_SEEN = FLOW_STATS_SIZE + 1;
const SLOT_SIZE = FLOW_STATS_SIZE + 2;
/** Slots per slab (256 KiB): few enough slabs that their allocation costs little per record. */
const SLAB_SLOTS = 448;
let slab = new Float64Array(0);
let slabNext = 0;

function flowToState(flow: Flow): FlowState {
  return {
    key: flow.key,
    uid: flow.uid,
    uidSuffix: flow.uidSuffix,
    communityId: flow.communityId,
    iface: flow.iface,
    agent: flow.agent,
    tunnelType: flow.tunnelType,
    tunnelId: flow.tunnelId,
    protocol: flow.protocol,
    ipProto: flow.ipProto,
    ipVersion: flow.ipVersion,
    vlanId: flow.vlanId,
    vlanInnerId: flow.vlanInnerId,
    origIp: flow.origIp,
    origPort: flow.origPort,
    origMac: flow.origMac,
    respIp: flow.respIp,
    respPort: flow.respPort,
    respMac: flow.respMac,
    icmpType: flow.icmpType,
    icmpCode: flow.icmpCode,
    icmpId: flow.icmpId,
    firstSeen: flow.firstSeen,
    lastSeen: flow.lastSeen,
    closed: flow.closed,
    closeReason: flow.closeReason,
    bits: flow.bits,
    origIsn: flow.origIsn,
    origFinEnd: flow.origFinEnd,
    respFinEnd: flow.respFinEnd,
    continuation: flow.continuation,
    ctxBits: flow.ctxBits,
    context: flow.context === null ? null : { ...flow.context },
    stats: flow.acc.toJSON(),
    ...(flow.app === null ? {} : { app: { ...flow.app } }),
  };
}

function flowFromState(
  s: FlowState,
  activityTimeoutSec: number,
  accOptions: FlowFeatureAccumulatorOptions,
): Flow {
  const flow = new Flow(s.key, new FlowFeatureAccumulator(activityTimeoutSec, s.stats, accOptions));
  flow.uid = s.uid;
  flow.uidSuffix = s.uidSuffix;
  flow.communityId = s.communityId;
  flow.iface = s.iface;
  flow.agent = s.agent ?? null;
  flow.tunnelType = s.tunnelType ?? null;
  flow.tunnelId = s.tunnelId ?? null;
  flow.protocol = s.protocol;
  flow.ipProto = s.ipProto;
  flow.ipVersion = s.ipVersion;
  flow.vlanId = s.vlanId;
  flow.vlanInnerId = s.vlanInnerId;
  flow.origIp = s.origIp;
  flow.origPort = s.origPort;
  flow.origMac = s.origMac;
  flow.respIp = s.respIp;
  flow.respPort = s.respPort;
  flow.respMac = s.respMac;
  flow.icmpType = s.icmpType;
  flow.icmpCode = s.icmpCode;
  flow.icmpId = s.icmpId;
  flow.firstSeen = s.firstSeen;
  flow.lastSeen = s.lastSeen;
  flow.closed = s.closed;
  flow.closeReason = s.closeReason;
  flow.bits = s.bits;
  flow.origIsn = s.origIsn;
  flow.origFinEnd = s.origFinEnd;
  flow.respFinEnd = s.respFinEnd;
  flow.continuation = s.continuation;
  flow.ctxBits = s.ctxBits;
  flow.context = s.context === null ? null : Object.freeze({ ...s.context });
  flow.isTcp = s.ipProto === IPPROTO_TCP;
  flow.app = s.app ? { ...s.app } : null;
  return flow;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function resolveOptions(
  options: FlowTableOptions,
  context: Required<ContextOptions>,
): ResolvedOptions {
  const resolved: ResolvedOptions = {
    tcpIdleTimeoutSec: options.tcpIdleTimeoutSec ?? 300,
    tcpAttemptTimeoutSec: options.tcpAttemptTimeoutSec ?? 60,
    tcpClosedTimeoutSec: options.tcpClosedTimeoutSec ?? 5,
    udpIdleTimeoutSec: options.udpIdleTimeoutSec ?? 60,
    icmpIdleTimeoutSec: options.icmpIdleTimeoutSec ?? 60,
    otherIdleTimeoutSec: options.otherIdleTimeoutSec ?? 60,
    activeTimeoutSec: options.activeTimeoutSec ?? 1800,
    fragmentTimeoutSec: options.fragmentTimeoutSec ?? 30,
    activityTimeoutSec: options.activityTimeoutSec ?? DEFAULT_ACTIVITY_TIMEOUT_SEC,
    sweepIntervalSec: options.sweepIntervalSec ?? 5,
    agentFollowAfterSec: options.agentFollowAfterSec ?? 120,
    communityIdSeed: options.communityIdSeed ?? 0,
    context,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (name === "context") continue;
    if (name === "communityIdSeed") {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff) {
        throw new RangeError(
          `Cannot create flow table as 'communityIdSeed' must be an integer 0..65535: current value is ${value}`,
        );
      }
      continue;
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(
        `Cannot create flow table as '${name}' must be a positive number of seconds: current value is ${value}`,
      );
    }
  }
  return resolved;
}
