/**
 * Test support: the committed flow classifier (`models/flow_classifier.onnx`,
 * data, not training code), loaded as the aggregator loads it, once per test
 * file. Loading builds an onnxruntime session and reads the model's TreeSHAP
 * covers, which costs more than most tests that score with it; tests that
 * only score share one scorer and leave it to this module to close.
 *
 * @module
 */
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { loadFlowScorer, type LoadFlowScorerOptions, type OnnxFlowScorer } from "./flow_scorer.ts";

/** Path of the committed model. */
export const COMMITTED_MODEL_PATH: string =
  new URL("../../models/flow_classifier.onnx", import.meta.url).pathname;

/** What the aggregator passes to {@linkcode loadFlowScorer} for the committed model. */
export const COMMITTED_MODEL_OPTIONS: LoadFlowScorerOptions = {
  modelPath: COMMITTED_MODEL_PATH,
  expectedFeatureNames: FEATURE_NAMES,
  expectedFeatureVersion: FEATURE_VERSION,
};

let shared: Promise<OnnxFlowScorer> | null = null;

// Closed after the file's last test, even when --filter runs none that loaded it.
Deno.test.afterAll(async () => {
  const scorer = shared;
  shared = null;
  await (await scorer?.catch(() => null))?.close();
});

/**
 * The committed model's scorer, loaded on first use and shared by every test
 * in the file. Callers must not close it.
 */
export function committedScorer(): Promise<OnnxFlowScorer> {
  return shared ??= loadFlowScorer(COMMITTED_MODEL_OPTIONS);
}
