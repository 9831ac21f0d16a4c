import assert from "node:assert/strict";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { loadFlowScorer } from "./flow_scorer.ts";
import { ScorerLoadError } from "./scorer_load_error.ts";
import { loadFlowScorerInWorker, ScorerWorkerError } from "./worker_flow_scorer.ts";
import { COMMITTED_MODEL_OPTIONS } from "./_committed_scorer.ts";

const options = COMMITTED_MODEL_OPTIONS;

/** Vectors spread over the features' ranges, some with non-finite values. */
function vectors(count: number, seed: number): Float32Array[] {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  return Array.from({ length: count }, () =>
    Float32Array.from(FEATURE_NAMES, () => {
      const r = random();
      return r < 0.01 ? NaN : r < 0.3 ? 0 : Math.exp(random() * 16) - 1;
    }));
}

Deno.test("loadFlowScorerInWorker() scores exactly like the scorer in this thread", async () => {
  const here = await loadFlowScorer(options);
  const there = await loadFlowScorerInWorker(options);
  try {
    assert.equal(there.modelVersion, here.modelVersion);
    assert.deepEqual(there.classes, here.classes);
    assert.deepEqual(there.featureNames, here.featureNames);
    // Several calls in flight at once come back each to its own caller.
    const inputs = [vectors(5000, 1), vectors(1, 2), vectors(0, 3), vectors(300, 4)];
    const results = await Promise.all(inputs.map((rows) => there.score(rows)));
    for (const [i, rows] of inputs.entries()) {
      const expected = await here.score(rows);
      assert.equal(results[i].length, rows.length);
      results[i].forEach((got, j) => {
        assert.equal(got.label, expected[j].label);
        assert.ok(Object.is(got.score, expected[j].score), `score of row ${j}`);
        assert.deepEqual([...got.probabilities], [...expected[j].probabilities]);
      });
    }
    await assert.rejects(() => there.score([new Float32Array(3)]), RangeError);
    // The worker still serves after a refused call.
    assert.equal((await there.score(vectors(2, 5))).length, 2);
  } finally {
    await here.close();
    await there.close();
  }
  await assert.rejects(() => there.score(vectors(1, 6)), ScorerWorkerError);
});

Deno.test("loadFlowScorerInWorker() refuses a model as loadFlowScorer() does", async () => {
  await assert.rejects(
    () => loadFlowScorerInWorker({ ...options, modelPath: "/nonexistent/model.onnx" }),
    (e: unknown) =>
      e instanceof ScorerLoadError && e.reason === "missing_model" &&
      e.modelPath === "/nonexistent/model.onnx",
  );
  await assert.rejects(
    () => loadFlowScorerInWorker({ ...options, expectedFeatureVersion: FEATURE_VERSION + 1 }),
    (e: unknown) => e instanceof ScorerLoadError && e.reason === "feature_version_mismatch",
  );
});
