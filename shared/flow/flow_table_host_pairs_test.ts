import assert from "node:assert/strict";
import { type FlowRecord, FlowTable, type FlowTableState } from "./flow_table.ts";
import { icmp, udp } from "./_test_packets.ts";

const A = "10.0.0.1";
const B = "10.0.0.2";
const C = "10.0.0.3";

/** The table's state through its saved text, as a pass saves it. */
function saved(table: FlowTable): FlowTableState {
  return JSON.parse([...table.toJSONText()].join(""));
}

function rejectedPorts(flows: FlowRecord[]): number[] {
  return flows.filter((f) => f.rejected).map((f) => f.orig_port!).sort((a, b) => a - b);
}

Deno.test("FlowTable charges an unquoted unreachable to the latest flow between the hosts after a restore", () => {
  const table = new FlowTable();
  table.merge([udp(0, A, 5000, B, 9, 12), udp(0.1, A, 5001, B, 9, 12)]);
  const state = saved(table);
  // The entry names the latest flow of the pair by its key.
  assert.deepEqual(state.hostPairs, [[`${A}|${B}`, `|17|${A}|5001|${B}|9`]]);
  const restored = FlowTable.fromJSON(state);
  const ended = restored.merge([icmp(0.2, B, A, 3, 3, null, 36)]).ended;
  assert.deepEqual(rejectedPorts([...ended, ...restored.drain()]), [5001]);
});

Deno.test("FlowTable lets go of a host pair's flow when it ends", () => {
  const table = new FlowTable({ udpIdleTimeoutSec: 10, sweepIntervalSec: 1 });
  table.merge([udp(0, A, 5000, B, 9, 12)]);
  // Past the idle timeout: the flow ended, and its object may serve the next
  // one, on its key with the roles the other way round.
  table.merge([udp(30, C, 6000, B, 9, 12)]);
  table.merge([udp(31, B, 9, A, 5000, 12)]);
  assert.deepEqual(saved(table).hostPairs, [
    [`${C}|${B}`, `|17|${B}|9|${C}|6000`],
    [`${B}|${A}`, `|17|${A}|5000|${B}|9`],
  ]);
  const ended = table.merge([icmp(31.5, B, A, 3, 3, null, 36)]).ended;
  assert.deepEqual(rejectedPorts([...ended, ...table.drain()]), []);
});

Deno.test("FlowTable keeps restored host-pair entries that name no flow of their pair as they were", async (t) => {
  const table = new FlowTable();
  table.merge([udp(0, A, 5000, B, 9, 12), udp(0.1, B, 7000, C, 9, 12)]);
  const state = saved(table);
  // A key without a flow, and a live flow's key under its reversed pair.
  const gone = `|17|${A}|1|${C}|2`;
  const reversed = `|17|${B}|7000|${C}|9`;
  state.hostPairs = [[`${C}|${A}`, gone], ...state.hostPairs, [`${C}|${B}`, reversed]];

  await t.step("saved again unchanged, in their place", () => {
    assert.deepEqual(saved(FlowTable.fromJSON(state)).hostPairs, state.hostPairs);
  });

  await t.step("an unreachable finds no flow through them", () => {
    const restored = FlowTable.fromJSON(state);
    const ended = restored.merge([
      icmp(0.2, A, C, 3, 3, null, 36),
      icmp(0.3, B, C, 3, 3, null, 36),
    ]).ended;
    assert.deepEqual(rejectedPorts([...ended, ...restored.drain()]), []);
  });

  await t.step("a new flow of the pair takes the entry's place", () => {
    const restored = FlowTable.fromJSON(state);
    restored.merge([udp(0.2, C, 1, A, 2, 12)]);
    assert.deepEqual(saved(restored).hostPairs[0], [`${C}|${A}`, `|17|${A}|2|${C}|1`]);
    const ended = restored.merge([icmp(0.3, A, C, 3, 3, null, 36)]).ended;
    assert.deepEqual(rejectedPorts([...ended, ...restored.drain()]), [1]);
  });

  await t.step("an entry naming a live flow of another pair stays when that flow ends", () => {
    const restored = FlowTable.fromJSON(state);
    restored.drain();
    assert.deepEqual(saved(restored).hostPairs, [[`${C}|${A}`, gone], [`${C}|${B}`, reversed]]);
  });
});

Deno.test("FlowTable keeps a host pair's place in the saved state when a newer flow of the pair takes it", () => {
  const table = new FlowTable();
  table.merge([udp(0, A, 5000, B, 9, 12), udp(0.1, C, 6000, B, 9, 12)]);
  // A newer flow of the first pair: its entry moves to that flow, in the same place.
  table.merge([udp(0.2, A, 5001, B, 9, 12)]);
  assert.deepEqual(saved(table).hostPairs, [
    [`${A}|${B}`, `|17|${A}|5001|${B}|9`],
    [`${C}|${B}`, `|17|${B}|9|${C}|6000`],
  ]);
  // The older flow of the pair ending leaves the newer one's entry as it is.
  const restored = FlowTable.fromJSON(saved(table));
  const ended = restored.merge([icmp(0.3, B, A, 3, 3, null, 36)]).ended;
  assert.deepEqual(rejectedPorts([...ended, ...restored.drain()]), [5001]);
});

Deno.test("FlowTable charges an unquoted unreachable only to a flow of its own agent", () => {
  const table = new FlowTable();
  const ours = { ...udp(0, A, 5000, B, 9, 12), agent_id: "one" };
  const theirs = { ...udp(0.1, A, 5001, B, 9, 12), agent_id: "two" };
  table.merge([ours, theirs]);
  const ended = table.merge([{ ...icmp(0.2, B, A, 3, 3, null, 36), agent_id: "one" }]).ended;
  assert.deepEqual(rejectedPorts([...ended, ...table.drain()]), [5000]);
});
