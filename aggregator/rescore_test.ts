import assert from "node:assert/strict";
import { ConfigError } from "@traffic-analyzer/shared";
import { recordRescoredIncidents, type Sql, upsertFlows } from "@traffic-analyzer/shared/db";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import type { FeatureContribution } from "@traffic-analyzer/shared/explain";
import { sampleFlowUpsert } from "../shared/db/_sample_flow_upsert.ts";
import { committedScorer } from "./scorer/_committed_scorer.ts";
import { formatRescoreReport, rescoreFlows } from "./rescore.ts";
import { parseSince } from "./rescore_main.ts";
import { captureFeatureVectors } from "./_store_capture.ts";

const MIN_SCORE = 0.5;
const VECTORS = await captureFeatureVectors(
  new URL("../models/captures/demo.pcap", import.meta.url).pathname,
);

interface StoredRow {
  id: number;
  flow_uid: string;
  label: string | null;
  score: number | null;
  model_version: string | null;
  explanation: FeatureContribution[] | null;
}

Deno.test({
  name: "rescoreFlows() rescores stored vectors with the model, or only counts in a dry run",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    const scorer = await committedScorer();
    try {
      // The demo capture's flows as an older model left them: every one a
      // portscan alert. Plus a flow of another feature version, one whose
      // vector is too short and one never scored.
      const n = VECTORS.length;
      const flows = VECTORS.map((v, i) =>
        sampleFlowUpsert(i, v, {
          label: "portscan",
          score: 0.875,
          model_version: "old-1",
          feature_version: FEATURE_VERSION,
          last_seen: 1_764_000_000 + i,
        })
      );
      flows.push(
        sampleFlowUpsert(n, VECTORS[0], { feature_version: FEATURE_VERSION + 1 }),
        sampleFlowUpsert(n + 1, VECTORS[0].subarray(1), { feature_version: FEATURE_VERSION }),
        sampleFlowUpsert(n + 2, null, { label: null, score: null, feature_version: null }),
      );
      await db.sql.begin((tx) => upsertFlows(tx as unknown as Sql, flows));
      const stored = () =>
        db.sql<StoredRow[]>`
          select id, flow_uid, label, score, model_version, explanation
          from traffic_data order by id`;
      const before = await stored();
      // The incidents the older model's pass left: its portscan alerts grouped.
      await db.sql.begin((tx) =>
        recordRescoredIncidents(tx as unknown as Sql, {
          ids: before.slice(0, n).map((r) => r.id),
          benignLabel: "benign",
          minScore: MIN_SCORE,
          windowSec: 900,
        })
      );
      const byUid = (a: { flow_uid: string }, b: { flow_uid: string }) =>
        a.flow_uid < b.flow_uid ? -1 : a.flow_uid > b.flow_uid ? 1 : 0;
      const incidentMembers = async () =>
        (await db.sql<{ flow_uid: string; label: string }[]>`
          select f.flow_uid, i.label from incident_flows f join incidents i on i.id = f.incident_id`)
          .map((r) => ({ flow_uid: r.flow_uid, label: r.label })).sort(byUid);
      const incidentsBefore = await incidentMembers();
      assert.equal(incidentsBefore.length, n, "every old alert is in an incident");
      const expected = await scorer.score(VECTORS, { explainMinScore: MIN_SCORE });
      const benign = expected.filter((s) => s.label === "benign").length;
      assert.ok(benign > 0 && benign < n, `${benign} of ${n} flows benign: a weak test`);

      await t.step("a dry run counts transitions and alerts, and writes nothing", async () => {
        const report = await rescoreFlows(db.sql, {
          scorer,
          alertMinScore: MIN_SCORE,
          dryRun: true,
          batchSize: 37,
        });
        assert.deepEqual(await stored(), before);
        assert.deepEqual(await incidentMembers(), incidentsBefore);
        assert.equal(report.incidentsOpened, 0);
        assert.equal(report.scanned, n + 3);
        assert.equal(report.rescored, n);
        assert.equal(report.skippedFeatureMismatch, 2);
        assert.equal(report.skippedNoFeatures, 1);
        const transitions: Record<string, number> = {};
        for (const s of expected) {
          transitions[`portscan → ${s.label}`] = (transitions[`portscan → ${s.label}`] ?? 0) + 1;
        }
        assert.deepEqual(report.transitions, transitions);
        const stillAlerts = expected.filter((s) => s.label !== "benign" && s.score >= MIN_SCORE);
        assert.equal(report.alertsDisappeared, n - stillAlerts.length);
        assert.equal(report.alertsAppeared, 0);
        const text = formatRescoreReport(report).join("\n");
        assert.match(text, /dry run: nothing written/);
        assert.match(text, new RegExp(`portscan → benign: ${transitions["portscan → benign"]}`));
        assert.match(text, /feature version or length differs from the model's: 2/);
      });

      await t.step("--since takes only flows whose last packet is at or after it", async () => {
        const report = await rescoreFlows(db.sql, {
          scorer,
          alertMinScore: MIN_SCORE,
          dryRun: true,
          sinceSec: 1_764_000_000 + n - 10,
        });
        // The last ten capture flows plus the three extra rows (last_seen later still).
        assert.equal(report.scanned, 13);
      });

      await t.step("a real run writes label, score, model version and explanation", async () => {
        const report = await rescoreFlows(db.sql, {
          scorer,
          alertMinScore: MIN_SCORE,
          batchSize: 50,
        });
        assert.equal(report.dryRun, false);
        assert.equal(report.rescored, n);
        const after = await stored();
        for (let i = 0; i < n; i++) {
          const row = after[i];
          assert.equal(row.flow_uid, `uid-${i}`);
          assert.equal(row.label, expected[i].label);
          assert.equal(Math.fround(row.score!), expected[i].score);
          assert.equal(row.model_version, scorer.modelVersion);
          assert.deepEqual(row.explanation, expected[i].explanation);
          const alert = expected[i].label !== "benign" && expected[i].score >= MIN_SCORE;
          assert.equal(row.explanation === null, !alert);
        }
        // Skipped rows keep what they had.
        assert.deepEqual(after.slice(n), before.slice(n));
        const again = await rescoreFlows(db.sql, { scorer, alertMinScore: MIN_SCORE });
        assert.equal(again.changed, 0, "rescoring with the same model changes nothing");
        assert.equal(again.incidentsOpened, 0, "nor opens incidents");
      });

      await t.step(
        "a real run rebuilds incidents: alerts now in one, the others in none",
        async () => {
          const alerts = expected.flatMap((s, i) =>
            s.label !== "benign" && s.score >= MIN_SCORE
              ? [{ flow_uid: `uid-${i}`, label: s.label }]
              : []
          ).sort(byUid);
          assert.ok(alerts.length < n, "some old alerts are benign now: a weak test otherwise");
          assert.deepEqual(await incidentMembers(), alerts);
          const [{ flows, empty }] = await db.sql<{ flows: number; empty: number }[]>`
          select coalesce(sum(flow_count), 0)::int as flows,
            count(*) filter (where flow_count = 0)::int as empty
          from incidents`;
          assert.equal(flows, alerts.length, "incident counts follow their flows");
          assert.equal(empty, 0, "an incident left without flows is gone");
        },
      );
    } finally {
      await db.close();
    }
  },
});

