/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent
 * Individualized Feature Attribution for Tree Ensembles", Algorithm 2) for
 * forests of binary trees, in plain TypeScript.
 *
 * For one input `x` it gives every feature's Shapley value `φ_i` for the
 * value function `v(S) = E[f(x) | x_S]`, where the expectation over the
 * features outside `S` follows the training data down the tree: at a split
 * on a feature outside `S`, both children count, weighted by their cover.
 * The values are exact (no sampling) and add up:
 * `expectedValue + Σ φ_i = f(x)` (local accuracy). A feature no tree splits
 * on gets exactly 0. The cost is O(leaves × depth²) per tree.
 *
 * Splits follow ONNX's BRANCH_LEQ: `x <= threshold` goes left, anything else
 * (NaN included) goes right, exactly as the scorer walks them.
 *
 * @module
 */

/** One binary tree with covers and one output value per leaf. */
export interface ExplainTree {
  /** Split feature of each node; -1 on leaves. */
  feature: Int32Array;
  /** Threshold of each branch node: `x <= threshold` goes left. */
  threshold: Float32Array | Float64Array;
  /** Left ("true") child of each branch node; -1 on leaves. */
  left: Int32Array;
  /** Right ("false") child of each branch node; -1 on leaves. */
  right: Int32Array;
  /** Cover of each node (> 0); a branch's cover is the sum of its children's. */
  cover: ArrayLike<number>;
  /** Output of each leaf; ignored on branch nodes. */
  value: Float64Array;
}

/** A forest whose output is the mean of its trees' leaf values. */
export interface ExplainForest {
  /** Length of the input vectors. */
  featureCount: number;
  /** The trees. */
  trees: ExplainTree[];
}

/**
 * What the walk needs of a tree beyond the tree itself: leaf values shifted
 * by the tree's most common leaf value, and which nodes have a leaf with a
 * non-zero shifted value below them. Adding a constant to every leaf of a
 * tree changes no Shapley value (each v(S) moves by the same constant), so
 * leaves at the common value contribute exactly nothing and subtrees made
 * only of them need no walk. In a forest of mostly pure leaves that skips
 * most of the work.
 */
interface PreparedTree {
  tree: ExplainTree;
  shifted: Float64Array;
  live: Uint8Array;
  /** The live branch nodes, in node order: the only splits the walk tests `x` at. */
  splits: Int32Array;
  /** Scratch for {@linkcode splitOutcomes}: a bit per split. */
  outcomes: Uint16Array;
  /** The features of `splits`: the only ones the tree gives a contribution other than 0. */
  features: Int32Array;
  /**
   * Kept contributions: the slot in `kept` of each outcome of `x` at
   * `splits` (which decide them entirely); cleared when full.
   */
  slots: Map<string, number>;
  /**
   * The kept contributions, `features.length` values a slot: one array made
   * when first needed, not one per slot (small arrays each cost an
   * allocation of their own, and took 4 times the memory).
   */
  kept: Float64Array | null;
}

function prepareTree(tree: ExplainTree): PreparedTree {
  const n = tree.feature.length;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (tree.feature[i] < 0) counts.set(tree.value[i], (counts.get(tree.value[i]) ?? 0) + 1);
  }
  let common = 0;
  let most = 0;
  for (const [value, count] of counts) {
    if (count > most) [common, most] = [value, count];
  }
  const shifted = new Float64Array(n);
  const live = new Uint8Array(n);
  // Children come after their parent, so a backward sweep sees them first.
  for (let i = n - 1; i >= 0; i--) {
    if (tree.feature[i] < 0) {
      shifted[i] = tree.value[i] - common;
      live[i] = shifted[i] !== 0 ? 1 : 0;
    } else {
      live[i] = live[tree.left[i]] | live[tree.right[i]];
    }
  }
  const splits: number[] = [];
  for (let i = 0; i < n; i++) if (live[i] && tree.feature[i] >= 0) splits.push(i);
  return {
    tree,
    shifted,
    live,
    splits: Int32Array.from(splits),
    outcomes: new Uint16Array(Math.ceil(splits.length / 16)),
    features: Int32Array.from(new Set(splits.map((node) => tree.feature[node]))),
    slots: new Map(),
    kept: null,
  };
}

