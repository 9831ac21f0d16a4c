/**
 * The machine-learning core for flow scoring, in plain TypeScript: a
 * deterministic random-forest trainer on float32 feature matrices, in-process
 * prediction, metrics, group-aware train/test splits, and an ONNX exporter
 * whose model onnxruntime evaluates to exactly the same labels and
 * probabilities.
 *
 * @example
 * ```ts
 * import {
 *   classificationReport, hashTrainingData, predictBatch, saveFlowModel, splitByGroup,
 *   trainRandomForest,
 * } from "./models/ml/mod.ts";
 *
 * const { train, test } = splitByGroup(runIds, { testFraction: 0.25, seed: 1 });
 * const forest = trainRandomForest(train.map((i) => X[i]), train.map((i) => y[i]), { seed: 1 });
 * const predicted = predictBatch(forest, test.map((i) => X[i])).labels;
 * const report = classificationReport(test.map((i) => y[i]), predicted);
 * await saveFlowModel("models/flow_classifier.onnx", forest, {
 *   featureNames, featureVersion, modelVersion: "1",
 *   trainingDataSha256: await hashTrainingData(X, y, runIds),
 *   metrics: { macroF1: report.macroF1 },
 * });
 * ```
 *
 * @module
 */

export {
  type DecisionTree,
  type Forest,
  type ResolvedRandomForestOptions,
  unitsPerLeafFor,
  VOTE_UNIT,
  voteDivisor,
} from "./forest.ts";
export { type RandomForestOptions, trainRandomForest } from "./random_forest.ts";
export { type BatchPrediction, predictBatch, predictLabel, predictProba } from "./predict.ts";
export {
  type ClassificationReport,
  classificationReport,
  type ClassMetrics,
  type ConfusionMatrix,
  confusionMatrix,
  type MetricsOptions,
} from "./metrics.ts";
export { type GroupSplit, type GroupSplitOptions, splitByGroup } from "./group_split.ts";
export {
  exportForestToOnnx,
  ONNX_INPUT_NAME,
  ONNX_IR_VERSION,
  ONNX_LABEL_OUTPUT,
  ONNX_ML_OPSET,
  ONNX_OPSET,
  ONNX_PROBABILITIES_OUTPUT,
  onnxClassLabels,
  type OnnxExportOptions,
} from "./onnx_export.ts";
export { hashTrainingData, sha256Hex } from "./training_data_hash.ts";
export {
  FLOW_MODEL_SIDECAR_FORMAT,
  FLOW_MODEL_SIDECAR_FORMAT_VERSION,
  type FlowModelSidecar,
  saveFlowModel,
  type SaveFlowModelOptions,
  sidecarPathFor,
} from "./save_flow_model.ts";
export {
  makeSyntheticDataset,
  type SyntheticDataset,
  type SyntheticDatasetOptions,
} from "./synthetic_dataset.ts";