Deno.test("rescoreFlows() names a bad option", async () => {
  const scorer = {
    modelVersion: "m",
    featureVersion: 1,
    featureNames: ["a"],
    benignLabel: "benign",
    score: () => Promise.resolve([]),
  };
  const sql = null as unknown as Sql;
  await assert.rejects(
    () => rescoreFlows(sql, { scorer, alertMinScore: 0.5, batchSize: 0 }),
    /'batchSize' must be an integer >= 1: current value is 0/,
  );
  await assert.rejects(
    () => rescoreFlows(sql, { scorer, alertMinScore: 2 }),
    /'alertMinScore' must be in \[0, 1\]/,
  );
});

Deno.test("parseSince() takes ISO 8601 times and epoch seconds, and names --since otherwise", () => {
  assert.equal(parseSince("1764000000"), 1_764_000_000);
  assert.equal(parseSince("1764000000.5"), 1_764_000_000.5);
  assert.equal(parseSince("2026-01-31T12:00:00Z"), Date.UTC(2026, 0, 31, 12) / 1000);
  assert.equal(parseSince("2026-01-31"), Date.UTC(2026, 0, 31) / 1000);
  for (const bad of ["yesterday", "", "2026-13-45", "-5", "1e9"]) {
    assert.throws(
      () => parseSince(bad),
      (e: unknown) =>
        e instanceof ConfigError && e.setting === "--since" && /--since/.test(e.message),
      bad,
    );
  }
});
