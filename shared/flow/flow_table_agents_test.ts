/**
 * Several agents in one flow table: each agent's flows, features and context
 * included, are the ones it gets alone, whatever order the agents' packets
 * interleave in (issue 10: two agents sending at once through two servers).
 */
import assert from "node:assert/strict";
import { sampleRecords } from "../testing/sample_records.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import {
  type FlowPacket,
  type FlowRecord,
  FlowTable,
  type FlowTableState,
  type FlowTableStateV1,
} from "./flow_table.ts";
import { udp } from "./_test_packets.ts";

const START_SEC = 1_764_000_000;

function asAgent(agent: string, packets: PacketRecord[]): FlowPacket[] {
  return packets.map((p) => ({ ...p, agent_id: agent }));
}

/** Cuts packets into batches of `size`, as an agent uploads them. */
function batches(packets: FlowPacket[], size: number): FlowPacket[][] {
  const out: FlowPacket[][] = [];
  for (let i = 0; i < packets.length; i += size) out.push(packets.slice(i, i + size));
  return out;
}

/**
 * Merges `calls` one call each, sweeping after each as an aggregation pass
 * does, then drains; returns each agent's flows as plain data, by uid.
 */
function run(calls: FlowPacket[][]): Map<string | null, string[]> {
  const table = new FlowTable();
  const flows: FlowRecord[] = [];
  for (const call of calls) {
    flows.push(...table.mergeEnded(call), ...table.sweep());
    table.takeChanged();
  }
  flows.push(...table.drain());
  const byAgent = new Map<string | null, string[]>();
  for (const flow of flows) {
    let list = byAgent.get(flow.agent);
    if (list === undefined) byAgent.set(flow.agent, list = []);
    // Features and context included (`features` is an accessor: serialise it).
    list.push(JSON.stringify({ ...flow, features: flow.features }));
  }
  for (const list of byAgent.values()) list.sort();
  return byAgent;
}

/** Asserts two lists of flows are equal, naming how many differ rather than printing them all. */
function assertSameFlows(actual: string[] | undefined, expected: string[], what: string): void {
  const got = new Set(actual);
  const missing = expected.filter((flow) => !got.has(flow));
  assert.ok(
    actual !== undefined && actual.length === expected.length && missing.length === 0,
    `${what}: ${actual?.length} flows, ${missing.length} of the ${expected.length} expected ` +
      `not among them, e.g. ${missing[0]}`,
  );
}

Deno.test("FlowTable gives two agents the same flows and features whatever order their packets interleave in", () => {
  // Two sensors on overlapping networks (the same originators and server),
  // over several context windows of packet time.
  const one = asAgent("sensor-1", sampleRecords(6000, { seed: 7, startSec: START_SEC }));
  const two = asAgent("sensor-2", sampleRecords(4000, { seed: 8, startSec: START_SEC + 0.5 }));
  const alone = new Map([...run(batches(one, 100)), ...run(batches(two, 100))]);
  assert.ok(alone.get("sensor-1")!.length > 1000 && alone.get("sensor-2")!.length > 1000);
  // A flow's context counts its own agent's flows: the two sensors' windows
  // hold the same hosts, so a shared window would change them.
  assert.ok(alone.get("sensor-1")!.some((f) => JSON.parse(f).context.long_orig_flow_rate > 0));

  const oneBatches = batches(one, 100);
  const twoBatches = batches(two, 100);
  const byTime = [...one, ...two].sort((a, b) => a.timestamp - b.timestamp);
  const interleavings: [string, FlowPacket[][]][] = [
    ["one after the other", [...oneBatches, ...twoBatches]],
    ["the other first", [...twoBatches, ...oneBatches]],
    ["merged in time order", batches(byTime, 250)],
    // Commit order of two live uploads, the second 20 batches (~4 s of
    // packet time) behind the first, then catching up.
    [
      "the second lagging",
      oneBatches.flatMap((batch, i) => (i < 20 ? [batch] : [batch, twoBatches[i - 20]]))
        .concat(twoBatches.slice(oneBatches.length - 20)).filter((b) => b !== undefined),
    ],
  ];
  for (const [name, calls] of interleavings) {
    const flows = run(calls);
    assertSameFlows(flows.get("sensor-1"), alone.get("sensor-1")!, `${name}: sensor-1`);
    assertSameFlows(flows.get("sensor-2"), alone.get("sensor-2")!, `${name}: sensor-2`);
  }
});

