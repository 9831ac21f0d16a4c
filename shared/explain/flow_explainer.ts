/**
 * Explains the flow classifier's attack score with exact TreeSHAP: which
 * features pushed a flow's score up (or down), by how much, from the model's
 * expected score over its training data.
 *
 * What is explained is the raw forest output `score = 1 − P(benign)`, that is
 * the sum over the attack classes of the trees' averaged leaf distributions,
 * before any calibration applied after the model. Contributions add up:
 * `expectedValue + Σ contributions = score` for every flow.
 *
 * @module
 */

import { type OnnxTreeEnsemble, readOnnxTreeEnsemble } from "./onnx_tree_ensemble.ts";
import { parseTreeCovers, type TreeCovers, treeCoversPathFor } from "./tree_covers.ts";
import { type ExplainForest, type ExplainTree, TreeShapExplainer } from "./tree_shap.ts";

/** How many contributions are kept per explained flow. */
export const TOP_CONTRIBUTION_COUNT = 5;

/** One feature's share in a flow's score. */
export interface FeatureContribution {
  /** Feature name (see models/FEATURES.md). */
  feature: string;
  /** The flow's value of the feature, as the model read it (float32); null if not finite. */
  value: number | null;
  /** SHAP value: how much this feature moved the attack score from the expected score. */
  contribution: number;
}

/** Options for {@linkcode FlowExplainer.fromModel}. */
export interface FlowExplainerOptions {
  /** Feature names in the model's input order. */
  featureNames: readonly string[];
  /** Label of harmless traffic: every other class counts toward the score. @default "benign" */
  benignLabel?: string;
  /** Hex SHA-256 of the `.onnx` file the trees come from; the covers must name it. */
  onnxSha256: string;
}

/** The covers do not belong to the model, or the model cannot be explained. */
export class FlowExplainerError extends Error {
  /** Creates the error; `cause` is the underlying failure, if any. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FlowExplainerError";
  }
}

/**
 * Builds the forest whose output is the attack score: each leaf's value is
 * the share of its class weights on classes other than `benignLabel`.
 */
export function attackScoreForest(
  ensemble: OnnxTreeEnsemble,
  covers: TreeCovers,
  options: { featureCount: number; benignLabel: string },
): ExplainForest {
  const benign = ensemble.classLabels.indexOf(options.benignLabel);
  if (benign < 0) {
    throw new FlowExplainerError(
      `Cannot explain the model as it has no class ${JSON.stringify(options.benignLabel)}`,
    );
  }
  if (covers.trees.length !== ensemble.trees.length) {
    throw new FlowExplainerError(
      `Cannot explain the model as the covers list ${covers.trees.length} trees and the model has ${ensemble.trees.length}`,
    );
  }
  const C = ensemble.classLabels.length;
  const trees = ensemble.trees.map((tree, t): ExplainTree => {
    const n = tree.feature.length;
    if (covers.trees[t].length !== n) {
      throw new FlowExplainerError(
        `Cannot explain the model as the covers of tree ${t} list ${
          covers.trees[t].length
        } nodes and the tree has ${n}`,
      );
    }
    const value = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (tree.feature[i] >= 0) continue;
      let all = 0;
      for (let c = 0; c < C; c++) all += tree.classWeights[i * C + c];
      value[i] = all > 0 ? (all - tree.classWeights[i * C + benign]) / all : 0;
    }
    return {
      feature: tree.feature,
      threshold: tree.threshold,
      left: tree.left,
      right: tree.right,
      cover: covers.trees[t],
      value,
    };
  });
  return { featureCount: options.featureCount, trees };
}

/**
 * The `count` largest contributions by size (either sign), largest first,
 * ties by feature order, each with the flow's value of the feature.
 */
export function topContributions(
  contributions: ArrayLike<number>,
  x: ArrayLike<number>,
  featureNames: readonly string[],
  count: number = TOP_CONTRIBUTION_COUNT,
): FeatureContribution[] {
  const order = Array.from({ length: contributions.length }, (_, i) => i);
  order.sort((a, b) => Math.abs(contributions[b]) - Math.abs(contributions[a]) || a - b);
  return order.slice(0, count).map((i) => ({
    feature: featureNames[i],
    value: Number.isFinite(x[i]) ? x[i] : null,
    contribution: contributions[i],
  }));
}

