/**
 * Saved flow table state: its format (version 2, and version 1 as saved
 * before agents had clocks of their own), and a flow's state as plain data.
 * The fields a flow saves as they are come from one list,
 * {@linkcode SAVED_FLOW_FIELDS}, checked against {@linkcode FlowState} by
 * the compiler.
 *
 * @module
 */

import type { FlowAppFields } from "./flow_app_fold.ts";
import { IPPROTO_TCP, type TunnelType } from "../packet/packet_record.ts";
import type { ContextTrackerState } from "./context_features.ts";
import type { FlowContext } from "./flow_context.ts";
import { FlowContextCounts } from "./flow_context_counts.ts";
import { FlowFeatureAccumulator, type FlowFeatureAccumulatorOptions } from "./flow_features.ts";
import type { AgentLaneState } from "./_agent_lane.ts";
import { Flow } from "./_flow.ts";
import type { ResolvedFlowTableOptions } from "./_flow_options.ts";
import type { CloseReason } from "./_flow_record.ts";

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

/**
 * The {@linkcode FlowState} fields a flow saves and restores as they are, in
 * the state's order: every field but the key (the constructor's), the
 * context (copied, and frozen on restore), the statistics and the
 * application fields. Fields added since a release (agent, tunnel) restore
 * as null from state saved before them.
 */
const SAVED_FLOW_FIELDS = [
  "uid",
  "uidSuffix",
  "communityId",
  "iface",
  "agent",
  "tunnelType",
  "tunnelId",
  "protocol",
  "ipProto",
  "ipVersion",
  "vlanId",
  "vlanInnerId",
  "origIp",
  "origPort",
  "origMac",
  "respIp",
  "respPort",
  "respMac",
  "icmpType",
  "icmpCode",
  "icmpId",
  "firstSeen",
  "lastSeen",
  "closed",
  "closeReason",
  "bits",
  "origIsn",
  "origFinEnd",
  "respFinEnd",
  "continuation",
  "ctxBits",
] as const satisfies readonly (keyof FlowState & keyof Flow)[];

/** The fields of {@linkcode FlowState} saved otherwise than as they are. */
type SavedOtherwise = "key" | "context" | "stats" | "app";
/** Fails to compile when a {@linkcode FlowState} field is in neither list. */
type UnsavedFields = Exclude<keyof FlowState, (typeof SAVED_FLOW_FIELDS)[number] | SavedOtherwise>;
const everyFieldSaved: [UnsavedFields] extends [never] ? true : UnsavedFields = true;
void everyFieldSaved;

type SavedValues = Record<(typeof SAVED_FLOW_FIELDS)[number], unknown>;

/** A flow's state as plain data. */
export function flowToState(flow: Flow): FlowState {
  const state = { key: flow.key } as FlowState;
  const from = flow as unknown as SavedValues;
  const to = state as unknown as SavedValues;
  for (const field of SAVED_FLOW_FIELDS) to[field] = from[field];
  state.context = flow.ctx === null ? null : { ...flow.ctx.context() };
  state.stats = flow.acc.toJSON();
  if (flow.app !== null) state.app = { ...flow.app };
  return state;
}

/** A flow restored from its state, with statistics in `accOptions`' pool. */
export function flowFromState(
  s: FlowState,
  activityTimeoutSec: number,
  accOptions: FlowFeatureAccumulatorOptions,
): Flow {
  const flow = new Flow(s.key, new FlowFeatureAccumulator(activityTimeoutSec, s.stats, accOptions));
  const from = s as unknown as SavedValues;
  const to = flow as unknown as SavedValues;
  for (const field of SAVED_FLOW_FIELDS) to[field] = from[field] ?? null;
  flow.ctx = s.context === null ? null : FlowContextCounts.of(Object.freeze({ ...s.context }));
  flow.isTcp = s.ipProto === IPPROTO_TCP;
  flow.app = s.app ? { ...s.app } : null;
  return flow;
}

/** `value`, or null when it is not finite (a clock not yet set). */
export function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
