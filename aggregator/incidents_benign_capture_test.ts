/**
 * A day of ordinary traffic raises no incident (issue 11): every benign
 * capture of the team kit (and every encapsulation sample its notes do not
 * call malware-related), decoded the way the agent does, aggregated, scored
 * by the shipped ONNX model and passed to the incident step exactly as the
 * aggregator runs them, at the default ALERT_MIN_SCORE, opens none. Captures
 * are chosen by their labels in the kit, never by a fixed list; without the
 * kit the test is skipped.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { CONFIG_SPECS } from "@traffic-analyzer/shared/config";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { findTeamKit, readTeamKitCaptures } from "@traffic-analyzer/shared/testing";
import { loadFlowScorer } from "./scorer/mod.ts";
import { runAggregationPass } from "./aggregation_pass.ts";
import { storeCapture } from "./_store_capture.ts";

const kit = findTeamKit();
const ALERT_MIN_SCORE = Number(CONFIG_SPECS.find((s) => s.key === "alertMinScore")!.default);

const ordinary = kit === null
  ? []
  : readTeamKitCaptures(kit).filter((c) =>
    c.class === "benign" || (c.class === "encap" && !/malware/i.test(c.notes))
  );

Deno.test({
  name: "the kit's benign captures, aggregated and scored, open no incident",
  ignore: kit === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    const scorer = await loadFlowScorer({
      modelPath: new URL("../models/flow_classifier.onnx", import.meta.url).pathname,
      expectedFeatureNames: FEATURE_NAMES,
      expectedFeatureVersion: FEATURE_VERSION,
    });
    const opened: string[] = [];
    let flows = 0;
    try {
      for (const capture of ordinary) {
        await db.truncate();
        await storeCapture(db.sql, capture.path, "kit");
        const nowMs = Date.now();
        const copyNewFlows = true;
        const pass = (at: number) =>
          runAggregationPass({
            sql: db.sql,
            scorer,
            nowMs: at,
            copyNewFlows,
            alertMinScore: ALERT_MIN_SCORE,
          });
        while ((await pass(nowMs)).more);
        // An hour later every flow has ended: the last pass rewrites them closed.
        await pass(nowMs + 3_600_000);
        const [{ count }] = await db.sql<{ count: number }[]>`
          select count(*)::int as count from traffic_data`;
        flows += count;
        const incidents = await db.sql<{ label: string; key_ip: string; flow_count: number }[]>`
          select label, host(key_ip) as key_ip, flow_count::int from incidents order by id`;
        for (const i of incidents) {
          opened.push(`${capture.file}: ${i.label} at ${i.key_ip} (${i.flow_count} flows)`);
        }
      }
      assert.ok(ordinary.length > 10 && flows > 500, `${ordinary.length} captures, ${flows} flows`);
      assert.deepEqual(opened, [], `${ordinary.length} captures, ${flows} flows`);
    } finally {
      await scorer.close();
      await db.close();
    }
  },
});