/** Which way `x` goes at each of the tree's live splits, 16 splits a character. */
function splitOutcomes(prepared: PreparedTree, x: ArrayLike<number>): string {
  const { tree, splits, outcomes } = prepared;
  outcomes.fill(0);
  for (let i = 0; i < splits.length; i++) {
    const node = splits[i];
    if (x[tree.feature[node]] <= tree.threshold[node]) outcomes[i >>> 4] |= 1 << (i & 15);
  }
  // One flat string (appending a character at a time made a rope to flatten).
  let key = "";
  for (let at = 0; at < outcomes.length; at += 4096) {
    key += String.fromCharCode.apply(null, outcomes.subarray(at, at + 4096) as unknown as number[]);
  }
  return key;
}

/** Path element arrays for one tree walk, sized for the deepest tree. */
interface PathScratch {
  feature: Int32Array;
  zero: Float64Array;
  one: Float64Array;
  weight: Float64Array;
}

function depthOf(tree: ExplainTree): number {
  let deepest = 0;
  const stack = [0, 0];
  while (stack.length > 0) {
    const depth = stack.pop()!;
    const node = stack.pop()!;
    if (tree.feature[node] < 0) {
      if (depth > deepest) deepest = depth;
      continue;
    }
    stack.push(tree.left[node], depth + 1, tree.right[node], depth + 1);
  }
  return deepest;
}

/** Leaf reached by `x`, following BRANCH_LEQ. */
function leafOf(tree: ExplainTree, x: ArrayLike<number>): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    node = x[tree.feature[node]] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
  }
  return node;
}

/** The forest's output for `x`: the mean over trees of the leaf value reached. */
export function forestOutput(forest: ExplainForest, x: ArrayLike<number>): number {
  let sum = 0;
  for (const tree of forest.trees) sum += tree.value[leafOf(tree, x)];
  return sum / forest.trees.length;
}

/**
 * The forest's expected output over its training data: per tree, the
 * cover-weighted mean of the leaf values, averaged over trees. It is the base
 * that the contributions of {@linkcode TreeShapExplainer.explain} add to.
 */
export function forestExpectedValue(forest: ExplainForest): number {
  let sum = 0;
  for (const tree of forest.trees) {
    let leaves = 0;
    for (let i = 0; i < tree.feature.length; i++) {
      if (tree.feature[i] < 0) leaves += tree.cover[i] * tree.value[i];
    }
    sum += leaves / tree.cover[0];
  }
  return sum / forest.trees.length;
}

/**
 * Checks that a forest can be explained: children in range, positive covers
 * that add up, one value per node. Throws a RangeError naming the first
 * problem.
 */
export function checkExplainForest(forest: ExplainForest): void {
  const fail = (t: number, why: string): never => {
    throw new RangeError(`Cannot explain the forest as tree ${t} ${why}`);
  };
  if (forest.trees.length === 0) {
    throw new RangeError("Cannot explain the forest as it has no trees");
  }
  forest.trees.forEach((tree, t) => {
    const n = tree.feature.length;
    if (
      tree.threshold.length !== n || tree.left.length !== n || tree.right.length !== n ||
      tree.cover.length !== n || tree.value.length !== n
    ) {
      fail(t, `has arrays of different lengths (${n} nodes)`);
    }
    for (let i = 0; i < n; i++) {
      if (!(tree.cover[i] > 0)) fail(t, `has node ${i} with cover ${tree.cover[i]}`);
      const f = tree.feature[i];
      if (f < 0) continue;
      if (f >= forest.featureCount) fail(t, `splits node ${i} on feature ${f}`);
      const l = tree.left[i];
      const r = tree.right[i];
      if (!(l > i && l < n && r > i && r < n)) {
        fail(t, `has node ${i} with children ${l} and ${r} out of order or range`);
      }
      const sum = tree.cover[l] + tree.cover[r];
      if (Math.abs(sum - tree.cover[i]) > 1e-9 * tree.cover[i]) {
        fail(t, `has node ${i} with cover ${tree.cover[i]} but children covering ${sum}`);
      }
    }
  });
}

