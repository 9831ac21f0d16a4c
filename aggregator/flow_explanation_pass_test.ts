import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { FEATURE_NAMES } from "@traffic-analyzer/shared/flow";
import type { FeatureContribution } from "@traffic-analyzer/shared/explain";
import { committedScorer } from "./scorer/_committed_scorer.ts";
import { runAggregationPass } from "./aggregation_pass.ts";
import { storeCapture } from "./_store_capture.ts";

const DEMO = new URL("../models/captures/demo.pcap", import.meta.url).pathname;

Deno.test({
  name:
    "an aggregation pass stores an explanation with every alert: an attack label scored at least ALERT_MIN_SCORE",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    const scorer = await committedScorer();
    try {
      await storeCapture(db.sql, DEMO, "explain-demo");
      const nowMs = Date.now();
      const alertMinScore = 0.7;
      const pass = (at: number, maxExplainedFlows?: number, scoreBatchSize?: number) =>
        runAggregationPass({
          sql: db.sql,
          scorer,
          nowMs: at,
          // PostgreSQL takes new flows by COPY, PGlite by upsert: both write the column.
          copyNewFlows: true,
          alertMinScore,
          maxExplainedFlows,
          scoreBatchSize,
        });
      for (let more = true; more;) more = (await pass(nowMs)).more;
      await pass(nowMs + 3_600_000);
      const rows = await db.sql<
        { score: number; label: string; explanation: FeatureContribution[] | null }[]
      >`select score, label, explanation from traffic_data`;
      const isAlert = (r: { score: number; label: string }) =>
        r.label !== "benign" && r.score >= alertMinScore;
      const alerted = rows.filter(isAlert);
      assert.ok(alerted.length > 0 && alerted.length < rows.length, `${alerted.length} alerted`);
      for (const row of rows) {
        if (!isAlert(row)) {
          assert.equal(row.explanation, null);
          continue;
        }
        assert.equal(row.explanation?.length, 5);
        for (const c of row.explanation!) {
          assert.ok(FEATURE_NAMES.includes(c.feature));
          assert.equal(typeof c.contribution, "number");
        }
      }

      // The same traffic from another agent, with room for five explanations in the pass.
      await storeCapture(db.sql, DEMO, "explain-budget");
      await pass(nowMs + 3_600_000, 5);
      const [{ explained, alerts }] = await db.sql<{ explained: number; alerts: number }[]>`
        select count(explanation)::int as explained,
          count(*) filter (where label <> 'benign' and score >= ${alertMinScore}::real)::int as alerts
        from traffic_data where agent = 'explain-budget'`;
      assert.ok(alerts > 5, `${alerts} alerts`);
      assert.equal(explained, 5);

      // Batches of four, several scored while the pass merges on: the budget holds across them.
      const count = (agent: string) =>
        db.sql<{ explained: number; alerts: number }[]>`
          select count(explanation)::int as explained,
            count(*) filter (where label <> 'benign' and score >= ${alertMinScore}::real)::int
              as alerts
          from traffic_data where agent = ${agent}`;
      await storeCapture(db.sql, DEMO, "explain-batches");
      await pass(nowMs + 3_600_000, 3, 4);
      const [batched] = await count("explain-batches");
      assert.ok(batched.alerts > 3, `${batched.alerts} alerts`);
      assert.equal(batched.explained, 3);
    } finally {
      await db.close();
    }
  },
});
