/**
 * Flow scoring with the ONNX flow classifier: load `X.onnx` and its `X.json`
 * sidecar, check them against the code's feature list and version, and score
 * feature vectors in batches through onnxruntime.
 *
 * @example
 * ```ts
 * import { loadFlowScorer } from "./scorer/mod.ts";
 * const scorer = await loadFlowScorer({
 *   modelPath: "models/flow_classifier.onnx",
 *   expectedFeatureNames: FEATURE_NAMES,
 *   expectedFeatureVersion: FEATURE_VERSION,
 * });
 * ```
 *
 * @module
 */

export {
  type FlowScore,
  loadFlowScorer,
  type LoadFlowScorerOptions,
  type OnnxFlowScorer,
  type ScoreOptions,
} from "./flow_scorer.ts";
export { ScorerLoadError, type ScorerLoadErrorReason } from "./scorer_load_error.ts";
export { loadFlowScorerInWorker, ScorerWorkerError } from "./worker_flow_scorer.ts";
