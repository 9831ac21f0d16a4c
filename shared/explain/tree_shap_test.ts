import assert from "node:assert/strict";
import { mulberry32 } from "../random/mulberry32.ts";
import { readOnnxTreeEnsemble } from "./onnx_tree_ensemble.ts";
import { attackScoreForest } from "./flow_explainer.ts";
import { parseTreeCovers } from "./tree_covers.ts";
import {
  type ExplainForest,
  type ExplainTree,
  forestExpectedValue,
  forestOutput,
  TreeShapExplainer,
} from "./tree_shap.ts";

/** A seeded generator, so a failing case can be replayed. */
const rng = mulberry32;

/** A random tree in pre-order over features 0..usedFeatures-1, children after parents. */
function randomTree(next: () => number, usedFeatures: number, maxDepth: number): ExplainTree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const cover: number[] = [];
  const value: number[] = [];
  const grow = (depth: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    cover.push(0);
    value.push(0);
    if (depth < maxDepth && (depth === 0 || next() < 0.75)) {
      feature[id] = Math.floor(next() * usedFeatures);
      threshold[id] = [0.25, 0.5, 0.75][Math.floor(next() * 3)];
      left[id] = grow(depth + 1);
      right[id] = grow(depth + 1);
      cover[id] = cover[left[id]] + cover[right[id]];
    } else {
      cover[id] = 1 + Math.floor(next() * 20);
      value[id] = next();
    }
    return id;
  };
  grow(0);
  return {
    feature: Int32Array.from(feature),
    threshold: Float32Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    cover: Float64Array.from(cover),
    value: Float64Array.from(value),
  };
}

/** E[f(x) | x_S] as path-dependent TreeSHAP defines it: unknown splits average by cover. */
function conditional(
  tree: ExplainTree,
  x: ArrayLike<number>,
  known: Set<number>,
  node = 0,
): number {
  const f = tree.feature[node];
  if (f < 0) return tree.value[node];
  if (known.has(f)) {
    return conditional(
      tree,
      x,
      known,
      x[f] <= tree.threshold[node] ? tree.left[node] : tree.right[node],
    );
  }
  const l = tree.left[node];
  const r = tree.right[node];
  return (tree.cover[l] * conditional(tree, x, known, l) +
    tree.cover[r] * conditional(tree, x, known, r)) / tree.cover[node];
}

/** Exact Shapley values by enumerating every coalition of features. */
function bruteForceShapley(forest: ExplainForest, x: ArrayLike<number>): Float64Array {
  const M = forest.featureCount;
  const v = (mask: number) => {
    const known = new Set<number>();
    for (let i = 0; i < M; i++) if (mask & (1 << i)) known.add(i);
    let sum = 0;
    for (const tree of forest.trees) sum += conditional(tree, x, known);
    return sum / forest.trees.length;
  };
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  const phi = new Float64Array(M);
  for (let mask = 0; mask < 1 << M; mask++) {
    let size = 0;
    for (let i = 0; i < M; i++) if (mask & (1 << i)) size++;
    const base = v(mask);
    for (let i = 0; i < M; i++) {
      if (mask & (1 << i)) continue;
      const weight = factorial(size) * factorial(M - size - 1) / factorial(M);
      phi[i] += weight * (v(mask | (1 << i)) - base);
    }
  }
  return phi;
}

function randomInput(next: () => number, M: number): Float64Array {
  return Float64Array.from({ length: M }, () => (next() < 0.1 ? NaN : next()));
}

Deno.test("TreeShapExplainer gives the brute-force Shapley values on small random forests", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const next = rng(seed);
    const M = 5;
    // Depth up to 6 over 4 features: paths split on the same feature again (UNWIND).
    const forest: ExplainForest = {
      featureCount: M,
      trees: Array.from({ length: 1 + Math.floor(next() * 3) }, () => randomTree(next, 4, 6)),
    };
    const explainer = new TreeShapExplainer(forest);
    for (let k = 0; k < 5; k++) {
      const x = randomInput(next, M);
      const phi = explainer.explain(x);
      const expected = bruteForceShapley(forest, x);
      for (let i = 0; i < M; i++) {
        assert.ok(
          Math.abs(phi[i] - expected[i]) < 1e-12,
          `seed ${seed} input ${k} feature ${i}: TreeSHAP ${phi[i]}, brute force ${expected[i]}`,
        );
      }
      // Feature 4 is never split on: exactly 0, not merely small.
      assert.equal(phi[4], 0);
    }
  }
});