Deno.test("FlowTable ends an agent's flows by its own packet time, not by another agent's", () => {
  const A = "10.0.0.1";
  const B = "10.0.0.2";
  // sensor-2 sends 100 s of packet time first; sensor-1's UDP flow has a
  // 50 s pause, within the 60 s UDP idle timeout of its own clock.
  const ahead = asAgent("sensor-2", [udp(0, A, 1000, B, 53, 40), udp(100, A, 1000, B, 53, 40)]);
  const table = new FlowTable();
  const ended: FlowRecord[] = [...table.mergeEnded(ahead), ...table.sweep()];
  ended.push(...table.mergeEnded(asAgent("sensor-1", [udp(0, A, 2000, B, 53, 40)])));
  ended.push(...table.sweep());
  ended.push(...table.mergeEnded(asAgent("sensor-1", [udp(50, A, 2000, B, 53, 40)])));
  ended.push(...table.sweep(), ...table.drain());
  const mine = ended.filter((f) => f.agent === "sensor-1");
  assert.deepEqual(mine.map((f) => [f.orig_packets, f.close_reason]), [[2, "end"]]);
});

Deno.test("FlowTable ends a stopped agent's flows once the others' packet time moves on past the wait", () => {
  const A = "10.0.0.1";
  const B = "10.0.0.2";
  const table = new FlowTable({ agentFollowAfterSec: 30 });
  table.merge(asAgent("sensor-1", [udp(0, A, 2000, B, 53, 40)]));
  // sensor-2 goes on alone: sensor-1's clock follows 30 s behind its lead,
  // so its flow ends at the UDP idle timeout (60 s) of that clock.
  const ended: FlowRecord[] = [];
  for (let t = 0; t <= 90; t += 5) {
    ended.push(...table.merge(asAgent("sensor-2", [udp(t, A, 1000, B, 53, 40)])).ended);
  }
  assert.deepEqual(ended.filter((f) => f.agent === "sensor-1"), []);
  ended.push(...table.merge(asAgent("sensor-2", [udp(95, A, 1000, B, 53, 40)])).ended);
  const mine = ended.filter((f) => f.agent === "sensor-1");
  assert.deepEqual(mine.map((f) => [f.orig_packets, f.close_reason]), [[1, "idle"]]);
});

Deno.test("FlowTable restores state saved before agents had clocks of their own", () => {
  const packets = asAgent("sensor-1", sampleRecords(3000, { seed: 3, startSec: START_SEC }));
  const reference = run(batches(packets, 100));
  for (const split of [700, 1500, 2300]) {
    const first = new FlowTable();
    const ended: FlowRecord[] = [...first.merge(packets.slice(0, split)).ended];
    const saved = JSON.parse(JSON.stringify(first.toJSON())) as FlowTableState;
    // What the previous release saved: one clock, queue and tracker.
    const [lane] = saved.agents;
    const { agentFollowAfterSec: _, ...options } = saved.options;
    const v1: FlowTableStateV1 = {
      version: 1,
      options,
      nowSec: saved.nowSec,
      nextSweepSec: lane.nextSweepSec,
      flows: saved.flows,
      pending: saved.pending,
      queue: lane.queue,
      fragments: saved.fragments,
      hostPairs: saved.hostPairs,
      context: lane.context,
    };
    const second = FlowTable.fromJSON(JSON.parse(JSON.stringify(v1)));
    ended.push(...second.merge(packets.slice(split)).ended, ...second.drain());
    const flows = ended.map((flow) => JSON.stringify({ ...flow, features: flow.features })).sort();
    assertSameFlows(flows, reference.get("sensor-1")!, `split at ${split}`);
  }
});

Deno.test("FlowTable.fromJSON() rejects an unknown state version, naming it", () => {
  const state = { ...new FlowTable().toJSON(), version: 3 } as unknown as FlowTableState;
  assert.throws(() => FlowTable.fromJSON(state), /'version' must be 1 or 2: current value is 3/);
});
