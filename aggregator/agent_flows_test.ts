/**
 * Flows per agent through the whole pass: two agents that send the same
 * packets (two sensors on one link, or a capture file read while live
 * capture sees the same traffic) get a flow each, with the counts and the
 * context features of their own view, never one flow with both; and a flow
 * table saved before flows had agents still loads.
 */
import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { readFlowTableState, storePacketBatch } from "@traffic-analyzer/shared/db";
import type { FlowTableState } from "@traffic-analyzer/shared/flow";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet";
import { type FlowScorer, runAggregationPass } from "./aggregation_pass.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());

const ruleScorer: FlowScorer = {
  modelVersion: "rule-test-1",
  score: (rows) => Promise.resolve(rows.map(() => ({ label: "benign", score: 0 }))),
};

const START_SEC = 1_764_000_000;
/**
 * Packets a capture. Nearly every sample packet starts a flow, so a few
 * hundred give hundreds of flows to compare; the 1,500 and 2,000 these tests
 * once used cost about 20 s of CPU on PGlite and showed nothing more.
 */
const CAPTURE_PACKETS = 400;
const NOW_MS = (START_SEC + 100) * 1000;
const FLUSH_MS = NOW_MS + 7 * 86_400_000;

function pass(nowMs: number) {
  return runAggregationPass({
    sql: db.sql,
    scorer: ruleScorer,
    nowMs,
    copyNewFlows: true,
  });
}

async function store(agentId: string, key: string, records: PacketRecord[]): Promise<void> {
  await storePacketBatch(db.sql, { agentId, idempotencyKey: key, bodySha256: key, records });
}

interface FlowSummary {
  agent: string | null;
  community_id: string | null;
  first_seen: number;
  orig_packets: number;
  resp_packets: number;
  orig_bytes: number;
  resp_bytes: number;
  /** The feature vector, context included: each agent's own. */
  features: string;
}

/** Each agent's flows, without what tells the agents apart (uid, agent). */
async function flowsByAgent(): Promise<Map<string | null, string[]>> {
  const rows = await db.sql<FlowSummary[]>`
    select agent, community_id, first_seen, orig_packets, resp_packets, orig_bytes, resp_bytes,
      encode(features, 'hex') as features
    from traffic_data`;
  const out = new Map<string | null, string[]>();
  for (const { agent, ...flow } of rows) {
    let list = out.get(agent);
    if (list === undefined) out.set(agent, list = []);
    list.push(JSON.stringify(flow));
  }
  for (const list of out.values()) list.sort();
  return out;
}

Deno.test({
  name: "two agents sending the same packets get a flow each, with their own counts and context",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    const capture = sampleRecords(CAPTURE_PACKETS, { seed: 7, startSec: START_SEC });
    // First one agent alone: the reference flows.
    await store("sensor-a", "alone", capture);
    await pass(NOW_MS);
    await pass(FLUSH_MS);
    const alone = (await flowsByAgent()).get("sensor-a")!;
    assert.ok(alone.length > 50, `${alone.length} flows`);

    // Then both, interleaved batch by batch as two live agents would send.
    await db.truncate();
    for (let i = 0; i < capture.length; i += 100) {
      await store("sensor-a", `a-${i}`, capture.slice(i, i + 100));
      await store("sensor-b", `b-${i}`, capture.slice(i, i + 100));
    }
    await pass(NOW_MS);
    await pass(FLUSH_MS);
    const both = await flowsByAgent();
    assert.deepEqual([...both.keys()].sort(), ["sensor-a", "sensor-b"]);
    assert.deepEqual(both.get("sensor-a"), alone);
    assert.deepEqual(both.get("sensor-b"), alone);
    const [{ packets, uids, flows }] = await db.sql<
      { packets: number; uids: number; flows: number }[]
    >`
      select sum(orig_packets + resp_packets)::int8 as packets,
        count(distinct flow_uid)::int8 as uids, count(*)::int8 as flows
      from traffic_data`;
    assert.equal(packets, 2 * capture.length);
    assert.equal(uids, flows);
  },
});

Deno.test({
  name: "a flow table saved before flows had agents loads, and every packet lands in a flow",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    const capture = sampleRecords(CAPTURE_PACKETS, { seed: 11, startSec: START_SEC });
    await store("sensor-a", "first", capture.slice(0, CAPTURE_PACKETS / 2));
    await pass(NOW_MS);
    // Rewrite the saved state as the release before saved it: no agent keys.
    const saved = await readFlowTableState(db.sql);
    const state = JSON.parse(new TextDecoder().decode(gunzipSync(saved!))) as FlowTableState;
    assert.ok(state.flows.length > 0, "live flows to carry over");
    for (const flow of [...state.flows, ...state.pending]) {
      assert.equal(flow.agent, "sensor-a");
      delete flow.agent;
      delete flow.tunnelType;
      delete flow.tunnelId;
    }
    await db.sql`
      update aggregator_progress set flow_table_state = ${gzipSync(JSON.stringify(state))}
      where id = 1`;
    // And the flows it wrote, as migration 017 leaves them.
    await db.sql`update traffic_data set agent = null`;

    await store("sensor-a", "second", capture.slice(CAPTURE_PACKETS / 2));
    // A new process: no cached table, the saved state is read.
    await pass(NOW_MS);
    await pass(FLUSH_MS);
    const [{ packets, active, unscoped }] = await db.sql<
      { packets: number; active: number; unscoped: number }[]
    >`
      select sum(orig_packets + resp_packets)::int8 as packets,
        count(*) filter (where state = 'active')::int8 as active,
        count(*) filter (where agent is null)::int8 as unscoped
      from traffic_data`;
    assert.equal(packets, capture.length);
    assert.equal(active, 0);
    // The flows restored without an agent end without one; new ones have it.
    assert.ok(unscoped > 0);
    const [{ scoped }] = await db.sql<{ scoped: number }[]>`
      select count(*)::int8 as scoped from traffic_data where agent = 'sensor-a'`;
    assert.ok(scoped > 0);
  },
});
