/**
 * In-process prediction with a trained {@linkcode Forest}. It computes exactly
 * what the exported ONNX model computes (see forest.ts for why the bits
 * agree), so it serves as the reference in parity tests and for evaluation
 * during training without a native runtime.
 *
 * @module
 */

import { type Forest, VOTE_UNIT, voteDivisor } from "./forest.ts";

/**
 * A forest flattened for prediction: four 32-bit words per node
 * (feature, threshold bits, true child, false child) in one buffer, so a walk
 * down a tree touches one cache line per node instead of four arrays.
 * A leaf stores `-1 - row` in the feature word, `row` indexing `leafUnits`.
 */
interface CompiledForest {
  words: Int32Array;
  thresholds: Float32Array;
  roots: Int32Array;
  leafUnits: Uint32Array;
}

const WORDS_PER_NODE = 4;
const compiledForests = new WeakMap<Forest, CompiledForest>();

function compile(forest: Forest): CompiledForest {
  const cached = compiledForests.get(forest);
  if (cached) return cached;
  const C = forest.classes.length;
  let nodeTotal = 0;
  let leafTotal = 0;
  for (const tree of forest.trees) {
    nodeTotal += tree.feature.length;
    leafTotal += tree.leafUnits.length;
  }
  const words = new Int32Array(nodeTotal * WORDS_PER_NODE);
  const thresholds = new Float32Array(words.buffer);
  const roots = new Int32Array(forest.trees.length);
  const leafUnits = new Uint32Array(leafTotal);
  let nodeBase = 0;
  let leafBase = 0;
  forest.trees.forEach((tree, t) => {
    roots[t] = nodeBase;
    for (let i = 0; i < tree.feature.length; i++) {
      const w = (nodeBase + i) * WORDS_PER_NODE;
      if (tree.feature[i] >= 0) {
        words[w] = tree.feature[i];
        thresholds[w + 1] = tree.threshold[i];
        words[w + 2] = nodeBase + tree.left[i];
        words[w + 3] = nodeBase + tree.right[i];
      } else {
        words[w] = -1 - (leafBase / C + tree.leafIndex[i]);
      }
    }
    leafUnits.set(tree.leafUnits, leafBase);
    nodeBase += tree.feature.length;
    leafBase += tree.leafUnits.length;
  });
  const compiled = { words, thresholds, roots, leafUnits };
  compiledForests.set(forest, compiled);
  return compiled;
}

/**
 * Adds every tree's leaf units for `x` into `sums` (one slot per class).
 * Feature values are rounded to float32 first, as the ONNX input is float32.
 */
function accumulateVotes(forest: Forest, x: ArrayLike<number>, sums: Float64Array): void {
  if (x.length !== forest.featureCount) {
    throw new RangeError(
      `Cannot predict as 'x' must have ${forest.featureCount} features: current value has ${x.length}`,
    );
  }
  const { words, thresholds, roots, leafUnits } = compile(forest);
  const C = forest.classes.length;
  sums.fill(0);
  for (let t = 0; t < roots.length; t++) {
    let w = roots[t] * WORDS_PER_NODE;
    let f = words[w];
    while (f >= 0) {
      // NaN compares false and takes the false branch, as ONNX BRANCH_LEQ does.
      w = (Math.fround(x[f]) <= thresholds[w + 1] ? words[w + 2] : words[w + 3]) * WORDS_PER_NODE;
      f = words[w];
    }
    const base = (-1 - f) * C;
    for (let c = 0; c < C; c++) sums[c] += leafUnits[base + c];
  }
}

function probabilitiesFromVotes(forest: Forest, sums: Float64Array): Float32Array {
  const divisor = voteDivisor(forest);
  const out = new Float32Array(sums.length);
  // sums * 2^-24 is exact; one float64 division rounded to float32 equals a
  // float32 division (double rounding is harmless for division at these widths).
  for (let c = 0; c < sums.length; c++) out[c] = (sums[c] * VOTE_UNIT) / divisor;
  return out;
}

function argmax(sums: Float64Array): number {
  let best = 0;
  for (let c = 1; c < sums.length; c++) if (sums[c] > sums[best]) best = c;
  return best;
}

/**
 * Class probabilities for one feature vector: the mean of the trees' leaf
 * distributions, as float32, ordered like `forest.classes`.
 *
 * @example
 * ```ts
 * const p = predictProba(forest, row);
 * const pBenign = p[forest.classes.indexOf("benign")];
 * ```
 */
export function predictProba(forest: Forest, x: ArrayLike<number>): Float32Array {
  const sums = new Float64Array(forest.classes.length);
  accumulateVotes(forest, x, sums);
  return probabilitiesFromVotes(forest, sums);
}

/**
 * The predicted class for one feature vector: the most probable class, the
 * first in `forest.classes` order on a tie (as onnxruntime picks).
 */
export function predictLabel(forest: Forest, x: ArrayLike<number>): string {
  const sums = new Float64Array(forest.classes.length);
  accumulateVotes(forest, x, sums);
  return forest.classes[argmax(sums)];
}

/** Labels and probabilities for many rows, from {@linkcode predictBatch}. */
export interface BatchPrediction {
  /** Predicted class per row. */
  labels: string[];
  /** Probability vector per row, ordered like `forest.classes`. */
  probabilities: Float32Array[];
}

/** Rows walked through one tree before moving to the next, so the tree stays in cache. */
const BLOCK_ROWS = 128;

/**
 * {@linkcode predictLabel} and {@linkcode predictProba} for many rows. Rows
 * are taken in blocks and each tree is walked for the whole block before the
 * next, which keeps a tree's nodes in cache (the same order onnxruntime uses).
 */
export function predictBatch(forest: Forest, rows: readonly ArrayLike<number>[]): BatchPrediction {
  const C = forest.classes.length;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].length !== forest.featureCount) {
      throw new RangeError(
        `Cannot predict as every row must have ${forest.featureCount} features: row ${i} has ${
          rows[i].length
        }`,
      );
    }
  }
  const { words, thresholds, roots, leafUnits } = compile(forest);
  const blockSums = new Float64Array(BLOCK_ROWS * C);
  const labels: string[] = [];
  const probabilities: Float32Array[] = [];
  for (let start = 0; start < rows.length; start += BLOCK_ROWS) {
    const end = Math.min(rows.length, start + BLOCK_ROWS);
    blockSums.fill(0);
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t] * WORDS_PER_NODE;
      for (let r = start; r < end; r++) {
        const x = rows[r];
        let w = root;
        let f = words[w];
        while (f >= 0) {
          w = (Math.fround(x[f]) <= thresholds[w + 1] ? words[w + 2] : words[w + 3]) *
            WORDS_PER_NODE;
          f = words[w];
        }
        const leaf = (-1 - f) * C;
        const out = (r - start) * C;
        for (let c = 0; c < C; c++) blockSums[out + c] += leafUnits[leaf + c];
      }
    }
    for (let r = start; r < end; r++) {
      const sums = blockSums.subarray((r - start) * C, (r - start + 1) * C);
      labels.push(forest.classes[argmax(sums)]);
      probabilities.push(probabilitiesFromVotes(forest, sums));
    }
  }
  return { labels, probabilities };
}
