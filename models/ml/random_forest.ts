/**
 * A deterministic random-forest trainer: CART classification trees with Gini
 * impurity, bootstrap samples and per-split feature subsampling, grown on a
 * quantile-binned copy of the data (at most `maxBins` bins per feature).
 *
 * The same rows, labels and options give the same forest, bit for bit, on
 * every machine: all randomness comes from a seeded PRNG, each tree has its
 * own stream derived from (seed, tree index), classes are sorted, and ties
 * between splits go to the first candidate examined.
 *
 * @module
 */

import { binMatrix, MAX_BINS_LIMIT } from "./_binning.ts";
import { createTrainingPrng, mixSeed, type Prng } from "../prng.ts";
import {
  type DecisionTree,
  type Forest,
  type ResolvedRandomForestOptions,
  unitsPerLeafFor,
} from "./forest.ts";

/** Options for {@linkcode trainRandomForest}. */
export interface RandomForestOptions {
  /** Number of trees, 1..4096. @default 100 */
  treeCount?: number;
  /** Deepest level a node may sit at (the root is depth 0); `null` for no limit. @default null */
  maxDepth?: number | null;
  /** Fewest distinct rows a node needs to be split. @default 2 */
  minSamplesSplit?: number;
  /** Fewest distinct rows each side of a split must keep. @default 1 */
  minSamplesLeaf?: number;
  /**
   * Candidate features per split: `"sqrt"` (floor of the square root of the
   * feature count), `"log2"`, `"all"`, or a count. Features constant within a
   * node do not count. @default "sqrt"
   */
  maxFeatures?: "sqrt" | "log2" | "all" | number;
  /** Most quantile bins per feature, 2..256. @default 64 */
  maxBins?: number;
  /** Grow each tree on a bootstrap sample (draws with replacement). @default true */
  bootstrap?: boolean;
  /** Bootstrap draws per tree as a fraction of the rows, in (0, 1]. @default 1 */
  maxSamplesFraction?: number;
  /**
   * Class weights: `"balanced"` weighs class `c` by `rows / (classes * rows_c)`
   * over the whole training set (as scikit-learn does); a record gives each
   * label's weight; `null` weighs all rows equally. @default null
   */
  classWeight?: "balanced" | Readonly<Record<string, number>> | null;
  /** PRNG seed, an integer. @default 0 */
  seed?: number;
}

/** Most trees: keeps at least 4096 vote units per leaf (see forest.ts). */
const MAX_TREES = 4096;
/** A split must beat its parent's score by this relative margin, so float noise never splits. */
const MIN_RELATIVE_GAIN = 1e-10;

/**
 * Trains a random forest on row-major float32 feature vectors and string
 * labels.
 *
 * Non-finite inputs are handled deterministically and the same way ONNX's
 * BRANCH_LEQ does: NaN and +Infinity compare greater than every threshold
 * (they always take the "greater" branch), -Infinity smaller. Thresholds are
 * always finite float32 values taken from the training data.
 *
 * @example
 * ```ts
 * const forest = trainRandomForest(rows, labels, { treeCount: 100, seed: 7 });
 * const p = predictProba(forest, rows[0]); // ordered like forest.classes
 * ```
 */
