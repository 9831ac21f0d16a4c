/**
 * Saving and restoring a flow table: its parts as {@linkcode FlowTableState}
 * (plain data, or its JSON text in pieces), and the parts back from it,
 * including state saved before agents had clocks of their own (version 1).
 *
 * @module
 */

import { type ContextHandle, ContextTracker } from "./context_features.ts";
import type { FlowFeatureAccumulatorOptions } from "./flow_features.ts";
import { AgentLane } from "./_agent_lane.ts";
import type { Flow } from "./_flow.ts";
import { INDEX_NONE } from "./_flow_key.ts";
import type { FlowMap } from "./_flow_map.ts";
import type { FragmentEntry, FragmentMap } from "./_fragment_map.ts";
import type { HostPairs } from "./_host_pairs.ts";
import type { ResolvedFlowTableOptions } from "./_flow_options.ts";
import {
  finiteOrNull,
  flowFromState,
  type FlowTableState,
  type FlowTableStateV1,
  flowToState,
} from "./_flow_state.ts";
import { JSON_TEXT_ITEMS, jsonArrayText } from "./_json_text.ts";
import type { TupleIndex } from "./_tuple_index.ts";

/** The parts of a flow table that its saved state holds or restores. */
export interface FlowTableParts {
  /** Options in force. */
  options: ResolvedFlowTableOptions;
  /** The table's packet-time clock (not restored: the caller sets it). */
  nowSec: number;
  /** Live flows by key. */
  flows: FlowMap;
  /** The tuple index over `flows`. */
  index: TupleIndex;
  /** Each agent's clock, context windows and admission queue. */
  lanes: Map<string | null, AgentLane<Flow>>;
  /** The fragment map. */
  fragments: FragmentMap;
  /** Latest non-TCP flow key per host pair. */
  hostPairs: HostPairs;
  /** Options of the table's accumulators (their statistics pool). */
  accOptions: FlowFeatureAccumulatorOptions;
}

type SavedFragment = FlowTableState["fragments"][number];

/** A fragment map entry as saved. */
function fragmentToState([fragmentKey, e]: [string, FragmentEntry]): SavedFragment {
  return [fragmentKey, e.key, e.uid, e.srcIp, e.srcPort, e.dstPort, e.expiresSec];
}

/** The ended flows still waiting for their context, agent by agent. */
function* endedWaiting(lanes: Map<string | null, AgentLane<Flow>>): Generator<Flow> {
  for (const lane of lanes.values()) {
    for (const flow of lane.waiting()) if (flow.ended) yield flow;
  }
}

/** The table's state as plain data (see `FlowTable.toJSON`). */
export function tableToState(t: FlowTableParts): FlowTableState {
  return {
    version: 2,
    options: structuredClone(t.options),
    nowSec: finiteOrNull(t.nowSec),
    flows: [...t.flows.values()].map(flowToState),
    pending: [...endedWaiting(t.lanes)].map(flowToState),
    agents: [...t.lanes.values()].map((lane) => lane.toJSON((flow) => flow.uid)),
    fragments: [...t.fragments].map(fragmentToState),
    hostPairs: [...t.hostPairs],
  };
}

/**
 * The text of `JSON.stringify(tableToState(t))` in pieces of up to `per`
 * flows or entries (see `FlowTable.toJSONText`).
 */
export function* tableToStateText(
  t: FlowTableParts,
  per: number = JSON_TEXT_ITEMS,
): Generator<string> {
  yield `{"version":2,"options":${JSON.stringify(t.options)},"nowSec":${
    JSON.stringify(finiteOrNull(t.nowSec))
  },"flows":`;
  yield* jsonArrayText(t.flows.values(), flowToState, per);
  yield `,"pending":`;
  yield* jsonArrayText(endedWaiting(t.lanes), flowToState, per);
  yield `,"agents":[`;
  let first = true;
  for (const lane of t.lanes.values()) {
    if (!first) yield ",";
    first = false;
    yield* lane.toJSONText((flow) => flow.uid, per);
  }
  yield `],"fragments":`;
  yield* jsonArrayText(t.fragments, fragmentToState, per);
  yield `,"hostPairs":`;
  yield* jsonArrayText(t.hostPairs, (pair) => pair, per);
  yield "}";
}

/** Throws a RangeError naming the version when `state` is of none this release restores. */
export function checkStateVersion(state: FlowTableState | FlowTableStateV1): void {
  if (state.version !== 1 && state.version !== 2) {
    throw new RangeError(
      `Cannot restore flow table as 'version' must be 1 or 2: current value is ${
        (state as { version: unknown }).version
      }`,
    );
  }
}

/**
 * Fills the empty parts `t` of a table made with `state.options` from
 * `state`; `laneOf` gives an agent's lane, made when it has none.
 */
export function restoreTable(
  state: FlowTableState | FlowTableStateV1,
  t: FlowTableParts,
  laneOf: (agent: string | null) => AgentLane<Flow>,
): void {
  const byUid = new Map<string, Flow>();
  for (const saved of state.flows) {
    const flow = flowFromState(saved, t.options.activityTimeoutSec, t.accOptions);
    t.flows.set(flow);
    t.index.add(flow, undefined, INDEX_NONE, null);
    byUid.set(flow.uid, flow);
  }
  for (const saved of state.pending) {
    const flow = flowFromState(saved, t.options.activityTimeoutSec, t.accOptions);
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
      t.lanes.set(saved.agent, AgentLane.fromJSON(saved, flowOf));
    }
  } else {
    restoreSharedClock(state, [...byUid.values()], flowOf, t.lanes);
  }
  for (const flow of byUid.values()) {
    flow.lane = laneOf(flow.agent);
  }
  for (const [fragmentKey, key, uid, srcIp, srcPort, dstPort, expiresSec] of state.fragments) {
    t.fragments.restore(fragmentKey, { key, uid, srcIp, srcPort, dstPort, expiresSec });
  }
  for (const [pair, key] of state.hostPairs) t.hostPairs.restore(pair, key);
  // Reconnect admitted flows to their tracker entries (as the uid lookup
  // of the tracker's update() would find them).
  const handles = new Map<AgentLane<Flow>, Map<string, ContextHandle>>();
  for (const flow of t.flows.values()) {
    if (flow.ctx === null) continue;
    let ofLane = handles.get(flow.lane);
    if (ofLane === undefined) handles.set(flow.lane, ofLane = flow.lane.tracker.handlesByUid());
    flow.ctxHandle = ofLane.get(flow.uid) ?? null;
  }
}

/**
 * Version 1 state had one clock, queue and tracker for every agent: each
 * agent of its flows gets that clock, its own flows of the queue, and a copy
 * of the tracker.
 */
function restoreSharedClock(
  state: FlowTableStateV1,
  flows: Flow[],
  flowOf: (uid: string) => Flow,
  lanes: Map<string | null, AgentLane<Flow>>,
): void {
  const agents = new Set(flows.map((flow) => flow.agent));
  for (const agent of agents) {
    const lane = new AgentLane<Flow>(agent, ContextTracker.fromJSON(state.context));
    lane.nowSec = state.nowSec ?? -Infinity;
    lane.nextSweepSec = state.nextSweepSec ?? -Infinity;
    lanes.set(agent, lane);
  }
  for (const uid of state.queue) {
    const flow = flowOf(uid);
    lanes.get(flow.agent)!.queue.push(flow);
  }
}
