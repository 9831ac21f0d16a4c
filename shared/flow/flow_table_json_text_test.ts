/**
 * `FlowTable.toJSONText()` (issue 15): the saved state written in pieces is
 * the text `JSON.stringify(table.toJSON())` gives, whatever the piece size,
 * and reads back as the same table.
 */
import assert from "node:assert/strict";
import { sampleRecords } from "../testing/sample_records.ts";
import { type FlowPacket, FlowTable, type FlowTableState } from "./flow_table.ts";
import { jsonArrayText } from "./_json_text.ts";
import { icmp, udp } from "./_test_packets.ts";

const START_SEC = 1_764_000_000;
const A = "10.0.0.1";
const B = "10.0.0.2";

/** Two agents' sample traffic, a first fragment and ICMP, cut where flows are open, ended or waiting. */
function tables(): { label: string; table: FlowTable }[] {
  const out: { label: string; table: FlowTable }[] = [{ label: "empty", table: new FlowTable() }];
  const agent = (id: string, seed: number) =>
    sampleRecords(1500, { seed, startSec: START_SEC }).map((p): FlowPacket => ({
      ...p,
      agent_id: id,
    }));
  const mixed = [...agent("left", 1), ...agent("right", 2)].sort((a, b) =>
    a.timestamp - b.timestamp
  );
  // 5 s on: the earlier flows get their context, so the windows hold entries.
  const last = mixed[mixed.length - 1].timestamp + 5;
  const extra: FlowPacket[] = [
    udp(last, A, 6000, B, 6001, 1472, { ip_id: 42, more_fragments: true, length: 1514 }),
    udp(last, A, 6002, B, 6001, 1472, { ip_id: 43, more_fragments: true, length: 1514 }),
    icmp(last + 0.001, A, B, 8, 0, 7, 56),
    { ...udp(last + 0.002, A, 5000, B, 53, 40), agent_id: "left" },
  ];
  for (const split of [10, 700, 1800, mixed.length]) {
    const table = new FlowTable();
    table.merge(mixed.slice(0, split));
    table.merge(extra);
    out.push({ label: `split at ${split}`, table });
  }
  // Flows that end long before their context is due wait in `pending`.
  const waiting = new FlowTable({ context: { outcomeDelaySec: 3600 } });
  waiting.merge(mixed);
  waiting.expire(mixed[mixed.length - 1].timestamp + 600);
  out.push({ label: "ended, waiting for context", table: waiting });
  return out;
}

Deno.test("FlowTable.toJSONText() gives the text of JSON.stringify(toJSON()) in pieces of any size", () => {
  let covered = { flows: 0, pending: 0, agents: 0, entries: 0, fragments: 0, hostPairs: 0 };
  for (const { label, table } of tables()) {
    const whole = JSON.stringify(table.toJSON());
    for (const per of [1, 2, 7, 4096]) {
      assert.equal([...table.toJSONText(per)].join(""), whole, `${label}, ${per} a piece`);
    }
    assert.equal([...table.toJSONText()].join(""), whole, label);
    const state = JSON.parse(whole) as FlowTableState;
    covered = {
      flows: Math.max(covered.flows, state.flows.length),
      pending: Math.max(covered.pending, state.pending.length),
      agents: Math.max(covered.agents, state.agents.length),
      entries: Math.max(
        covered.entries,
        ...state.agents.map((lane) => lane.context.entries.length),
      ),
      fragments: Math.max(covered.fragments, state.fragments.length),
      hostPairs: Math.max(covered.hostPairs, state.hostPairs.length),
    };
    // And it reads back as the same table.
    assert.equal(JSON.stringify(FlowTable.fromJSON(state).toJSON()), whole, label);
  }
  // Every part of the state was there with more than one item in some table.
  for (const [part, most] of Object.entries(covered)) {
    assert.ok(most > 1, `${part}: at most ${most}`);
  }
});

Deno.test("jsonArrayText() writes an array as JSON.stringify() does, undefined and functions as null", () => {
  const items = [1, 'a\u2028"b', null, undefined, () => 0, { x: undefined, y: [1] }, -0, NaN];
  for (const per of [1, 3, 100]) {
    assert.equal([...jsonArrayText(items, (item) => item, per)].join(""), JSON.stringify(items));
  }
  assert.equal([...jsonArrayText([], (item) => item, 2)].join(""), "[]");
});
