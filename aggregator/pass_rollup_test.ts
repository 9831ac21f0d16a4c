import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { storePacketBatch } from "@traffic-analyzer/shared/db";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { blankPacketRecord } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { rollupsFromFlows, storedRollups } from "../shared/db/_dashboard_rollup_reference.ts";
import { type FlowScorer, runAggregationPass } from "./aggregation_pass.ts";
import { rescoreFlows, type RescoreScorer } from "./rescore.ts";

/** Labels by the vector's first value, so every class the test expects is there. */
const ruleScorer: FlowScorer = {
  modelVersion: "rule-test-1",
  score: (rows) =>
    Promise.resolve(rows.map((x) => ({ label: x[0] === 1 ? "tcp" : "other", score: 0.5 }))),
};

/** A later model that sees things differently: every other flow changes class. */
const rescorer: RescoreScorer = {
  modelVersion: "rule-test-2",
  featureVersion: FEATURE_VERSION,
  featureNames: FEATURE_NAMES,
  benignLabel: "benign",
  score: (rows) =>
    Promise.resolve(
      rows.map((x, i) => ({
        label: i % 2 ? "portscan" : "benign",
        score: x[0] === 1 ? 0.9 : 0.1,
        probabilities: new Float32Array(0),
        explanation: null,
      })),
    ),
};

const START = 1_764_000_000 - 1800; // half an hour before a whole hour
const PASS_SEC = 600;

/**
 * Ten minutes of packet time per pass: two long flows (TCP and UDP, a
 * packet every 20 s, so they live through every pass, across minutes and
 * the hour) and a burst of short flows.
 */
function passRecords(pass: number): PacketRecord[] {
  const from = START + pass * PASS_SEC;
  const long: PacketRecord[] = [];
  for (let t = from; t < from + PASS_SEC; t += 20) {
    long.push(blankPacketRecord({
      timestamp: t,
      interface: "eth0",
      protocol: "TCP",
      ip_proto: 6,
      src_ip: "10.9.0.1",
      dst_ip: "192.0.2.80",
      src_port: 40000,
      dst_port: 22,
      length: 120,
      caplen: 120,
      tcp_flags: 0x18,
      tcp_header_length: 20,
      payload_length: 66,
    }));
    long.push(blankPacketRecord({
      timestamp: t + 1,
      interface: "eth0",
      protocol: "UDP",
      ip_proto: 17,
      src_ip: "10.9.0.2",
      dst_ip: "192.0.2.53",
      src_port: 5353,
      dst_port: 53,
      length: 90,
      caplen: 90,
      payload_length: 48,
    }));
  }
  const short = sampleRecords(300, { seed: pass + 1, startSec: from + 100 });
  return [...long, ...short].sort((a, b) => a.timestamp - b.timestamp);
}

Deno.test({
  name: "the pass keeps the dashboard roll-ups equal to a GROUP BY over traffic_data, " +
    "across passes, long flows and a rescore",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      const copyNewFlows = true;
      let cache = null;
      for (let pass = 0; pass < 8; pass++) {
        await storePacketBatch(db.sql, {
          agentId: "test",
          idempotencyKey: `pass-${pass}`,
          bodySha256: `pass-${pass}`,
          records: passRecords(pass),
        });
        const result = await runAggregationPass({
          sql: db.sql,
          scorer: ruleScorer,
          nowMs: (START + (pass + 1) * PASS_SEC) * 1000,
          cache,
          copyNewFlows,
          reorderWaitMs: 0,
        });
        assert.equal(result.skipped, false);
        cache = result.cache;
        assert.deepEqual(
          await storedRollups(db.sql),
          await rollupsFromFlows(db.sql),
          `pass ${pass}`,
        );
      }
      // The long flows were written again pass after pass (up to the active
      // timeout, 30 min), and across the hour.
      const [long] = await db.sql<{ span: number; hours: number }[]>`
        select max(last_seen - first_seen)::float8 as span,
          count(distinct floor(first_seen / 3600))::int as hours
        from traffic_data where resp_port in (22, 53) and host(orig_ip) like '10.9.0.%'`;
      assert.ok(long.span > 2 * PASS_SEC, `a long flow spans passes: ${long.span}`);
      const flows = await rollupsFromFlows(db.sql);
      assert.ok(flows.hosts.some((r) => r.startsWith(`${Math.floor(START / 3600)}|10.9.0.1|`)));
      assert.ok(flows.hosts.some((r) => r.startsWith(`${Math.floor(START / 3600) + 1}|10.9.0.1|`)));

      const report = await rescoreFlows(db.sql, {
        scorer: rescorer,
        alertMinScore: 0.5,
        batchSize: 7,
      });
      assert.ok(report.changed > 0);
      const rescored = await storedRollups(db.sql);
      assert.deepEqual(rescored, await rollupsFromFlows(db.sql));
      assert.ok(rescored.classes.some((r) => r.includes("|portscan|")));
      assert.ok(!rescored.classes.some((r) => r.includes("|tcp|")));
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "a new flow stored already after all undoes the COPY: the pass's flows and roll-ups " +
    "come out as without it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const records = passRecords(0);
    // Small batches, so the COPY takes several before the stored flow.
    const pass = (db: Awaited<ReturnType<typeof openTestDatabase>>, nowMs: number) =>
      runAggregationPass({
        sql: db.sql,
        scorer: ruleScorer,
        nowMs,
        copyNewFlows: true,
        reorderWaitMs: 0,
        scoreBatchSize: 8,
      });
    const flows = (db: Awaited<ReturnType<typeof openTestDatabase>>) =>
      db.sql<{ row: string }[]>`
        select (to_jsonb(t) - 'id' - 'updated_at')::text as row from traffic_data t order by 1`;
    const clean = await openTestDatabase();
    const stored = await openTestDatabase();
    try {
      await storePacketBatch(clean.sql, {
        agentId: "test",
        idempotencyKey: "all",
        bodySha256: "all",
        records,
      });
      const nowMs = (START + PASS_SEC) * 1000;
      const reference = await pass(clean, nowMs);
      assert.ok(reference.flowsWritten > 8 * 8, `${reference.flowsWritten} flows`);

      // One flow of the middle of the pass, stored by a pass of its own
      // packets, which the next pass's flow table then forgets.
      const key = (r: PacketRecord) =>
        [r.src_ip, r.dst_ip, r.src_port, r.dst_port].sort().join("|") + `|${r.protocol}`;
      const keys = [...new Set(records.slice(records.length >> 1).map(key))];
      const own = records.filter((r) => key(r) === keys[0]);
      await storePacketBatch(stored.sql, {
        agentId: "test",
        idempotencyKey: "one",
        bodySha256: "one",
        records: own,
      });
      assert.equal((await pass(stored, nowMs)).flowsWritten, 1);
      await stored.sql`
        update aggregator_progress
        set flow_table_state = null, state_version = state_version + 1, last_batch_id = 0`;
      await stored.sql`update ingest_batches set aggregated = false`;
      await stored.sql`delete from ingest_batches where idempotency_key = 'one'`;
      await storePacketBatch(stored.sql, {
        agentId: "test",
        idempotencyKey: "all",
        bodySha256: "all",
        records,
      });
      const result = await pass(stored, nowMs);
      assert.equal(result.flowsWritten, reference.flowsWritten);
      assert.deepEqual(await flows(stored), await flows(clean));
      assert.deepEqual(await storedRollups(stored.sql), await storedRollups(clean.sql));
      assert.deepEqual(await storedRollups(stored.sql), await rollupsFromFlows(stored.sql));
    } finally {
      await stored.close();
      await clean.close();
    }
  },
});
