/**
 * The committed model (models/flow_classifier.onnx, .json, MODEL_CARD.md and
 * tree covers) must load with the code's features and follow from the
 * captures, the kit and the code: a change to the features, the flow table,
 * the captures, the kit or the training procedure fails here until
 * `deno task train` is rerun. Training runs once; the datasets it reads are
 * built once and shared by every step.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadFlowScorer } from "@traffic-analyzer/aggregator/scorer";
import { configDefault } from "@traffic-analyzer/shared/config";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { findTeamKit } from "@traffic-analyzer/shared/testing";
import { TRAFFIC_CLASSES } from "../lab/run_settings.ts";
import { predictBatch, saveFlowModel, trainRandomForest } from "../ml/mod.ts";
import { compareFlowModels, MODEL_CARD_NAME } from "./compare_flow_models.ts";
import { runTraining, type TrainingRunResult } from "./run_training.ts";
import { verdictsOf } from "./train_flow_classifier.ts";

const MODELS = new URL("../", import.meta.url).pathname;
const COMMITTED = join(MODELS, "flow_classifier.onnx");
const CAPTURES = join(MODELS, "captures");

const loadCommitted = () =>
  loadFlowScorer({
    modelPath: COMMITTED,
    expectedFeatureNames: FEATURE_NAMES,
    expectedFeatureVersion: FEATURE_VERSION,
  });

Deno.test("the committed model loads with the code's FEATURE_NAMES and FEATURE_VERSION", async (t) => {
  const scorer = await loadCommitted();
  try {
    const sidecar = JSON.parse(await Deno.readTextFile(join(MODELS, "flow_classifier.json")));
    assert.equal(scorer.featureVersion, FEATURE_VERSION);
    assert.deepEqual(scorer.featureNames, FEATURE_NAMES);
    assert.deepEqual([...scorer.classes].sort(), [...TRAFFIC_CLASSES].sort());
    assert.equal(scorer.modelVersion, sidecar.modelVersion);
    assert.match(
      scorer.modelVersion,
      new RegExp(`^flow-rf-\\d+\\.${FEATURE_VERSION}-[0-9a-f]{8}-s\\d+$`),
    );
    const metrics = scorer.metrics as { heldOut: { macroF1: number } };
    assert.ok(metrics.heldOut.macroF1 > 0);
    assert.ok(scorer.calibration !== null, "the model carries its score calibration");
    const alertMinScore = configDefault("alertMinScore");
    assert.equal(
      alertMinScore,
      scorer.calibration.decisionThreshold,
      "the default ALERT_MIN_SCORE in shared/config.ts is the model's decision threshold: set it to the threshold `deno task train` printed, and regenerate the README table",
    );
    const [verdict] = await scorer.score([new Float32Array(FEATURE_NAMES.length)]);
    assert.ok(verdict.score >= 0 && verdict.score <= 1);
  } finally {
    await scorer.close();
  }
  await t.step("and a model of another feature version is refused", async () => {
    await assert.rejects(
      () =>
        loadFlowScorer({
          modelPath: COMMITTED,
          expectedFeatureNames: FEATURE_NAMES,
          expectedFeatureVersion: FEATURE_VERSION + 1,
        }),
      /retrain with `deno task train`/,
    );
  });
});

Deno.test({
  name: "deno task train reproduces the committed model, and onnxruntime agrees with the trainer",
  // Training reads the team kit's benign captures; without the kit there is nothing to compare.
  ignore: findTeamKit() === null,
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "committed-model-test-" });
  try {
    const fresh = join(dir, "flow_classifier.onnx");
    // The function behind `deno task train`; `--check` compares its output the same way.
    const run: TrainingRunResult = await runTraining({ capturesDir: CAPTURES, outPath: fresh });
    const allRows = run.rows.X;

    await t.step("the model, its sidecar, its card and its covers are byte-identical", async () => {
      const result = await compareFlowModels(COMMITTED, fresh, { rows: allRows });
      assert.equal(result.verdict, "identical", result.message);
      assert.match(result.files[3].path, /flow_classifier\.covers\.json$/);
      assert.ok(result.ok);
    });

    await t.step(
      "onnxruntime on the committed model gives the trainer's probabilities, scores and labels",
      async () => {
        const { forest } = run.training.shipped;
        const validation = run.datasets.kit.flatMap((c) => c.attack);
        // Every training row and every kit attack flow: the calibrated labels of both sides agree.
        const rows = [...allRows, ...validation];
        assert.ok(rows.length > 10_000);
        const expected = predictBatch(forest, rows);
        const verdicts = verdictsOf(
          expected.probabilities,
          forest.classes,
          run.training.calibration,
          rows,
        );
        const scorer = await loadCommitted();
        try {
          const got = await scorer.score(rows);
          assert.deepEqual([...scorer.classes], forest.classes);
          assert.deepEqual(scorer.calibration, run.training.calibration);
          for (let i = 0; i < rows.length; i++) {
            assert.deepEqual(got[i].probabilities, expected.probabilities[i], `row ${i}`);
            assert.equal(got[i].score, verdicts[i].score, `row ${i}`);
            assert.equal(got[i].label, verdicts[i].label, `row ${i}`);
          }
        } finally {
          await scorer.close();
        }
      },
    );

    const copy = async (name: string) => {
      const to = join(dir, name);
      await Deno.mkdir(to);
      const files = [
        "flow_classifier.onnx",
        "flow_classifier.json",
        MODEL_CARD_NAME,
        "flow_classifier.covers.json",
      ];
      for (const f of files) {
        await Deno.copyFile(join(dir, f), join(to, f));
      }
      return join(to, "flow_classifier.onnx");
    };
    const saveAs = async (name: string, forest = run.training.shipped.forest, version?: string) => {
      const path = await copy(name);
      await saveFlowModel(path, forest, {
        featureNames: FEATURE_NAMES,
        featureVersion: FEATURE_VERSION,
        modelVersion: version ?? run.sidecar.modelVersion,
        trainingDataSha256: run.sidecar.trainingDataSha256,
        metrics: run.sidecar.metrics,
        calibration: run.training.calibration,
      });
      return path;
    };

    await t.step("--check refuses a stale sidecar or card", async () => {
      const path = await copy("stale");
      const card = join(dir, "stale", MODEL_CARD_NAME);
      await Deno.writeTextFile(card, (await Deno.readTextFile(card)).replace("0.", "1."));
      const result = await compareFlowModels(path, fresh, { rows: allRows });
      assert.equal(result.verdict, "stale_metadata");
      assert.ok(!result.ok);
      assert.match(result.message, /MODEL_CARD\.md differ/);
    });

    await t.step("--check accepts other ONNX bytes that predict the same", async () => {
      const path = await saveAs("renamed", undefined, "another-version-string");
      const result = await compareFlowModels(path, fresh, { rows: allRows });
      assert.equal(result.verdict, "same_predictions", result.message);
      assert.ok(result.ok);
      assert.equal(result.predictionMismatches, 0);
      assert.equal(result.rowsCompared, allRows.length);
    });

    await t.step("--check refuses a model that predicts differently", async () => {
      const other = trainRandomForest(allRows, run.rows.y, {
        treeCount: 3,
        maxDepth: 3,
        seed: 9,
      });
      const path = await saveAs("other", other);
      const result = await compareFlowModels(path, fresh, { rows: allRows });
      assert.equal(result.verdict, "different");
      assert.ok(!result.ok);
      assert.ok(result.predictionMismatches! > 0);
      assert.match(result.message, /predicts differently on \d+ of \d+ flows/);
    });

    await t.step("--check refuses when there is no committed model", async () => {
      const result = await compareFlowModels(join(dir, "none", "flow_classifier.onnx"), fresh, {
        rows: allRows,
      });
      assert.equal(result.verdict, "missing");
      assert.ok(!result.ok);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
