import assert from "node:assert/strict";
import { join } from "node:path";
import { loadFlowScorer } from "./flow_scorer.ts";
import { ScorerLoadError, type ScorerLoadErrorReason } from "./scorer_load_error.ts";

// These tests use the committed model (data, not training code: the aggregator
// may not import models/ml or models/train) and read what they expect of it
// from its sidecar, so a retrained model keeps them true. That the exported
// model scores as the forest it came from is checked where forests are made:
// models/ml/onnx_scorer_parity_test.ts.
const COMMITTED = new URL("../../models/flow_classifier.onnx", import.meta.url).pathname;
const SIDECAR = JSON.parse(await Deno.readTextFile(COMMITTED.replace(/onnx$/, "json")));
const FEATURE_NAMES: string[] = SIDECAR.featureNames;
const FEATURES = FEATURE_NAMES.length;
const FEATURE_VERSION: number = SIDECAR.featureVersion;

/** Copies the committed model and its sidecar into `dir` as `name.onnx` and `name.json`. */
async function makeModel(dir: string, name: string): Promise<{ path: string }> {
  const path = join(dir, `${name}.onnx`);
  await Deno.copyFile(COMMITTED, path);
  await Deno.copyFile(COMMITTED.replace(/onnx$/, "json"), join(dir, `${name}.json`));
  return { path };
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
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

Deno.test("loadFlowScorer() exposes the sidecar's description of the model", async () => {
  await withTempDir(async (dir) => {
    const model = await makeModel(dir, "info");
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
      assert.deepEqual(scorer.metrics, sidecar.metrics);
      assert.deepEqual(await scorer.score([]), []);
      await assert.rejects(
        () => scorer.score([new Float32Array(FEATURES), new Float32Array(FEATURES - 1)]),
        new RegExp(`row 1 has ${FEATURES - 1}`),
      );
    } finally {
      await scorer.close();
    }
  });
});

Deno.test("loadFlowScorer() refuses models that do not fit the code, saying what differs", async (t) => {
  await withTempDir(async (dir) => {
    const model = await makeModel(dir, "flow_classifier");
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
        new RegExp(
          `trained on feature version ${FEATURE_VERSION} but the code computes version ${
            FEATURE_VERSION + 1
          }`,
        ),
      );
    });
    await t.step("a feature renamed", async () => {
      const names = FEATURE_NAMES.with(2, "renamed");
      await assertLoadError(
        { ...base, expectedFeatureNames: names },
        "feature_names_mismatch",
        new RegExp(`the model lacks "renamed"; the code no longer computes "${FEATURE_NAMES[2]}"`),
      );
    });
    await t.step("features reordered", async () => {
      const names = [FEATURE_NAMES[1], FEATURE_NAMES[0], ...FEATURE_NAMES.slice(2)];
      await assertLoadError(
        { ...base, expectedFeatureNames: names },
        "feature_names_mismatch",
        new RegExp(
          `another order: position 0 is "${FEATURE_NAMES[0]}" in the model, "${
            FEATURE_NAMES[1]
          }" in the code`,
        ),
      );
    });
    await t.step("a feature added", async () => {
      await assertLoadError(
        { ...base, expectedFeatureNames: [...FEATURE_NAMES, "extra"] },
        "feature_names_mismatch",
        new RegExp(
          `reads ${FEATURES} features, the code computes ${FEATURES + 1}; the model lacks "extra"`,
        ),
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
      await Deno.copyFile(model.path, join(dir, "swapped.onnx"));
      await Deno.writeTextFile(
        join(dir, "swapped.json"),
        JSON.stringify({ ...SIDECAR, onnxSha256: await sha256Hex(new Uint8Array(32)) }),
      );
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
