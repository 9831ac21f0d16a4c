/**
 * The exported ONNX model scores as the forest it was exported from: the
 * training side's check of onnx_export.ts through the aggregator's real
 * scorer (models/ may import the aggregator; the aggregator may not import
 * training code, so this test lives here).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadFlowScorer } from "@traffic-analyzer/aggregator/scorer";
import {
  type Forest,
  hashTrainingData,
  makeSyntheticDataset,
  predictBatch,
  saveFlowModel,
  trainRandomForest,
} from "./mod.ts";

const FEATURES = 8;
const FEATURE_NAMES = Array.from({ length: FEATURES }, (_, i) => `feature_${i}`);
const FEATURE_VERSION = 3;

interface TestModel {
  path: string;
  forest: Forest;
  heldOut: Float32Array[];
}

/** Trains a small forest whose first class is "benign" and saves it under `dir`. */
async function makeModel(
  dir: string,
  name: string,
  classes: number,
  seed = 1,
): Promise<TestModel> {
  const data = makeSyntheticDataset({
    rows: 1400,
    features: FEATURES,
    classes,
    noise: 1.5,
    nonFiniteRate: 0.02,
    seed,
  });
  const y = data.y.map((label) => (label === "class_0" ? "benign" : label));
  const X = data.X.slice(0, 900);
  const forest = trainRandomForest(X, y.slice(0, 900), { treeCount: 12, seed });
  const path = join(dir, `${name}.onnx`);
  await saveFlowModel(path, forest, {
    featureNames: FEATURE_NAMES,
    featureVersion: FEATURE_VERSION,
    modelVersion: `${name}-v1`,
    trainingDataSha256: await hashTrainingData(X, y.slice(0, 900)),
    metrics: { note: "test" },
  });
  return { path, forest, heldOut: data.X.slice(900) };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "flow_scorer_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadFlowScorer() scores exactly like the in-process forest on held-out rows", async (t) => {
  await withTempDir(async (dir) => {
    for (const classes of [2, 5]) {
      await t.step(`${classes} classes, batches of 64 with a short last batch`, async () => {
        const model = await makeModel(dir, `parity_${classes}`, classes, classes);
        const scorer = await loadFlowScorer({
          modelPath: model.path,
          expectedFeatureNames: FEATURE_NAMES,
          expectedFeatureVersion: FEATURE_VERSION,
          batchSize: 64,
        });
        try {
          assert.equal(model.heldOut.length % 64 === 0, false);
          const scored = await scorer.score(model.heldOut);
          const expected = predictBatch(model.forest, model.heldOut);
          assert.deepEqual(scorer.classes, model.forest.classes);
          assert.equal(scorer.modelVersion, `parity_${classes}-v1`);
          assert.equal(scored.length, model.heldOut.length);
          const benign = model.forest.classes.indexOf("benign");
          scored.forEach((s, i) => {
            assert.equal(s.label, expected.labels[i], `row ${i}`);
            assert.equal(s.probabilities.length, classes);
            for (let c = 0; c < classes; c++) {
              assert.ok(Math.abs(s.probabilities[c] - expected.probabilities[i][c]) <= 1e-6);
            }
            assert.equal(s.score, Math.fround(1 - expected.probabilities[i][benign]));
          });
        } finally {
          await scorer.close();
        }
      });
    }
    await t.step("probabilities agree bit for bit, on one thread or several", async () => {
      const model = await makeModel(dir, "bits", 4, 7);
      const expected = predictBatch(model.forest, model.heldOut);
      for (const threads of [1, 0]) {
        const scorer = await loadFlowScorer({
          modelPath: model.path,
          expectedFeatureNames: FEATURE_NAMES,
          expectedFeatureVersion: FEATURE_VERSION,
          threads,
        });
        try {
          const scored = await scorer.score(model.heldOut);
          scored.forEach((s, i) => assert.deepEqual(s.probabilities, expected.probabilities[i]));
        } finally {
          await scorer.close();
        }
      }
    });
  });
});