Deno.test("TreeShapExplainer is locally accurate: expected value plus contributions is the output", () => {
  const next = rng(99);
  const forest: ExplainForest = {
    featureCount: 8,
    trees: Array.from({ length: 20 }, () => randomTree(next, 8, 12)),
  };
  const explainer = new TreeShapExplainer(forest);
  assert.equal(explainer.expectedValue, forestExpectedValue(forest));
  for (let k = 0; k < 200; k++) {
    const x = randomInput(next, 8);
    const sum = explainer.explain(x).reduce((s, p) => s + p, explainer.expectedValue);
    assert.ok(Math.abs(sum - forestOutput(forest, x)) < 1e-12, `input ${k}`);
  }
});

Deno.test("TreeShapExplainer on the committed model's trees: local accuracy, unused features 0", async () => {
  const onnx = await Deno.readFile(new URL("../../models/flow_classifier.onnx", import.meta.url));
  const covers = parseTreeCovers(
    await Deno.readTextFile(new URL("../../models/flow_classifier.covers.json", import.meta.url)),
  );
  const ensemble = readOnnxTreeEnsemble(onnx);
  let featureCount = 0;
  const thresholds = new Map<number, number[]>();
  const used = new Set<number>();
  for (const tree of ensemble.trees) {
    tree.feature.forEach((f, i) => {
      if (f < 0) return;
      used.add(f);
      featureCount = Math.max(featureCount, f + 1);
      if (!thresholds.has(f)) thresholds.set(f, []);
      thresholds.get(f)!.push(tree.threshold[i]);
    });
  }
  const forest = attackScoreForest(ensemble, covers, { featureCount, benignLabel: "benign" });
  assert.equal(forest.trees.length, 100);
  const explainer = new TreeShapExplainer(forest);
  const next = rng(7);
  for (let k = 0; k < 100; k++) {
    // Each feature lands just below or above one of its own thresholds, so the
    // inputs take many different paths through the real trees.
    const x = new Float32Array(featureCount);
    for (let f = 0; f < featureCount; f++) {
      const ts = thresholds.get(f);
      if (ts === undefined) x[f] = next() * 1000;
      else x[f] = ts[Math.floor(next() * ts.length)] + (next() < 0.5 ? -1e-3 : 1e-3);
    }
    const phi = explainer.explain(x);
    const output = forestOutput(forest, x);
    const sum = phi.reduce((s, p) => s + p, explainer.expectedValue);
    assert.ok(Math.abs(sum - output) < 1e-9, `input ${k}: ${sum} vs ${output}`);
    for (let f = 0; f < featureCount; f++) if (!used.has(f)) assert.equal(phi[f], 0);
  }
});

Deno.test("TreeShapExplainer refuses covers that do not add up, and inputs of the wrong length", () => {
  const tree = randomTree(rng(3), 2, 3);
  const broken = { ...tree, cover: Float64Array.from(tree.cover, (c, i) => (i === 0 ? c + 1 : c)) };
  assert.throws(
    () => new TreeShapExplainer({ featureCount: 2, trees: [broken] }),
    /node 0 with cover .* children covering/,
  );
  const explainer = new TreeShapExplainer({ featureCount: 2, trees: [tree] });
  assert.throws(() => explainer.explain([1]), /must have 2 features/);
});

Deno.test("TreeShapExplainer gives the same values, bit for bit, whatever its cache holds", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const next = rng(seed);
    const M = 5;
    const forest: ExplainForest = {
      featureCount: M,
      trees: Array.from({ length: 2 + Math.floor(next() * 4) }, () => randomTree(next, 4, 6)),
    };
    const uncached = new TreeShapExplainer(forest, { cacheSize: 0 });
    // A tiny cache: it fills and is cleared while the inputs come.
    const cached = new TreeShapExplainer(forest, { cacheSize: 3 });
    const inputs = Array.from({ length: 8 }, () => randomInput(next, M));
    // Each input several times, and inputs that differ from one another in one feature only.
    for (let round = 0; round < 3; round++) {
      for (const x of inputs) {
        const variant = Float64Array.from(x);
        variant[Math.floor(next() * M)] = next();
        for (const input of [x, variant, x]) {
          const expected = uncached.explain(input);
          const phi = cached.explain(input);
          for (let i = 0; i < M; i++) {
            assert.ok(
              Object.is(phi[i], expected[i]),
              `seed ${seed} feature ${i}: cached ${phi[i]}, computed ${expected[i]}`,
            );
          }
        }
      }
    }
  }
});