/**
 * Explains a forest's output, exactly, one input at a time. Reuses its
 * scratch buffers between calls (not safe to share between concurrent
 * workers, which JavaScript does not do within one isolate anyway).
 *
 * @example
 * ```ts
 * const explainer = new TreeShapExplainer(forest);
 * const phi = explainer.explain(x);
 * // explainer.expectedValue + sum(phi) === forestOutput(forest, x), up to rounding
 * ```
 */
export class TreeShapExplainer {
  /** The forest explained. */
  readonly forest: ExplainForest;
  /** Expected output; contributions add to it (see {@linkcode forestExpectedValue}). */
  readonly expectedValue: number;
  readonly #path: PathScratch;
  readonly #phi: Float64Array;
  /** One tree's contributions, before they are added to `#phi`. */
  readonly #treePhi: Float64Array;
  readonly #prepared: PreparedTree[];
  readonly #cacheSize: number;

  /**
   * Checks the forest (see {@linkcode checkExplainForest}) and sizes the
   * scratch buffers. Each tree's contributions are computed on their own and
   * kept for the next inputs that go the same way at each of its walked
   * splits (they read `x` only there): `cacheSize` outcomes per tree (0:
   * none kept). The result is the same, bit for bit, whatever was kept.
   */
  constructor(forest: ExplainForest, options: { cacheSize?: number } = {}) {
    checkExplainForest(forest);
    this.#cacheSize = options.cacheSize ?? 512;
    this.forest = forest;
    this.expectedValue = forestExpectedValue(forest);
    const depth = Math.max(...forest.trees.map(depthOf));
    // Each recursion level keeps its own copy of the path (at most depth + 2 long).
    const size = (depth + 2) * (depth + 3) / 2;
    this.#path = {
      feature: new Int32Array(size),
      zero: new Float64Array(size),
      one: new Float64Array(size),
      weight: new Float64Array(size),
    };
    this.#phi = new Float64Array(forest.featureCount);
    this.#treePhi = new Float64Array(forest.featureCount);
    this.#prepared = forest.trees.map(prepareTree);
  }

  /**
   * Returns each feature's contribution to the forest's output for `x` (a new
   * array of `featureCount` values).
   */
  explain(x: ArrayLike<number>): Float64Array {
    if (x.length !== this.forest.featureCount) {
      throw new RangeError(
        `Cannot explain the input as it must have ${this.forest.featureCount} features: current value has ${x.length}`,
      );
    }
    const phi = this.#phi;
    phi.fill(0);
    for (const prepared of this.#prepared) {
      if (!prepared.live[0]) continue;
      // Scanners and floods repeat the same shapes of flow: most trees see
      // an input that went their way before.
      const { features } = prepared;
      const key = this.#cacheSize > 0 ? splitOutcomes(prepared, x) : null;
      const slot = key === null ? undefined : prepared.slots.get(key);
      if (slot !== undefined) {
        const kept = prepared.kept!;
        const at = slot * features.length;
        for (let j = 0; j < features.length; j++) phi[features[j]] += kept[at + j];
        continue;
      }
      const treePhi = this.#treePhi;
      treePhi.fill(0);
      recurse(prepared, x, treePhi, this.#path, 0, 0, 0, 1, 1, -1);
      // The same additions as from a kept slot: the result does not depend on what was kept.
      for (let j = 0; j < features.length; j++) phi[features[j]] += treePhi[features[j]];
      if (key !== null) {
        prepared.kept ??= new Float64Array(this.#cacheSize * features.length);
        if (prepared.slots.size >= this.#cacheSize) prepared.slots.clear();
        const next = prepared.slots.size;
        prepared.slots.set(key, next);
        for (let j = 0; j < features.length; j++) {
          prepared.kept[next * features.length + j] = treePhi[features[j]];
        }
      }
    }
    const out = new Float64Array(phi.length);
    const n = this.forest.trees.length;
    for (let i = 0; i < phi.length; i++) out[i] = phi[i] / n;
    return out;
  }
}

/**
 * Algorithm 2's RECURSE. The path `m` of the paper lives at `offset` in the
 * scratch arrays with `depth + 1` elements after EXTEND; each call copies its
 * parent's path to just past it, so a child's changes never reach the parent.
 */
function recurse(
  prepared: PreparedTree,
  x: ArrayLike<number>,
  phi: Float64Array,
  path: PathScratch,
  node: number,
  parentOffset: number,
  depth: number,
  zeroFraction: number,
  oneFraction: number,
  featureIndex: number,
): void {
  const { tree } = prepared;
  const offset = parentOffset + depth;
  // Plain loops: paths are a few elements long, too short for copyWithin to pay.
  for (let i = 0; i < depth; i++) {
    path.feature[offset + i] = path.feature[parentOffset + i];
    path.zero[offset + i] = path.zero[parentOffset + i];
    path.one[offset + i] = path.one[parentOffset + i];
    path.weight[offset + i] = path.weight[parentOffset + i];
  }
  extendPath(path, offset, depth, zeroFraction, oneFraction, featureIndex);

  const split = tree.feature[node];
  if (split < 0) {
    const value = prepared.shifted[node];
    for (let i = 1; i <= depth; i++) {
      const w = unwoundPathSum(path, offset, depth, i);
      phi[path.feature[offset + i]] += w * (path.one[offset + i] - path.zero[offset + i]) * value;
    }
    return;
  }
  const goesLeft = x[split] <= tree.threshold[node];
  const hot = goesLeft ? tree.left[node] : tree.right[node];
  const cold = goesLeft ? tree.right[node] : tree.left[node];
  const cover = tree.cover[node];
  let incomingZero = 1;
  let incomingOne = 1;
  let d = depth;
  let k = 0;
  while (k <= d && path.feature[offset + k] !== split) k++;
  if (k <= d) {
    // The feature was split on higher up: undo that step and redo it here.
    incomingZero = path.zero[offset + k];
    incomingOne = path.one[offset + k];
    unwindPath(path, offset, d, k);
    d -= 1;
  }
  if (prepared.live[hot]) {
    const zero = tree.cover[hot] / cover * incomingZero;
    recurse(prepared, x, phi, path, hot, offset, d + 1, zero, incomingOne, split);
  }
  if (prepared.live[cold]) {
    const zero = tree.cover[cold] / cover * incomingZero;
    recurse(prepared, x, phi, path, cold, offset, d + 1, zero, 0, split);
  }
}

/** EXTEND: appends (feature, zero, one) at position `depth` and updates the permutation weights. */
function extendPath(
  path: PathScratch,
  offset: number,
  depth: number,
  zeroFraction: number,
  oneFraction: number,
  featureIndex: number,
): void {
  const { weight } = path;
  path.feature[offset + depth] = featureIndex;
  path.zero[offset + depth] = zeroFraction;
  path.one[offset + depth] = oneFraction;
  weight[offset + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    weight[offset + i + 1] += oneFraction * weight[offset + i] * (i + 1) / (depth + 1);
    weight[offset + i] = zeroFraction * weight[offset + i] * (depth - i) / (depth + 1);
  }
}

/** UNWIND: removes element `index` from a path of `depth + 1` elements, undoing its EXTEND. */
function unwindPath(path: PathScratch, offset: number, depth: number, index: number): void {
  const { weight } = path;
  const one = path.one[offset + index];
  const zero = path.zero[offset + index];
  let next = weight[offset + depth];
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = weight[offset + i];
      weight[offset + i] = next * (depth + 1) / ((i + 1) * one);
      next = tmp - weight[offset + i] * zero * (depth - i) / (depth + 1);
    } else {
      weight[offset + i] = weight[offset + i] * (depth + 1) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    path.feature[offset + i] = path.feature[offset + i + 1];
    path.zero[offset + i] = path.zero[offset + i + 1];
    path.one[offset + i] = path.one[offset + i + 1];
  }
}

/** Sum of the weights UNWIND would leave after removing element `index`, without changing the path. */
function unwoundPathSum(path: PathScratch, offset: number, depth: number, index: number): number {
  const { weight } = path;
  const one = path.one[offset + index];
  const zero = path.zero[offset + index];
  let next = weight[offset + depth];
  let total = 0;
  if (one !== 0) {
    for (let i = depth - 1; i >= 0; i--) {
      const tmp = next * (depth + 1) / ((i + 1) * one);
      total += tmp;
      next = weight[offset + i] - tmp * zero * (depth - i) / (depth + 1);
    }
  } else {
    for (let i = depth - 1; i >= 0; i--) {
      total += weight[offset + i] * (depth + 1) / (zero * (depth - i));
    }
  }
  return total;
}