export function trainRandomForest(
  X: readonly Float32Array[],
  y: readonly string[],
  options: RandomForestOptions = {},
): Forest {
  if (X.length === 0) {
    throw new RangeError("Cannot train a forest as 'X' has no rows");
  }
  if (y.length !== X.length) {
    throw new RangeError(
      `Cannot train a forest as 'y' must have one label per row: current value has ${y.length} labels for ${X.length} rows`,
    );
  }
  const featureCount = X[0].length;
  if (featureCount === 0) {
    throw new RangeError("Cannot train a forest as the rows of 'X' have no features");
  }
  for (let i = 0; i < X.length; i++) {
    if (!(X[i] instanceof Float32Array) || X[i].length !== featureCount) {
      throw new RangeError(
        `Cannot train a forest as every row of 'X' must be a Float32Array of length ${featureCount}: row ${i} is not`,
      );
    }
    if (typeof y[i] !== "string" || y[i].length === 0) {
      throw new RangeError(
        `Cannot train a forest as every label must be a non-empty string: label ${i} is ${
          JSON.stringify(y[i])
        }`,
      );
    }
  }
  const classes = [...new Set(y)].sort();
  if (classes.length < 2) {
    throw new RangeError(
      `Cannot train a forest as 'y' must hold at least two classes: current value has ${classes.length}`,
    );
  }
  if (classes.length > 255) {
    throw new RangeError(
      `Cannot train a forest as 'y' may hold at most 255 classes: current value has ${classes.length}`,
    );
  }
  const opts = resolveOptions(options, featureCount, classes, y);
  const n = X.length;
  const C = classes.length;
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const yIdx = new Uint8Array(n);
  for (let i = 0; i < n; i++) yIdx[i] = classIndex.get(y[i])!;

  const binned = binMatrix(X, featureCount, opts.maxBins);
  const grower = new TreeGrower(
    binned.bins,
    binned.thresholds,
    n,
    featureCount,
    yIdx,
    C,
    opts,
    unitsPerLeafFor(opts.treeCount),
  );
  const trees: DecisionTree[] = [];
  const importances = new Float64Array(featureCount);
  for (let t = 0; t < opts.treeCount; t++) {
    const { tree, importance } = grower.grow(createTrainingPrng(mixSeed(opts.seed, t)));
    trees.push(tree);
    let total = 0;
    for (let f = 0; f < featureCount; f++) total += importance[f];
    if (total > 0) {
      for (let f = 0; f < featureCount; f++) importances[f] += importance[f] / total;
    }
  }
  let sum = 0;
  for (let f = 0; f < featureCount; f++) sum += importances[f];
  if (sum > 0) { for (let f = 0; f < featureCount; f++) importances[f] /= sum; }

  return {
    classes,
    featureCount,
    unitsPerLeaf: unitsPerLeafFor(opts.treeCount),
    trees,
    featureImportances: importances,
    options: opts,
    trainingRows: n,
  };
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

function resolveOptions(
  o: RandomForestOptions,
  featureCount: number,
  classes: string[],
  y: readonly string[],
): ResolvedRandomForestOptions {
  const fail = (name: string, rule: string, value: unknown): never => {
    throw new RangeError(
      `Cannot train a forest as '${name}' must be ${rule}: current value is ${
        JSON.stringify(value)
      }`,
    );
  };
  const treeCount = o.treeCount ?? 100;
  if (!isInt(treeCount, 1, MAX_TREES)) fail("treeCount", `an integer 1..${MAX_TREES}`, treeCount);
  const maxDepth = o.maxDepth ?? null;
  if (maxDepth !== null && !isInt(maxDepth, 1, 10_000)) {
    fail("maxDepth", "null or an integer 1..10000", maxDepth);
  }
  const minSamplesSplit = o.minSamplesSplit ?? 2;
  if (!isInt(minSamplesSplit, 2, Number.MAX_SAFE_INTEGER)) {
    fail("minSamplesSplit", "an integer >= 2", minSamplesSplit);
  }
  const minSamplesLeaf = o.minSamplesLeaf ?? 1;
  if (!isInt(minSamplesLeaf, 1, Number.MAX_SAFE_INTEGER)) {
    fail("minSamplesLeaf", "an integer >= 1", minSamplesLeaf);
  }
  const mf = o.maxFeatures ?? "sqrt";
  let maxFeatures: number;
  if (mf === "sqrt") maxFeatures = Math.max(1, Math.floor(Math.sqrt(featureCount)));
  else if (mf === "log2") maxFeatures = Math.max(1, Math.floor(Math.log2(featureCount)));
  else if (mf === "all") maxFeatures = featureCount;
  else if (isInt(mf, 1, featureCount)) maxFeatures = mf;
  else {
    maxFeatures = fail(
      "maxFeatures",
      `"sqrt", "log2", "all" or an integer 1..${featureCount}`,
      mf,
    );
  }
  const maxBins = o.maxBins ?? 64;
  if (!isInt(maxBins, 2, MAX_BINS_LIMIT)) {
    fail("maxBins", `an integer 2..${MAX_BINS_LIMIT}`, maxBins);
  }
  const bootstrap = o.bootstrap ?? true;
  if (typeof bootstrap !== "boolean") fail("bootstrap", "a boolean", bootstrap);
  const maxSamplesFraction = o.maxSamplesFraction ?? 1;
  if (!(maxSamplesFraction > 0 && maxSamplesFraction <= 1)) {
    fail("maxSamplesFraction", "a number in (0, 1]", maxSamplesFraction);
  }
  const seed = o.seed ?? 0;
  if (!isInt(seed, -(2 ** 31), 2 ** 32 - 1)) fail("seed", "a 32-bit integer", seed);

  const cw = o.classWeight ?? null;
  let classWeights: number[];
  if (cw === null) classWeights = classes.map(() => 1);
  else if (cw === "balanced") {
    const counts = new Map<string, number>();
    for (const label of y) counts.set(label, (counts.get(label) ?? 0) + 1);
    classWeights = classes.map((c) => y.length / (classes.length * counts.get(c)!));
  } else if (typeof cw === "object") {
    classWeights = classes.map((c) => {
      const w = Object.hasOwn(cw, c) ? cw[c] : undefined;
      if (typeof w !== "number" || !(w > 0) || !Number.isFinite(w)) {
        return fail(`classWeight.${c}`, "a finite number > 0 for every class", w ?? null);
      }
      return w;
    });
  } else {
    classWeights = fail("classWeight", `"balanced", a record of weights or null`, cw);
  }
  return {
    treeCount,
    maxDepth,
    minSamplesSplit,
    minSamplesLeaf,
    maxFeatures,
    maxBins,
    bootstrap,
    maxSamplesFraction,
    classWeights,
    seed,
  };
}

/** Grows one tree at a time, reusing its scratch buffers across trees. */
class TreeGrower {
  readonly #nBins: Int32Array;
  readonly #rows: Int32Array;
  readonly #scratch: Int32Array;
  readonly #draws: Uint32Array;
  readonly #weight: Float64Array;
  readonly #hist: Float64Array;
  readonly #binRows: Int32Array;
  readonly #order: Int32Array;
  readonly #nodeSum: Float64Array;
  readonly #leftSum: Float64Array;

  constructor(
    readonly bins: Uint8Array,
    readonly thresholds: Float32Array[],
    readonly n: number,
    readonly F: number,
    readonly y: Uint8Array,
    readonly C: number,
    readonly opts: ResolvedRandomForestOptions,
    readonly unitsPerLeaf: number,
  ) {
    this.#nBins = Int32Array.from(thresholds, (t) => t.length + 1);
    this.#rows = new Int32Array(n);
    this.#scratch = new Int32Array(n);
    this.#draws = new Uint32Array(n);
    this.#weight = new Float64Array(n);
    this.#hist = new Float64Array(MAX_BINS_LIMIT * C);
    this.#binRows = new Int32Array(MAX_BINS_LIMIT);
    this.#order = Int32Array.from({ length: F }, (_, i) => i);
    this.#nodeSum = new Float64Array(C);
    this.#leftSum = new Float64Array(C);
  }

  grow(rng: Prng): { tree: DecisionTree; importance: Float64Array } {
    const { n, C, opts, y } = this;
    const draws = this.#draws;
    const rows = this.#rows;
    const weight = this.#weight;
    if (opts.bootstrap) {
      draws.fill(0);
      const count = Math.max(1, Math.round(opts.maxSamplesFraction * n));
      for (let k = 0; k < count; k++) draws[rng.below(n)]++;
    } else {
      draws.fill(1);
    }
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (draws[i] > 0) {
        rows[m++] = i;
        weight[i] = draws[i] * opts.classWeights[y[i]];
      }
    }
    this.#order.forEach((_, i, a) => (a[i] = i));

    const feature: number[] = [];
    const threshold: number[] = [];
    const left: number[] = [];
    const right: number[] = [];
    const leafIndex: number[] = [];
    const leafUnits: number[] = [];
    const cover: number[] = [];
    const importance = new Float64Array(this.F);
    const addNode = (): number => {
      cover.push(0);
      feature.push(-1);
      threshold.push(0);
      left.push(-1);
      right.push(-1);
      leafIndex.push(-1);
      return feature.length - 1;
    };

    // Stack of (start, end, depth, node id); left children are popped first.
    const stack: number[] = [0, m, 0, addNode()];
    const nodeSum = this.#nodeSum;
    while (stack.length > 0) {
      const id = stack.pop()!;
      const depth = stack.pop()!;
      const end = stack.pop()!;
      const start = stack.pop()!;

      nodeSum.fill(0);
      let reached = 0;
      for (let i = start; i < end; i++) {
        nodeSum[y[rows[i]]] += weight[rows[i]];
        reached += draws[rows[i]];
      }
      cover[id] = reached;
      let W = 0;
      let nonEmpty = 0;
      let parentScore = 0;
      for (let c = 0; c < C; c++) {
        W += nodeSum[c];
        if (nodeSum[c] > 0) nonEmpty++;
      }
      for (let c = 0; c < C; c++) parentScore += nodeSum[c] * nodeSum[c] / W;
      const count = end - start;

      const canSplit = nonEmpty > 1 && count >= opts.minSamplesSplit &&
        count >= 2 * opts.minSamplesLeaf && (opts.maxDepth === null || depth < opts.maxDepth);
      const split = canSplit ? this.#bestSplit(rng, start, end, W, parentScore) : null;
      if (split === null) {
        leafIndex[id] = leafUnits.length / C;
        this.#appendLeafUnits(leafUnits, W);
        continue;
      }
      importance[split.feature] += split.score - parentScore;
      const mid = this.#partition(start, end, split.feature, split.bin);
      const l = addNode();
      const r = addNode();
      feature[id] = split.feature;
      threshold[id] = this.thresholds[split.feature][split.bin];
      left[id] = l;
      right[id] = r;
      stack.push(mid, end, depth + 1, r, start, mid, depth + 1, l);
    }
    return {
      tree: {
        feature: Int32Array.from(feature),
        threshold: Float32Array.from(threshold),
        left: Int32Array.from(left),
        right: Int32Array.from(right),
        leafIndex: Int32Array.from(leafIndex),
        leafUnits: Uint32Array.from(leafUnits),
        cover: Uint32Array.from(cover),
      },
      importance,
    };
  }

  /**
   * Best Gini split of rows [start, end) over at most `maxFeatures` non-constant
   * candidate features, or null. Maximises sum(L_c^2)/W_L + sum(R_c^2)/W_R,
   * which is minimising the children's weighted Gini impurity.
   */
  #bestSplit(
    rng: Prng,
    start: number,
    end: number,
    W: number,
    parentScore: number,
  ): { feature: number; bin: number; score: number } | null {
    const { bins, n, F, C, y, opts } = this;
    const rows = this.#rows;
    const weight = this.#weight;
    const hist = this.#hist;
    const binRows = this.#binRows;
    const order = this.#order;
    const nodeSum = this.#nodeSum;
    const leftSum = this.#leftSum;
    const count = end - start;
    const minLeaf = opts.minSamplesLeaf;

    let bestScore = parentScore + MIN_RELATIVE_GAIN * Math.abs(parentScore);
    let bestFeature = -1;
    let bestBin = -1;
    let visited = 0;
    for (let k = 0; k < F && visited < opts.maxFeatures; k++) {
      // Partial Fisher-Yates: order[0..k] is a uniform draw without replacement.
      const j = k + rng.below(F - k);
      const f = order[j];
      order[j] = order[k];
      order[k] = f;
      const nb = this.#nBins[f];
      if (nb < 2) continue;

      hist.fill(0, 0, nb * C);
      binRows.fill(0, 0, nb);
      const base = f * n;
      for (let i = start; i < end; i++) {
        const r = rows[i];
        const b = bins[base + r];
        hist[b * C + y[r]] += weight[r];
        binRows[b]++;
      }
      let occupied = 0;
      for (let b = 0; b < nb && occupied < 2; b++) if (binRows[b] > 0) occupied++;
      if (occupied < 2) continue;
      visited++;

      leftSum.fill(0);
      let wL = 0;
      let nL = 0;
      for (let b = 0; b < nb - 1; b++) {
        if (binRows[b] === 0) continue;
        for (let c = 0; c < C; c++) {
          const h = hist[b * C + c];
          leftSum[c] += h;
          wL += h;
        }
        nL += binRows[b];
        const nR = count - nL;
        if (nR < minLeaf) break;
        if (nL < minLeaf) continue;
        const wR = W - wL;
        if (!(wL > 0 && wR > 0)) continue;
        let sL = 0;
        let sR = 0;
        for (let c = 0; c < C; c++) {
          const l = leftSum[c];
          const r = nodeSum[c] - l;
          sL += l * l;
          sR += r * r;
        }
        const score = sL / wL + sR / wR;
        if (score > bestScore) {
          bestScore = score;
          bestFeature = f;
          // Any boundary between this bin and the next occupied one splits the
          // training rows the same way; the middle one generalises best.
          let next = b + 1;
          while (binRows[next] === 0) next++;
          bestBin = (b + next - 1) >>> 1;
        }
      }
    }
    return bestFeature < 0 ? null : { feature: bestFeature, bin: bestBin, score: bestScore };
  }

  /** Stable partition of rows [start, end): bins <= `bin` first; returns the boundary. */
  #partition(start: number, end: number, f: number, bin: number): number {
    const rows = this.#rows;
    const scratch = this.#scratch;
    const bins = this.bins;
    const base = f * this.n;
    let l = start;
    let r = 0;
    for (let i = start; i < end; i++) {
      const row = rows[i];
      if (bins[base + row] <= bin) rows[l++] = row;
      else scratch[r++] = row;
    }
    rows.set(scratch.subarray(0, r), l);
    return l;
  }

  /**
   * Appends the node's class distribution as integer units summing to exactly
   * `unitsPerLeaf` (largest remainder; ties go to the lower class index).
   */
  #appendLeafUnits(out: number[], W: number): void {
    const { C, unitsPerLeaf } = this;
    const nodeSum = this.#nodeSum;
    const units: number[] = [];
    const rest: number[] = [];
    let given = 0;
    for (let c = 0; c < C; c++) {
      const exact = nodeSum[c] / W * unitsPerLeaf;
      const u = Math.min(unitsPerLeaf, Math.floor(exact));
      units.push(u);
      rest.push(exact - u);
      given += u;
    }
    // Float rounding could in theory floor one unit too high; take it back
    // from the class that deserved it least.
    for (; given > unitsPerLeaf; given--) {
      let worst = -1;
      for (let c = 0; c < C; c++) {
        if (units[c] > 0 && (worst < 0 || rest[c] < rest[worst])) worst = c;
      }
      units[worst]--;
      rest[worst] += 1;
    }
    for (let left = unitsPerLeaf - given; left > 0; left--) {
      let best = 0;
      for (let c = 1; c < C; c++) if (rest[c] > rest[best]) best = c;
      units[best]++;
      rest[best] = -1;
    }
    for (let c = 0; c < C; c++) out.push(units[c]);
  }
}
