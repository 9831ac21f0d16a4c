/**
 * One agent's share of a flow table: its packet-time clock, its context
 * windows and its flows waiting for their context. Flows are keyed by agent
 * already; giving each agent its own clock and context too (as a per-sensor
 * Zeek would have) makes every agent's flows, features included, the same
 * whatever order the agents' batches interleave in. With one clock, an agent
 * whose upload ran ahead in packet time expired, swept and admitted the
 * other's flows early, and one context window counted the flows of all
 * agents in the order they happened to be merged.
 *
 * @module
 */

import { ContextTracker, type ContextTrackerState } from "./context_features.ts";
import { JSON_TEXT_ITEMS, jsonArrayText } from "./_json_text.ts";

/** Serialised {@linkcode AgentLane}; the queue names flows by uid. */
export interface AgentLaneState {
  /** The agent; null for packets that name none. */
  agent: string | null;
  /** The agent's packet-time clock. */
  nowSec: number | null;
  /** See {@linkcode AgentLane.lagSec}. */
  lagSec: number;
  /** Packet time of the agent's next sweep. */
  nextSweepSec: number | null;
  /** uids of the agent's flows awaiting context, in admission order. */
  queue: string[];
  /** The agent's context windows. */
  context: ContextTrackerState;
}

/** One agent's clock, context windows and admission queue (see the module doc). */
export class AgentLane<F> {
  /** The agent; null for packets that name none. */
  readonly agent: string | null;
  /** The latest of this agent's packets (or the time a follow or `expire()` moved it to). */
  nowSec = -Infinity;
  /**
   * How far this agent's clock was behind the latest packet of any agent
   * when its last packet came: an agent replaying an old capture next to
   * live ones keeps that distance when its clock follows theirs.
   */
  lagSec = 0;
  /** Packet time of this agent's next sweep. */
  nextSweepSec = -Infinity;
  /** Flows in admission order; slots before `queueHead` are cleared once admitted. */
  queue: (F | undefined)[] = [];
  /** First slot of `queue` not yet admitted. */
  queueHead = 0;
  /** The agent's context windows. */
  tracker: ContextTracker;

  /** An agent's lane with the given context windows. */
  constructor(agent: string | null, tracker: ContextTracker) {
    this.agent = agent;
    this.tracker = tracker;
  }

  /** The flows still waiting for their context, in admission order. */
  *waiting(): Generator<F> {
    for (let i = this.queueHead; i < this.queue.length; i++) yield this.queue[i]!;
  }

  /** Drops admitted slots once they are most of the queue. */
  compact(): void {
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** The lane as plain data, its queued flows named by `uidOf`. */
  toJSON(uidOf: (flow: F) => string): AgentLaneState {
    return {
      agent: this.agent,
      nowSec: Number.isFinite(this.nowSec) ? this.nowSec : null,
      lagSec: this.lagSec,
      nextSweepSec: Number.isFinite(this.nextSweepSec) ? this.nextSweepSec : null,
      queue: [...this.waiting()].map(uidOf),
      context: this.tracker.toJSON(),
    };
  }

  /**
   * The text of `JSON.stringify(this.toJSON(uidOf))` in pieces (see
   * {@linkcode ContextTracker.toJSONText}).
   */
  *toJSONText(uidOf: (flow: F) => string, per: number = JSON_TEXT_ITEMS): Generator<string> {
    yield `{"agent":${JSON.stringify(this.agent)},"nowSec":${
      JSON.stringify(Number.isFinite(this.nowSec) ? this.nowSec : null)
    },"lagSec":${JSON.stringify(this.lagSec)},"nextSweepSec":${
      JSON.stringify(Number.isFinite(this.nextSweepSec) ? this.nextSweepSec : null)
    },"queue":`;
    yield* jsonArrayText(this.waiting(), uidOf, per);
    yield `,"context":`;
    yield* this.tracker.toJSONText(per);
    yield "}";
  }

  /** Restores a lane saved with {@linkcode AgentLane.toJSON}, finding its flows with `flowOf`. */
  static fromJSON<F>(state: AgentLaneState, flowOf: (uid: string) => F): AgentLane<F> {
    const lane = new AgentLane<F>(state.agent, ContextTracker.fromJSON(state.context));
    lane.nowSec = state.nowSec ?? -Infinity;
    lane.lagSec = state.lagSec;
    lane.nextSweepSec = state.nextSweepSec ?? -Infinity;
    lane.queue = state.queue.map(flowOf);
    return lane;
  }
}