/**
 * Explains the attack score of flows, exactly, with the model's own trees
 * and the covers file written beside it.
 *
 * @example
 * ```ts
 * const explainer = FlowExplainer.fromModel(readOnnxTreeEnsemble(onnxBytes), covers, {
 *   featureNames: FEATURE_NAMES,
 *   onnxSha256: sidecar.onnxSha256,
 * });
 * explainer.top(vector); // five { feature, value, contribution }
 * ```
 */
export class FlowExplainer {
  /** Feature names in input order. */
  readonly featureNames: readonly string[];
  /** The model's expected attack score over its training data (covers). */
  readonly expectedValue: number;
  readonly #shap: TreeShapExplainer;

  /** Wraps an explainable forest whose inputs are named `featureNames`. */
  constructor(forest: ExplainForest, featureNames: readonly string[]) {
    if (featureNames.length !== forest.featureCount) {
      throw new RangeError(
        `Cannot explain flows as 'featureNames' must have ${forest.featureCount} entries: current value has ${featureNames.length}`,
      );
    }
    this.#shap = new TreeShapExplainer(forest);
    this.featureNames = featureNames;
    this.expectedValue = this.#shap.expectedValue;
  }

  /**
   * An explainer for a loaded model: its trees, its covers (which must name
   * the same `.onnx` SHA-256), the attack classes being all but benign.
   *
   * @throws {FlowExplainerError} when the covers belong to another model or
   * do not fit its trees.
   */
  static fromModel(
    ensemble: OnnxTreeEnsemble,
    covers: TreeCovers,
    options: FlowExplainerOptions,
  ): FlowExplainer {
    if (covers.onnxSha256 !== options.onnxSha256) {
      throw new FlowExplainerError(
        `Cannot explain the model as its covers belong to another model file (SHA-256 ${covers.onnxSha256}, the model's is ${options.onnxSha256})`,
      );
    }
    const forest = attackScoreForest(ensemble, covers, {
      featureCount: options.featureNames.length,
      benignLabel: options.benignLabel ?? "benign",
    });
    try {
      return new FlowExplainer(forest, options.featureNames);
    } catch (cause) {
      throw new FlowExplainerError(
        `Cannot explain the model: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  /** Every feature's contribution to the attack score of `x`. */
  contributions(x: ArrayLike<number>): Float64Array {
    return this.#shap.explain(x);
  }

  /** The `count` largest contributions for `x` (see {@linkcode topContributions}). */
  top(x: ArrayLike<number>, count: number = TOP_CONTRIBUTION_COUNT): FeatureContribution[] {
    return topContributions(this.#shap.explain(x), x, this.featureNames, count);
  }
}

/** Options for {@linkcode loadFlowExplainer}. */
export interface LoadFlowExplainerOptions extends FlowExplainerOptions {
  /** The model's bytes, when the caller has read them already. @default read from `modelPath` */
  onnxBytes?: Uint8Array;
}

/**
 * The explainer of the model at `modelPath` (`X.onnx`), from its trees and
 * the `X.covers.json` beside it; null when there is no covers file (a model
 * still scores without one).
 *
 * @throws {FlowExplainerError} when the covers cannot be read or do not
 * belong to the model.
 *
 * @example
 * ```ts
 * const explainer = await loadFlowExplainer("models/flow_classifier.onnx", {
 *   featureNames: sidecar.featureNames,
 *   onnxSha256: sidecar.onnxSha256,
 * });
 * ```
 */
export async function loadFlowExplainer(
  modelPath: string,
  options: LoadFlowExplainerOptions,
): Promise<FlowExplainer | null> {
  const coversPath = treeCoversPathFor(modelPath);
  let text: string;
  try {
    text = await Deno.readTextFile(coversPath);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return null;
    throw new FlowExplainerError(`Cannot read ${coversPath}: ${(cause as Error).message}`, {
      cause,
    });
  }
  try {
    const bytes = options.onnxBytes ?? await Deno.readFile(modelPath);
    return FlowExplainer.fromModel(readOnnxTreeEnsemble(bytes), parseTreeCovers(text), options);
  } catch (cause) {
    if (cause instanceof FlowExplainerError) throw cause;
    throw new FlowExplainerError(
      `Cannot explain the model ${modelPath}: ${(cause as Error).message}`,
      { cause },
    );
  }
}
