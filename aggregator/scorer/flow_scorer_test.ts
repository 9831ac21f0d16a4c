import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Forest,
  hashTrainingData,
  makeSyntheticDataset,
  predictBatch,
  saveFlowModel,
  sha256Hex,
  trainRandomForest,
} from "../../models/ml/mod.ts";
import { loadFlowScorer } from "./flow_scorer.ts";
import { ScorerLoadError, type ScorerLoadErrorReason } from "./scorer_load_error.ts";

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

async function assertLoadError(
  options: Parameters<typeof loadFlowScorer>[0],
  reason: ScorerLoadErrorReason,
  message: RegExp,
): Promise<void> {
  await assert.rejects(
    () => loadFlowScorer(options),
    (e: unknown) => {
      assert.ok(e instanceof ScorerLoadError, `expected ScorerLoadError, got ${e}`);
      assert.equal(e.name, "ScorerLoadError");
      assert.equal(e.reason, reason);
      assert.equal(e.modelPath, options.modelPath);
      assert.match(e.message, message);
      return true;
    },
  );
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

Deno.test("loadFlowScorer() exposes the sidecar's description of the model", async () => {
  await withTempDir(async (dir) => {
    const model = await makeModel(dir, "info", 3);
    const sidecar = JSON.parse(await Deno.readTextFile(join(dir, "info.json")));
    const scorer = await loadFlowScorer({
      modelPath: model.path,
      expectedFeatureNames: FEATURE_NAMES,
      expectedFeatureVersion: FEATURE_VERSION,
    });
    try {
      assert.deepEqual(scorer.featureNames, FEATURE_NAMES);
      assert.equal(scorer.featureVersion, FEATURE_VERSION);
      assert.equal(scorer.benignLabel, "benign");
      assert.equal(scorer.trainingDataSha256, sidecar.trainingDataSha256);
      assert.deepEqual(scorer.metrics, { note: "test" });
      assert.deepEqual(await scorer.score([]), []);
      await assert.rejects(
        () => scorer.score([new Float32Array(FEATURES), new Float32Array(FEATURES - 1)]),
        /row 1 has 7/,
      );
    } finally {
      await scorer.close();
    }
  });
});

Deno.test("loadFlowScorer() refuses models that do not fit the code, saying what differs", async (t) => {
  await withTempDir(async (dir) => {
    const model = await makeModel(dir, "flow_classifier", 3);
    const base = {
      modelPath: model.path,
      expectedFeatureNames: FEATURE_NAMES,
      expectedFeatureVersion: FEATURE_VERSION,
    };

    await t.step("missing model file: says how to train one", async () => {
      await assertLoadError(
        { ...base, modelPath: join(dir, "nope.onnx") },
        "missing_model",
        /No flow model at .*nope\.onnx: train one with `deno task train`/,
      );
    });
    await t.step("missing sidecar", async () => {
      await Deno.copyFile(model.path, join(dir, "lonely.onnx"));
      await assertLoadError(
        { ...base, modelPath: join(dir, "lonely.onnx") },
        "missing_sidecar",
        /lonely\.json.*deno task train/,
      );
    });
    await t.step("feature version differs", async () => {
      await assertLoadError(
        { ...base, expectedFeatureVersion: FEATURE_VERSION + 1 },
        "feature_version_mismatch",
        /trained on feature version 3 but the code computes version 4/,
      );
    });
    await t.step("a feature renamed", async () => {
      const names = FEATURE_NAMES.with(2, "renamed");
      await assertLoadError(
        { ...base, expectedFeatureNames: names },
        "feature_names_mismatch",
        /the model lacks "renamed"; the code no longer computes "feature_2"/,
      );
    });
    await t.step("features reordered", async () => {
      const names = [FEATURE_NAMES[1], FEATURE_NAMES[0], ...FEATURE_NAMES.slice(2)];
      await assertLoadError(
        { ...base, expectedFeatureNames: names },
        "feature_names_mismatch",
        /another order: position 0 is "feature_0" in the model, "feature_1" in the code/,
      );
    });
    await t.step("a feature added", async () => {
      await assertLoadError(
        { ...base, expectedFeatureNames: [...FEATURE_NAMES, "extra"] },
        "feature_names_mismatch",
        /reads 8 features, the code computes 9; the model lacks "extra"/,
      );
    });
    await t.step("no benign class", async () => {
      await assertLoadError(
        { ...base, benignLabel: "normal" },
        "missing_benign_class",
        /no class "normal"/,
      );
    });
    await t.step("sidecar of another model", async () => {
      const other = await makeModel(dir, "other", 3, 99);
      await Deno.copyFile(model.path, join(dir, "swapped.onnx"));
      await Deno.copyFile(other.path.replace(/onnx$/, "json"), join(dir, "swapped.json"));
      await assertLoadError(
        { ...base, modelPath: join(dir, "swapped.onnx") },
        "checksum_mismatch",
        /not the file its sidecar .*swapped\.json describes/,
      );
    });
    await t.step("sidecar that is not JSON", async () => {
      await Deno.copyFile(model.path, join(dir, "garbled.onnx"));
      await Deno.writeTextFile(join(dir, "garbled.json"), "{ not json");
      await assertLoadError(
        { ...base, modelPath: join(dir, "garbled.onnx") },
        "invalid_sidecar",
        /garbled\.json is invalid/,
      );
    });
    await t.step("sidecar of another format", async () => {
      const sidecar = JSON.parse(await Deno.readTextFile(join(dir, "flow_classifier.json")));
      await Deno.copyFile(model.path, join(dir, "future.onnx"));
      await Deno.writeTextFile(
        join(dir, "future.json"),
        JSON.stringify({ ...sidecar, formatVersion: 2 }),
      );
      await assertLoadError(
        { ...base, modelPath: join(dir, "future.onnx") },
        "invalid_sidecar",
        /formatVersion/,
      );
    });
    await t.step("model file onnxruntime cannot parse", async () => {
      const junk = new TextEncoder().encode("not an onnx model");
      const sidecar = JSON.parse(await Deno.readTextFile(join(dir, "flow_classifier.json")));
      await Deno.writeFile(join(dir, "junk.onnx"), junk);
      await Deno.writeTextFile(
        join(dir, "junk.json"),
        JSON.stringify({ ...sidecar, onnxSha256: await sha256Hex(junk) }),
      );
      await assertLoadError(
        { ...base, modelPath: join(dir, "junk.onnx") },
        "invalid_model",
        /onnxruntime cannot load/,
      );
    });
    await t.step("bad options", async () => {
      await assert.rejects(() => loadFlowScorer({ ...base, modelPath: "model.bin" }), RangeError);
      await assert.rejects(() => loadFlowScorer({ ...base, batchSize: 0 }), /'batchSize'/);
    });
  });
});
