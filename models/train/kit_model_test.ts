/**
 * The committed model on the team kit's public captures, through the code the
 * aggregator runs: every packet decoded by `decodePacket`, merged into one
 * `FlowTable` (context included) and drained, each final flow turned into
 * its vector by `flowFeatureVector`, and scored by the aggregator's own
 * scorer (onnxruntime in a worker, calibration and label rule included). A
 * flow alerts when its label is not benign and its score reaches the default
 * `ALERT_MIN_SCORE`.
 *
 * Targets (issue 11): at most 1 % of flows alert on every benign capture;
 * on the in-scope attack captures (whose attack flows no model trained on) at
 * least 90 % of attack flows are flagged and 80 % correctly classed. Where the
 * model falls short, the floors below are what it reaches, and the model card
 * says so; a change that lowers them fails here.
 *
 * The benign captures (and the background of the attack captures) are
 * training data of the committed model, so their figure here is what a user
 * replaying them sees, not a held-out estimate; the model card's per-capture
 * table gives the held-out one (each capture scored by a forest that never
 * saw it).
 *
 * The kit is looked up with `findTeamKit()`; its captures are chosen by
 * `labels.tsv`, never by a fixed list. Without a kit the test is skipped.
 */
import assert from "node:assert/strict";
import { loadFlowScorerInWorker } from "@traffic-analyzer/aggregator/scorer";
import { configDefault } from "@traffic-analyzer/shared/config";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { findTeamKit } from "@traffic-analyzer/shared/testing";
import { evaluateSource, type SourceEvaluation, sumSources } from "./evaluate_sources.ts";
import { buildKitDataset, kitSourceOf, kitTruths } from "./kit_dataset.ts";

const COMMITTED = new URL("../flow_classifier.onnx", import.meta.url).pathname;
const ALERT_MIN_SCORE = configDefault("alertMinScore");

/** Most flows a benign capture may alert on (the target). */
const BENIGN_ALERT_CEILING = 0.01;
/** Share of in-scope attack flows flagged: the target is 0.9; this is what the model reaches. */
const ATTACK_FLAGGED_FLOOR = 0.9;
/** Share of in-scope attack flows flagged with the right class: target 0.8; reached. */
const ATTACK_CORRECT_FLOOR = 0.8;

const kitDir = findTeamKit();

Deno.test({
  name: "the committed model meets the alert targets on the kit's public captures",
  ignore: kitDir === null,
  async fn(t) {
    const kit = await buildKitDataset(kitDir!);
    const scorer = await loadFlowScorerInWorker({
      modelPath: COMMITTED,
      expectedFeatureNames: FEATURE_NAMES,
      expectedFeatureVersion: FEATURE_VERSION,
    });
    const rows: SourceEvaluation[] = [];
    try {
      for (const c of kit) {
        if (c.use === "excluded") continue;
        const verdicts = await scorer.score([...c.benign, ...c.attack]);
        rows.push(evaluateSource(kitSourceOf(c), verdicts, kitTruths(c), ALERT_MIN_SCORE));
      }
    } finally {
      await scorer.close();
    }
    assert.ok(rows.some((r) => r.kind === "benign"), "the kit lists benign captures");

    await t.step("at most 1 % of flows alert on each benign capture", () => {
      for (const r of rows.filter((r) => r.kind === "benign" || r.kind === "encap")) {
        assert.ok(
          r.alerts <= BENIGN_ALERT_CEILING * r.flows,
          `${r.source}: ${r.alerts} of ${r.flows} flows alert`,
        );
      }
    });

    const inScope = rows.filter((r) => r.kind === "attack" && r.inScope && r.attackFlows > 0);
    const total = sumSources("in-scope attack captures", "attack", inScope);
    const perCapture = inScope.map((r) =>
      `${r.source}: ${r.flagged}/${r.attackFlows} flagged, ${r.correct} correct`
    ).join("; ");
    await t.step("attack flows of the in-scope attack captures are flagged", () => {
      assert.ok(total.attackFlows > 0, "the kit lists in-scope attack captures");
      assert.ok(
        total.flagged >= ATTACK_FLAGGED_FLOOR * total.attackFlows,
        `${total.flagged} of ${total.attackFlows} flagged (${perCapture})`,
      );
    });
    await t.step("and correctly classed", () => {
      assert.ok(
        total.correct >= ATTACK_CORRECT_FLOOR * total.attackFlows,
        `${total.correct} of ${total.attackFlows} correctly classed (${perCapture})`,
      );
    });
  },
});
