/**
 * The trained model as plain typed arrays: what the trainer produces, what
 * {@linkcode predictProba} walks in-process and what the ONNX exporter writes.
 *
 * ## Why leaf votes are integers
 *
 * Each leaf stores its class distribution as integer "units" summing to
 * exactly {@linkcode Forest.unitsPerLeaf}, a power of two chosen so that
 * `treeCount * unitsPerLeaf <= 2^24`. A unit is worth {@linkcode VOTE_UNIT}
 * (2^-24), so every partial sum of votes is an integer multiple of 2^-24 no
 * larger than 1, which float32 holds exactly. Summing the trees in any order,
 * on any number of threads (onnxruntime splits trees across threads and
 * merges), gives the same bits. The average is then one correctly rounded
 * float32 division by {@linkcode voteDivisor}, which JavaScript reproduces
 * exactly. That is what lets the ONNX model and this code agree on labels and
 * probabilities bit for bit, ties included.
 *
 * @module
 */

/** Value of one vote unit in the exported model: 2^-24. */
export const VOTE_UNIT = 2 ** -24;

/** One CART classification tree, nodes indexed from 0 (the root). */
export interface DecisionTree {
  /** Split feature of each node; -1 marks a leaf. */
  feature: Int32Array;
  /** Float32 threshold of each branch node; 0 on leaves. */
  threshold: Float32Array;
  /** Child taken when `x[feature] <= threshold` (ONNX BRANCH_LEQ's true branch); -1 on leaves. */
  left: Int32Array;
  /** Child taken otherwise, NaN included; -1 on leaves. */
  right: Int32Array;
  /** For a leaf, its row in `leafUnits`; -1 on branch nodes. */
  leafIndex: Int32Array;
  /** Leaf class distributions: `leafUnits[leaf * classes.length + c]`, each leaf summing to `unitsPerLeaf`. */
  leafUnits: Uint32Array;
  /**
   * Cover of each node: how many bootstrap draws of training rows reached it
   * (a row drawn twice counts twice; class weights do not count). A branch's
   * cover is the sum of its children's. Exact TreeSHAP weighs the two sides
   * of a split by it (see shared/explain/tree_shap.ts).
   */
  cover: Uint32Array;
}

/** Training settings with every default filled in, kept with the model. */
export interface ResolvedRandomForestOptions {
  /** Number of trees. */
  treeCount: number;
  /** Deepest level a node may sit at (root = 0); `null` for no limit. */
  maxDepth: number | null;
  /** Fewest rows a node needs to be split. */
  minSamplesSplit: number;
  /** Fewest rows each child of a split must keep. */
  minSamplesLeaf: number;
  /** Candidate features drawn per split. */
  maxFeatures: number;
  /** Most bins per feature. */
  maxBins: number;
  /** Whether each tree sees a bootstrap sample. */
  bootstrap: boolean;
  /** Bootstrap draws per tree as a fraction of the rows. */
  maxSamplesFraction: number;
  /** Weight of each class, in `classes` order. */
  classWeights: number[];
  /** PRNG seed. */
  seed: number;
}

/** A random forest of CART classification trees. */
export interface Forest {
  /** Class labels, sorted; probability vectors follow this order. */
  classes: string[];
  /** Length of the feature vectors the forest reads. */
  featureCount: number;
  /** Units each leaf distributes among the classes (a power of two). */
  unitsPerLeaf: number;
  /** The trees. */
  trees: DecisionTree[];
  /** Mean decrease in Gini impurity per feature, normalised per tree, summing to 1 (0s if no tree split). */
  featureImportances: Float64Array;
  /** How the forest was trained. */
  options: ResolvedRandomForestOptions;
  /** Number of training rows. */
  trainingRows: number;
}

/**
 * Units per leaf for a forest of `treeCount` trees: the largest power of two
 * with `treeCount * units <= 2^24`.
 */
export function unitsPerLeafFor(treeCount: number): number {
  let shift = 0;
  while (2 ** shift < treeCount) shift++;
  return 2 ** (24 - shift);
}

/**
 * The float32 the summed votes are divided by to give probabilities:
 * `treeCount * unitsPerLeaf * 2^-24`, exact in float32.
 */
export function voteDivisor(forest: Pick<Forest, "trees" | "unitsPerLeaf">): number {
  return forest.trees.length * forest.unitsPerLeaf * VOTE_UNIT;
}
