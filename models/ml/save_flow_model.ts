/**
 * Writes a trained forest as the pair of files the aggregator's scorer loads:
 * `X.onnx` (the model) and `X.json` (its sidecar: feature names and order,
 * feature version, classes, model version, checksums, training settings and
 * metrics), plus `X.covers.json` (each tree node's cover, for TreeSHAP
 * explanations; format in shared/explain/tree_covers.ts). The scorer refuses a model whose features differ from the code's,
 * so the sidecar is the contract between training and scoring.
 *
 * Both files are byte-for-byte the same for the same forest and options (no
 * timestamps), so `deno task train` can reproduce a committed model exactly.
 *
 * @module
 */

import { formatTreeCovers, treeCoversPathFor } from "@traffic-analyzer/shared/explain";
import type { ScoreCalibration } from "@traffic-analyzer/shared/flow";
import type { Forest, ResolvedRandomForestOptions } from "./forest.ts";
import { exportForestToOnnx, onnxClassLabels } from "./onnx_export.ts";
import { sha256Hex } from "./training_data_hash.ts";

/** Value of {@linkcode FlowModelSidecar.format}. */
export const FLOW_MODEL_SIDECAR_FORMAT = "traffic-analyzer-flow-model";
/** Value of {@linkcode FlowModelSidecar.formatVersion}; bump on incompatible changes. */
export const FLOW_MODEL_SIDECAR_FORMAT_VERSION = 1;

/** Contents of the `X.json` sidecar next to `X.onnx`. */
export interface FlowModelSidecar {
  /** Always {@linkcode FLOW_MODEL_SIDECAR_FORMAT}. */
  format: typeof FLOW_MODEL_SIDECAR_FORMAT;
  /** Always {@linkcode FLOW_MODEL_SIDECAR_FORMAT_VERSION}. */
  formatVersion: typeof FLOW_MODEL_SIDECAR_FORMAT_VERSION;
  /** Version of the model, stored with every scored flow. */
  modelVersion: string;
  /** Version of the feature list the model was trained on. */
  featureVersion: number;
  /** Feature names in the order the model reads them. */
  featureNames: string[];
  /** Class labels; the first `classes.length` columns of the ONNX probabilities follow this order. */
  classes: string[];
  /** Labels of all ONNX probability columns (classes plus padding for two-class models). */
  onnxClasses: string[];
  /** Hex SHA-256 of the `.onnx` file, so a mismatched pair is caught. */
  onnxSha256: string;
  /** Hex SHA-256 of the training data (see `hashTrainingData`). */
  trainingDataSha256: string;
  /** How the model was trained. */
  training: {
    /** Always "random_forest" for now. */
    algorithm: "random_forest";
    /** Number of training rows. */
    rows: number;
    /** Trainer options with defaults filled in. */
    options: ResolvedRandomForestOptions;
    /** Tree nodes in total. */
    nodes: number;
  };
  /** Mean decrease in impurity per feature, keyed by feature name, in feature order. */
  featureImportances: Record<string, number>;
  /** Evaluation results (held-out metrics, the split used…), free-form JSON. */
  metrics: Record<string, unknown>;
  /** Score calibration and decision threshold the scorer applies (absent: raw scores, argmax labels). */
  calibration?: ScoreCalibration;
}

/** Options for {@linkcode saveFlowModel}. */
export interface SaveFlowModelOptions {
  /** Feature names in input order (`FEATURE_NAMES`). */
  featureNames: readonly string[];
  /** Version of the feature list (`FEATURE_VERSION`). */
  featureVersion: number;
  /** Version string of this model. */
  modelVersion: string;
  /** Hex SHA-256 of the training data, from `hashTrainingData`. */
  trainingDataSha256: string;
  /** Evaluation results to keep with the model. @default {} */
  metrics?: Record<string, unknown>;
  /** Score calibration for the scorer (see `flowVerdict`). @default {none: raw scores} */
  calibration?: ScoreCalibration;
}

/** The sidecar path of a model: `X.onnx` -> `X.json`. */
export function sidecarPathFor(onnxPath: string): string {
  if (!onnxPath.endsWith(".onnx")) {
    throw new RangeError(
      `Cannot name the model sidecar as the model path must end in .onnx: current value is ${onnxPath}`,
    );
  }
  return `${onnxPath.slice(0, -".onnx".length)}.json`;
}

/**
 * Exports `forest` to `onnxPath` and writes its sidecar beside it; returns
 * the sidecar.
 *
 * @example
 * ```ts
 * await saveFlowModel("models/flow_classifier.onnx", forest, {
 *   featureNames: FEATURE_NAMES,
 *   featureVersion: FEATURE_VERSION,
 *   modelVersion: "rf-2025-01",
 *   trainingDataSha256: await hashTrainingData(X, y, runIds),
 *   metrics: { macroF1: report.macroF1 },
 * });
 * ```
 */
export async function saveFlowModel(
  onnxPath: string,
  forest: Forest,
  options: SaveFlowModelOptions,
): Promise<FlowModelSidecar> {
  const jsonPath = sidecarPathFor(onnxPath);
  if (!Number.isInteger(options.featureVersion)) {
    throw new RangeError(
      `Cannot save the model as 'featureVersion' must be an integer: current value is ${options.featureVersion}`,
    );
  }
  const bytes = exportForestToOnnx(forest, {
    featureNames: options.featureNames,
    featureVersion: options.featureVersion,
    modelVersion: options.modelVersion,
  });
  const importances: Record<string, number> = {};
  options.featureNames.forEach((name, i) => (importances[name] = forest.featureImportances[i]));
  const sidecar: FlowModelSidecar = {
    format: FLOW_MODEL_SIDECAR_FORMAT,
    formatVersion: FLOW_MODEL_SIDECAR_FORMAT_VERSION,
    modelVersion: options.modelVersion,
    featureVersion: options.featureVersion,
    featureNames: [...options.featureNames],
    classes: [...forest.classes],
    onnxClasses: onnxClassLabels(forest),
    onnxSha256: await sha256Hex(bytes),
    trainingDataSha256: options.trainingDataSha256,
    training: {
      algorithm: "random_forest",
      rows: forest.trainingRows,
      options: forest.options,
      nodes: forest.trees.reduce((s, t) => s + t.feature.length, 0),
    },
    featureImportances: importances,
    metrics: options.metrics ?? {},
    ...(options.calibration ? { calibration: options.calibration } : {}),
  };
  await Deno.writeFile(onnxPath, bytes);
  await Deno.writeTextFile(jsonPath, JSON.stringify(sidecar, null, 2) + "\n");
  await Deno.writeTextFile(
    treeCoversPathFor(onnxPath),
    formatTreeCovers({
      modelVersion: sidecar.modelVersion,
      onnxSha256: sidecar.onnxSha256,
      trees: forest.trees.map((t) => t.cover),
    }),
  );
  return sidecar;
}
