/**
 * Loads the flow classifier (`X.onnx` plus its `X.json` sidecar) into
 * onnxruntime and scores feature vectors in batches.
 *
 * Loading refuses a model that does not fit the running code: another
 * feature version, other feature names or order, a sidecar that belongs to
 * another `.onnx` file. A wrong model would not crash; it would silently
 * score garbage, which is worse.
 *
 * Needs `--allow-ffi` (onnxruntime-node's native addon) and `--allow-read`
 * for the model's folder; nothing else (checked with `--no-prompt` on
 * onnxruntime-node 1.30).
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { flowVerdict, type ScoreCalibration } from "@traffic-analyzer/shared/flow";
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import {
  type FeatureContribution,
  type FlowExplainer,
  loadFlowExplainer,
  treeCoversPathFor,
} from "@traffic-analyzer/shared/explain";
import { type ModelSidecar, parseSidecar, sidecarPath } from "./_model_sidecar.ts";
import { ScorerLoadError } from "./scorer_load_error.ts";

const log = getLogger([LOG_ROOT, "aggregator", "scorer"]);

/** Graph input name the exporter writes (models/ml/onnx_export.ts). */
const INPUT_NAME = "features";
/** Graph output with the predicted label per row. */
const LABEL_OUTPUT = "label";
/** Graph output with the class probabilities per row. */
const PROBABILITIES_OUTPUT = "probabilities";

/** Options for {@linkcode loadFlowScorer}. */
export interface LoadFlowScorerOptions {
  /** Path of the `.onnx` model; its sidecar is the same path ending in `.json`. */
  modelPath: string;
  /** Feature names the code computes, in order (`FEATURE_NAMES`). */
  expectedFeatureNames: readonly string[];
  /** Feature version the code computes (`FEATURE_VERSION`). */
  expectedFeatureVersion: number;
  /**
   * Label of harmless traffic; `score` is the probability of any other class.
   * @default "benign"
   */
  benignLabel?: string;
  /** Rows per onnxruntime call. @default 4096 */
  batchSize?: number;
  /**
   * Threads onnxruntime may use within one call; 0 lets it pick (one per core).
   * @default 0
   */
  threads?: number;
}

/** The scorer's verdict on one flow (see `flowVerdict` in shared/flow). */
export interface FlowScore {
  /**
   * The most probable attack class when `score` reaches the model's decision
   * threshold, else the benign label (a model without calibration: the most
   * probable class).
   */
  label: string;
  /**
   * Calibrated probability that the flow is an attack, in [0, 1]: the
   * model's isotonic table applied to 1 - P(benign). One comparable number
   * for every flow, whatever attack class it resembles, so flows can be
   * sorted and thresholded by it; `label` says which class.
   */
  score: number;
  /** Probability of each class, ordered like {@linkcode OnnxFlowScorer.classes}. */
  probabilities: Float32Array;
  /**
   * The five features that moved `score` most (exact TreeSHAP of the raw
   * forest output, see shared/explain), for a flow scored at least
   * `explainMinScore`; null otherwise, or when the model has no covers file.
   */
  explanation: FeatureContribution[] | null;
}

/** Options for {@linkcode OnnxFlowScorer.score}. */
export interface ScoreOptions {
  /**
   * Explain every flow whose score is at least this (ALERT_MIN_SCORE);
   * `null` explains none. @default null
   */
  explainMinScore?: number | null;
  /**
   * Explain at most this many flows in the call, the highest scores first
   * (an explanation costs a few hundred times a score: see the bench); the
   * others get null. `null` for no limit. @default null
   */
  explainMaxFlows?: number | null;
}

