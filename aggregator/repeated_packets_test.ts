/**
 * Packets stored twice (an agent that sent a file again under new keys, as
 * issue 10 saw after a crash) must not stop the aggregator. A double start on
 * one PGlite folder once left a database whose next pass failed with "ON
 * CONFLICT DO UPDATE command cannot affect row a second time": that needs two
 * flows with one uid in one statement. These cases are the way to that
 * without a double start (the same key and first packet time, twice), and
 * show the pass writes each uid once: within a pass the copies merge in time
 * order, and across passes the later copy updates the stored flow.
 */
import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { storePacketBatch } from "@traffic-analyzer/shared/db";
import { blankPacketRecord, sampleRecords } from "@traffic-analyzer/shared/testing";
import { type FlowScorer, runAggregationPass } from "./aggregation_pass.ts";

const ruleScorer: FlowScorer = {
  modelVersion: "rule-test-1",
  score: (rows) => Promise.resolve(rows.map(() => ({ label: "benign", score: 0 }))),
};

// A capture whose traffic spans more than the idle timeouts: its last packet
// ends the flows of its first seconds, so a copy's flows start anew with the
// same key and first packet time. Its size adds nothing: nearly every sample
// packet starts a flow, so 512 packets give hundreds of keys to repeat;
// 8192 (one merge slice) cost about 55 s of CPU on PGlite and tested the same.
const START_SEC = 1_764_000_000;
const CAPTURE = [
  ...sampleRecords(511, { startSec: START_SEC }),
  blankPacketRecord({
    timestamp: START_SEC + 900,
    interface: "eth0",
    protocol: "UDP",
    ip_proto: 17,
    src_ip: "198.51.100.1",
    dst_ip: "198.51.100.2",
    src_port: 5000,
    dst_port: 53,
    length: 80,
  }),
];

type TestDatabase = Awaited<ReturnType<typeof openTestDatabase>>;

function store(db: TestDatabase, key: string) {
  return storePacketBatch(db.sql, {
    agentId: "test",
    idempotencyKey: key,
    bodySha256: key,
    records: CAPTURE,
  });
}

function pass(db: TestDatabase) {
  return runAggregationPass({
    sql: db.sql,
    scorer: ruleScorer,
    nowMs: (START_SEC + 1000) * 1000,
    copyNewFlows: true,
  });
}

Deno.test("a capture stored twice does not stop the aggregator", async (t) => {
  const db = await openTestDatabase();
  try {
    await t.step("both copies in one pass", async () => {
      await db.truncate();
      await store(db, "first");
      await store(db, "again");
      const result = await pass(db);
      assert.equal(result.packets, 2 * CAPTURE.length);
      assert.ok(result.flowsWritten > 0);
    });

    await t.step("the copy after the first was aggregated", async () => {
      await db.truncate();
      await store(db, "first");
      const first = await pass(db);
      await store(db, "again");
      const second = await pass(db);
      assert.equal(first.packets + second.packets, 2 * CAPTURE.length);
      const [{ flows }] = await db.sql<{ flows: number }[]>`
        select count(*)::int as flows from traffic_data`;
      assert.ok(flows >= first.flowsWritten);
    });
  } finally {
    await db.close();
  }
});
