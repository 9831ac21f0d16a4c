/**
 * Compares a committed flow model (its `.onnx`, `.json` sidecar and
 * `MODEL_CARD.md`) with a freshly trained one: byte for byte first, and when
 * the ONNX bytes differ, by the labels and probabilities both give through
 * onnxruntime, the runtime the aggregator scores with.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { treeCoversPathFor } from "@traffic-analyzer/shared/explain";
import { sidecarPathFor } from "../ml/mod.ts";

/** Name of the model card, written beside the model. */
export const MODEL_CARD_NAME = "MODEL_CARD.md";

/** Options for {@linkcode compareFlowModels}. */
export interface CompareFlowModelsOptions {
  /** Feature vectors to compare predictions on when the ONNX bytes differ. */
  rows: readonly Float32Array[];
}

/** How one committed file compares with the fresh one. */
export interface FileComparison {
  /** Path of the committed file. */
  path: string;
  /** The committed file does not exist. */
  missing: boolean;
  /** Both files have the same bytes. */
  identical: boolean;
}

/**
 * The outcome: `identical` (all three files byte for byte), `same_predictions`
 * (the ONNX bytes differ but both models give the same labels and
 * probabilities on every row), `stale_metadata` (same ONNX bytes, but the
 * sidecar or card differs), `different` (the models predict differently, or
 * the committed one cannot be loaded) or `missing` (no committed model).
 */
export type ComparisonVerdict =
  | "identical"
  | "same_predictions"
  | "stale_metadata"
  | "different"
  | "missing";

/** What {@linkcode compareFlowModels} found. */
export interface FlowModelComparison {
  /** True for `identical` and `same_predictions`. */
  ok: boolean;
  /** See {@linkcode ComparisonVerdict}. */
  verdict: ComparisonVerdict;
  /** The model, the sidecar, the card and the tree covers, in that order. */
  files: FileComparison[];
  /** Rows whose label or probabilities differ, when predictions were compared. */
  predictionMismatches: number | null;
  /** Rows compared, when predictions were compared. */
  rowsCompared: number | null;
  /** One paragraph for people: what differs and what to do. */
  message: string;
}

/** The model, its sidecar, its card and its tree covers. */
function modelFiles(modelPath: string): string[] {
  return [
    modelPath,
    sidecarPathFor(modelPath),
    join(dirname(modelPath), MODEL_CARD_NAME),
    treeCoversPathFor(modelPath),
  ];
}

async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Scores rows with both models through onnxruntime; returns how many rows differ. */
async function countPredictionMismatches(
  committedPath: string,
  freshPath: string,
  rows: readonly Float32Array[],
): Promise<number> {
  // Loaded only here: onnxruntime needs --allow-ffi, which plain training does not.
  const { loadFlowScorer } = await import("@traffic-analyzer/aggregator/scorer");
  const load = (modelPath: string) =>
    loadFlowScorer({
      modelPath,
      expectedFeatureNames: FEATURE_NAMES,
      expectedFeatureVersion: FEATURE_VERSION,
    });
  const committed = await load(committedPath);
  try {
    const fresh = await load(freshPath);
    try {
      if (committed.classes.join() !== fresh.classes.join()) return rows.length;
      const a = await committed.score(rows);
      const b = await fresh.score(rows);
      let mismatches = 0;
      for (let i = 0; i < rows.length; i++) {
        const pa = a[i].probabilities;
        const pb = b[i].probabilities;
        let same = a[i].label === b[i].label && pa.length === pb.length;
        for (let c = 0; same && c < pa.length; c++) same = Object.is(pa[c], pb[c]);
        if (!same) mismatches++;
      }
      return mismatches;
    } finally {
      await fresh.close();
    }
  } finally {
    await committed.close();
  }
}

/**
 * Compares the committed model at `committedPath` (with its sidecar and the
 * `MODEL_CARD.md` beside it) with the fresh one at `freshPath`. Predictions
 * are compared only when the ONNX bytes differ; that needs `--allow-ffi`.
 *
 * @example
 * ```ts
 * const result = await compareFlowModels("models/flow_classifier.onnx", "/tmp/x/flow_classifier.onnx", {
 *   rows: data.X,
 * });
 * if (!result.ok) console.error(result.message);
 * ```
 */
export async function compareFlowModels(
  committedPath: string,
  freshPath: string,
  options: CompareFlowModelsOptions,
): Promise<FlowModelComparison> {
  const committedPaths = modelFiles(committedPath);
  const freshPaths = modelFiles(freshPath);
  const files: FileComparison[] = [];
  for (let i = 0; i < committedPaths.length; i++) {
    const committed = await readOrNull(committedPaths[i]);
    const fresh = await Deno.readFile(freshPaths[i]);
    files.push({
      path: committedPaths[i],
      missing: committed === null,
      identical: committed !== null && sameBytes(committed, fresh),
    });
  }
  const base = { files, predictionMismatches: null, rowsCompared: null };
  const differing = files.filter((f) => !f.identical).map((f) => f.path);
  const retrain = "run `deno task train` and commit the model, its sidecar and the card together";
  if (files[0].missing) {
    return {
      ...base,
      ok: false,
      verdict: "missing",
      message: `No committed model at ${committedPath}: ${retrain}.`,
    };
  }
  if (differing.length === 0) {
    return {
      ...base,
      ok: true,
      verdict: "identical",
      message: `${committedPath}, its sidecar and its card reproduce byte for byte.`,
    };
  }
  if (files[0].identical) {
    return {
      ...base,
      ok: false,
      verdict: "stale_metadata",
      message: `${committedPath} reproduces, but ${
        differing.join(" and ")
      } differ from what training writes now: ${retrain}.`,
    };
  }
  const rows = options.rows;
  let mismatches: number;
  try {
    mismatches = await countPredictionMismatches(committedPath, freshPath, rows);
  } catch (e) {
    return {
      ...base,
      ok: false,
      verdict: "different",
      message:
        `${committedPath} differs from a fresh training run and cannot be loaded to compare predictions (${
          (e as Error).message
        }): ${retrain}.`,
    };
  }
  const compared = { predictionMismatches: mismatches, rowsCompared: rows.length };
  if (mismatches === 0) {
    return {
      ...base,
      ...compared,
      ok: true,
      verdict: "same_predictions",
      message: `${
        differing.join(", ")
      } differ from a fresh training run, but both models give identical labels and probabilities on all ${rows.length} flows.`,
    };
  }
  return {
    ...base,
    ...compared,
    ok: false,
    verdict: "different",
    message:
      `${committedPath} does not follow from the captures and the code: a fresh training run predicts differently on ${mismatches} of ${rows.length} flows: ${retrain}.`,
  };
}