/** A loaded model, ready to score. */
export interface OnnxFlowScorer {
  /** Version of the model, stored with every scored flow. */
  readonly modelVersion: string;
  /** Feature version the model was trained on. */
  readonly featureVersion: number;
  /** Feature names in input order. */
  readonly featureNames: readonly string[];
  /** Class labels, in probability order. */
  readonly classes: readonly string[];
  /** Label treated as harmless. */
  readonly benignLabel: string;
  /** Hex SHA-256 of the training data, as recorded in the sidecar ("" if absent). */
  readonly trainingDataSha256: string;
  /** Held-out metrics recorded with the model. */
  readonly metrics: Readonly<Record<string, unknown>>;
  /** The score calibration and decision threshold, or null for an uncalibrated model. */
  readonly calibration: Readonly<ScoreCalibration> | null;
  /** Whether the model came with its tree covers, so flows can be explained. */
  readonly explains: boolean;
  /**
   * Scores feature vectors, one result per row in order, calling onnxruntime
   * once per `batchSize` rows. Each row must have `featureNames.length` values.
   */
  score(rows: readonly Float32Array[], options?: ScoreOptions): Promise<FlowScore[]>;
  /** Releases the onnxruntime session. */
  close(): Promise<void>;
}

async function readOrExplain(
  path: string,
  modelPath: string,
  reason: "missing_model" | "missing_sidecar",
): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      const what = reason === "missing_model"
        ? "No flow model"
        : "No sidecar (.json) for the flow model";
      throw new ScorerLoadError(
        `${what} at ${path}: train one with \`deno task train\`, or point the model path at an existing model`,
        { reason, modelPath, cause: e },
      );
    }
    throw new ScorerLoadError(`Cannot read ${path}: ${(e as Error).message}`, {
      reason,
      modelPath,
      cause: e,
    });
  }
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((n) => JSON.stringify(n)).join(", ");
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/** Says how the model's feature list differs from the code's, or null when equal. */
function describeFeatureDifference(
  model: readonly string[],
  code: readonly string[],
): string | null {
  const inModel = new Set(model);
  const inCode = new Set(code);
  const parts: string[] = [];
  if (model.length !== code.length) {
    parts.push(`the model reads ${model.length} features, the code computes ${code.length}`);
  }
  const missing = code.filter((n) => !inModel.has(n));
  const extra = model.filter((n) => !inCode.has(n));
  if (missing.length > 0) parts.push(`the model lacks ${list(missing)}`);
  if (extra.length > 0) parts.push(`the code no longer computes ${list(extra)}`);
  if (parts.length === 0) {
    const i = model.findIndex((n, k) => n !== code[k]);
    if (i < 0) return null;
    parts.push(
      `same features in another order: position ${i} is ${JSON.stringify(model[i])} in the model, ${
        JSON.stringify(code[i])
      } in the code`,
    );
  }
  return parts.join("; ");
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function checkSession(session: ort.InferenceSession, sidecar: ModelSidecar): string | null {
  if (!session.inputNames.includes(INPUT_NAME)) {
    return `it has no input "${INPUT_NAME}" (inputs: ${list(session.inputNames)})`;
  }
  for (const out of [LABEL_OUTPUT, PROBABILITIES_OUTPUT]) {
    if (!session.outputNames.includes(out)) {
      return `it has no output "${out}" (outputs: ${list(session.outputNames)})`;
    }
  }
  const input = session.inputMetadata.find((m) => m.name === INPUT_NAME);
  if (input?.isTensor) {
    const width = input.shape[1];
    if (input.type !== "float32" || input.shape.length !== 2) {
      return `its input "${INPUT_NAME}" is ${input.type} of rank ${input.shape.length}, not float32 [N, F]`;
    }
    if (typeof width === "number" && width !== sidecar.featureNames.length) {
      return `its input takes ${width} features but the sidecar lists ${sidecar.featureNames.length}`;
    }
  }
  return null;
}

/**
 * The explainer of a checked model, from its trees and its `X.covers.json`;
 * null (with a warning) when the covers file is missing, since a model
 * without covers still scores. Covers of another model are refused.
 */
async function loadExplainer(
  modelPath: string,
  modelBytes: Uint8Array,
  sidecar: ModelSidecar,
  benignLabel: string,
): Promise<FlowExplainer | null> {
  let explainer: FlowExplainer | null;
  try {
    explainer = await loadFlowExplainer(modelPath, {
      featureNames: sidecar.featureNames,
      benignLabel,
      onnxSha256: sidecar.onnxSha256,
      onnxBytes: modelBytes,
    });
  } catch (e) {
    throw new ScorerLoadError(
      `The tree covers beside the flow model ${modelPath} cannot be used (${
        (e as Error).message
      }): copy the model's files together, or retrain with \`deno task train\``,
      { reason: "invalid_covers", modelPath, cause: e },
    );
  }
  if (explainer === null) {
    log.warn(
      "No tree covers at {coversPath}: alerts will carry no explanation (retrain with " +
        "`deno task train` to write them)",
      { coversPath: treeCoversPathFor(modelPath) },
    );
  }
  return explainer;
}

/**
 * Loads and checks a flow model and opens an onnxruntime session on it.
 *
 * @throws {ScorerLoadError} when a file is missing, the sidecar is invalid or
 * does not match the `.onnx` file, the model's features or feature version
 * differ from the expected ones, the model has no benign class, the tree
 * covers beside it belong to another model, or onnxruntime rejects the
 * model. A missing covers file only turns explanations off.
 *
 * @example
 * ```ts
 * import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
 * const scorer = await loadFlowScorer({
 *   modelPath: "models/flow_classifier.onnx",
 *   expectedFeatureNames: FEATURE_NAMES,
 *   expectedFeatureVersion: FEATURE_VERSION,
 * });
 * const [verdict] = await scorer.score([featureVector]);
 * await scorer.close();
 * ```
 */
export async function loadFlowScorer(options: LoadFlowScorerOptions): Promise<OnnxFlowScorer> {
  const { modelPath, expectedFeatureNames, expectedFeatureVersion } = options;
  const batchSize = options.batchSize ?? 4096;
  const threads = options.threads ?? 0;
  const benignLabel = options.benignLabel ?? "benign";
  if (typeof modelPath !== "string" || !modelPath.endsWith(".onnx")) {
    throw new RangeError(
      `Cannot load a flow model as 'modelPath' must end in .onnx: current value is ${modelPath}`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot load a flow model as 'batchSize' must be an integer >= 1: current value is ${batchSize}`,
    );
  }
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(
      `Cannot load a flow model as 'threads' must be an integer >= 0: current value is ${threads}`,
    );
  }

  const modelBytes = await readOrExplain(modelPath, modelPath, "missing_model");
  const jsonPath = sidecarPath(modelPath);
  const jsonBytes = await readOrExplain(jsonPath, modelPath, "missing_sidecar");
  let sidecar: ModelSidecar;
  try {
    sidecar = parseSidecar(new TextDecoder().decode(jsonBytes));
  } catch (e) {
    throw new ScorerLoadError(
      `The flow model sidecar ${jsonPath} is invalid (${
        (e as Error).message
      }): retrain with \`deno task train\``,
      { reason: "invalid_sidecar", modelPath, cause: e },
    );
  }

  const featureDiff = describeFeatureDifference(sidecar.featureNames, expectedFeatureNames);
  if (sidecar.featureVersion !== expectedFeatureVersion) {
    throw new ScorerLoadError(
      `The flow model ${modelPath} was trained on feature version ${sidecar.featureVersion} but the code computes version ${expectedFeatureVersion}${
        featureDiff ? ` (${featureDiff})` : ""
      }: retrain with \`deno task train\``,
      { reason: "feature_version_mismatch", modelPath },
    );
  }
  if (featureDiff !== null) {
    throw new ScorerLoadError(
      `The flow model ${modelPath} does not read the features the code computes, although both say version ${expectedFeatureVersion}: ${featureDiff}. Retrain with \`deno task train\`, and bump FEATURE_VERSION whenever the feature list changes`,
      { reason: "feature_names_mismatch", modelPath },
    );
  }
  const benignIndex = sidecar.classes.indexOf(benignLabel);
  if (benignIndex < 0) {
    throw new ScorerLoadError(
      `The flow model ${modelPath} has no class ${JSON.stringify(benignLabel)} (classes: ${
        list(sidecar.classes)
      }), so it cannot tell how likely a flow is not benign: set 'benignLabel' or retrain`,
      { reason: "missing_benign_class", modelPath },
    );
  }
  const actualSha = await sha256Hex(modelBytes);
  if (actualSha !== sidecar.onnxSha256) {
    throw new ScorerLoadError(
      `The flow model ${modelPath} is not the file its sidecar ${jsonPath} describes (SHA-256 ${actualSha}, sidecar says ${sidecar.onnxSha256}): copy both files together, or retrain with \`deno task train\``,
      { reason: "checksum_mismatch", modelPath },
    );
  }

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      intraOpNumThreads: threads,
      extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
      executionProviders: ["cpu"],
      logSeverityLevel: 3,
    });
  } catch (e) {
    throw new ScorerLoadError(
      `onnxruntime cannot load the flow model ${modelPath}: ${(e as Error).message}`,
      { reason: "invalid_model", modelPath, cause: e },
    );
  }
  const problem = checkSession(session, sidecar);
  if (problem !== null) {
    await session.release();
    throw new ScorerLoadError(
      `The flow model ${modelPath} is not a flow classifier: ${problem}`,
      { reason: "invalid_model", modelPath },
    );
  }

  const explainer = await loadExplainer(modelPath, modelBytes, sidecar, benignLabel);
  const featureCount = sidecar.featureNames.length;
  const classCount = sidecar.classes.length;
  const classes = Object.freeze([...sidecar.classes]);
  const calibration = sidecar.calibration ?? null;
  const featureNames = Object.freeze([...sidecar.featureNames]);

  async function scoreBatch(rows: readonly Float32Array[], out: FlowScore[]): Promise<void> {
    const input = new Float32Array(rows.length * featureCount);
    rows.forEach((row, i) => input.set(row, i * featureCount));
    const result = await session.run({
      [INPUT_NAME]: new ort.Tensor("float32", input, [rows.length, featureCount]),
    });
    const probabilitiesTensor = result[PROBABILITIES_OUTPUT];
    const probabilities = probabilitiesTensor.data as Float32Array;
    const stride = probabilitiesTensor.dims[1];
    for (let i = 0; i < rows.length; i++) {
      const p = probabilities.slice(i * stride, i * stride + classCount);
      const verdict = flowVerdict(p, { classes, benignIndex, calibration, features: rows[i] });
      out.push({ label: verdict.label, score: verdict.score, probabilities: p, explanation: null });
    }
    result[LABEL_OUTPUT].dispose();
    probabilitiesTensor.dispose();
  }

  return {
    modelVersion: sidecar.modelVersion,
    featureVersion: sidecar.featureVersion,
    featureNames,
    classes,
    benignLabel,
    trainingDataSha256: sidecar.trainingDataSha256 ?? "",
    metrics: sidecar.metrics ?? {},
    calibration,
    explains: explainer !== null,
    async score(rows: readonly Float32Array[], options: ScoreOptions = {}): Promise<FlowScore[]> {
      const explainMinScore = options.explainMinScore ?? null;
      const explainMaxFlows = options.explainMaxFlows ?? null;
      if (
        explainMaxFlows !== null && !(Number.isInteger(explainMaxFlows) && explainMaxFlows >= 0)
      ) {
        throw new RangeError(
          `Cannot score flows as 'explainMaxFlows' must be null or an integer >= 0: current value is ${explainMaxFlows}`,
        );
      }
      rows.forEach((row, i) => {
        if (row.length !== featureCount) {
          throw new RangeError(
            `Cannot score flows as every row must have ${featureCount} features: row ${i} has ${row.length}`,
          );
        }
      });
      const out: FlowScore[] = [];
      for (let start = 0; start < rows.length; start += batchSize) {
        await scoreBatch(rows.slice(start, start + batchSize), out);
      }
      if (explainer !== null && explainMinScore !== null) {
        const wanted: number[] = [];
        out.forEach((s, i) => {
          // An alert is an attack label at or above the minimum score.
          if (s.label !== benignLabel && s.score >= explainMinScore) wanted.push(i);
        });
        if (explainMaxFlows !== null && wanted.length > explainMaxFlows) {
          wanted.sort((a, b) => out[b].score - out[a].score || a - b);
          wanted.length = explainMaxFlows;
        }
        for (const i of wanted) out[i].explanation = explainer.top(rows[i]);
      }
      return out;
    },
    async close(): Promise<void> {
      await session.release();
    },
  };
}
