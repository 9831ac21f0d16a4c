import assert from "node:assert/strict";
import type { DecisionTree, Forest } from "./forest.ts";
import { exportForestToOnnx } from "./onnx_export.ts";
import { predictBatch, predictLabel, predictProba } from "./predict.ts";
import { trainRandomForest } from "./random_forest.ts";
import { makeSyntheticDataset } from "./synthetic_dataset.ts";

const rowsOf = (values: number[][]): Float32Array[] => values.map((v) => Float32Array.from(v));

/** Leaf node reached by `x` in `tree`. */
function leafOf(tree: DecisionTree, x: Float32Array): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    node = x[tree.feature[node]] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
  }
  return node;
}

function depthOf(tree: DecisionTree, node = 0): number {
  if (tree.feature[node] < 0) return 0;
  return 1 + Math.max(depthOf(tree, tree.left[node]), depthOf(tree, tree.right[node]));
}

function accuracy(forest: Forest, X: Float32Array[], y: string[]): number {
  const labels = predictBatch(forest, X).labels;
  return labels.filter((l, i) => l === y[i]).length / y.length;
}

Deno.test("trainRandomForest() gives byte-identical models for the same seed", async (t) => {
  const { X, y } = makeSyntheticDataset({
    rows: 800,
    features: 10,
    classes: 4,
    nonFiniteRate: 0.01,
    seed: 5,
  });
  const options = { treeCount: 15, seed: 42 };
  const a = exportForestToOnnx(trainRandomForest(X, y, options));
  const b = exportForestToOnnx(trainRandomForest(X, y, options));
  await t.step("same seed, same bytes", () => assert.deepEqual(a, b));
  await t.step("another seed, other bytes", () => {
    const c = exportForestToOnnx(trainRandomForest(X, y, { ...options, seed: 43 }));
    assert.notDeepEqual(a, c);
  });
  await t.step("row order of classes in the input does not matter to the class list", () => {
    const forest = trainRandomForest([...X].reverse(), [...y].reverse(), options);
    assert.deepEqual(forest.classes, ["class_0", "class_1", "class_2", "class_3"]);
  });
});

Deno.test("trainRandomForest() learns a separable problem and generalises to held-out rows", () => {
  const { X, y } = makeSyntheticDataset({
    rows: 3000,
    features: 15,
    classes: 3,
    noise: 0.3,
    seed: 9,
  });
  const forest = trainRandomForest(X.slice(0, 2000), y.slice(0, 2000), { treeCount: 20, seed: 1 });
  assert.ok(accuracy(forest, X.slice(2000), y.slice(2000)) > 0.95);
  // Informative features (the first five) should carry the importance.
  const informative = forest.featureImportances.slice(0, 5).reduce((s, v) => s + v, 0);
  assert.ok(informative > 0.8, `importance of informative features ${informative}`);
  const total = forest.featureImportances.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(total - 1) < 1e-9);
});

Deno.test("trainRandomForest() splits on float32 thresholds with x <= threshold going left", () => {
  const X = rowsOf([[1], [2], [3], [4]]);
  const forest = trainRandomForest(X, ["a", "a", "b", "b"], {
    treeCount: 1,
    bootstrap: false,
    maxFeatures: "all",
  });
  const tree = forest.trees[0];
  assert.equal(tree.feature[0], 0);
  assert.equal(tree.threshold[0], 2.5);
  assert.equal(predictLabel(forest, [2.5]), "a");
  assert.equal(predictLabel(forest, [Math.fround(2.5000002)]), "b");
});

Deno.test("trainRandomForest() treats NaN and +Infinity as above every threshold, -Infinity as below", async (t) => {
  // Class "hi" has large or missing values, class "lo" small ones.
  const X = rowsOf([[1], [2], [3], [NaN], [100], [Infinity], [-Infinity], [4]]);
  const y = ["lo", "lo", "lo", "hi", "hi", "hi", "lo", "lo"];
  const forest = trainRandomForest(X, y, { treeCount: 1, bootstrap: false });
  await t.step("training rows are fitted", () => {
    assert.deepEqual(predictBatch(forest, X).labels, y);
  });
  await t.step("unseen non-finite inputs follow the same rule", () => {
    assert.equal(predictLabel(forest, [NaN]), "hi");
    assert.equal(predictLabel(forest, [Infinity]), "hi");
    assert.equal(predictLabel(forest, [-Infinity]), "lo");
  });
  await t.step("a feature with no finite value is never split on", () => {
    const Xn = rowsOf([[NaN, 1], [NaN, 2], [NaN, 3], [NaN, 4]]);
    const f = trainRandomForest(Xn, ["a", "a", "b", "b"], { treeCount: 5, seed: 3 });
    for (const tree of f.trees) assert.ok(!tree.feature.includes(0));
  });
  await t.step("training with NaN rows is deterministic", () => {
    const { X: Xs, y: ys } = makeSyntheticDataset({
      rows: 300,
      features: 6,
      nonFiniteRate: 0.2,
      seed: 2,
    });
    assert.deepEqual(
      exportForestToOnnx(trainRandomForest(Xs, ys, { treeCount: 5 })),
      exportForestToOnnx(trainRandomForest(Xs, ys, { treeCount: 5 })),
    );
  });
});

Deno.test("trainRandomForest() respects maxDepth and minSamplesLeaf", () => {
  const { X, y } = makeSyntheticDataset({ rows: 1000, features: 8, classes: 3, noise: 2, seed: 4 });
  const forest = trainRandomForest(X, y, {
    treeCount: 5,
    maxDepth: 4,
    minSamplesLeaf: 20,
    bootstrap: false,
  });
  for (const tree of forest.trees) {
    assert.ok(depthOf(tree) <= 4);
    const perLeaf = new Map<number, number>();
    for (const x of X) perLeaf.set(leafOf(tree, x), (perLeaf.get(leafOf(tree, x)) ?? 0) + 1);
    for (const count of perLeaf.values()) assert.ok(count >= 20, `leaf with ${count} rows`);
  }
});

Deno.test("trainRandomForest() leaf votes sum to unitsPerLeaf", () => {
  const { X, y } = makeSyntheticDataset({ rows: 500, features: 6, classes: 5, noise: 3, seed: 8 });
  const forest = trainRandomForest(X, y, { treeCount: 7, minSamplesLeaf: 5 });
  assert.equal(forest.unitsPerLeaf, 2 ** 21);
  for (const tree of forest.trees) {
    const C = forest.classes.length;
    for (let leaf = 0; leaf < tree.leafUnits.length / C; leaf++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += tree.leafUnits[leaf * C + c];
      assert.equal(sum, forest.unitsPerLeaf);
    }
  }
});

Deno.test("trainRandomForest() weighs classes", async (t) => {
  // One constant feature: no split is possible, so the single leaf shows the weights.
  // Shares chosen to be exact in float32; others are rounded to 2^-24 (see forest.ts).
  const X = rowsOf(Array.from({ length: 8 }, () => [1]));
  const y = [...Array(7).fill("a"), "b"];
  const base = { treeCount: 1, bootstrap: false } as const;
  await t.step("unweighted: class shares", () => {
    const p = predictProba(trainRandomForest(X, y, base), [1]);
    assert.deepEqual(Array.from(p), [0.875, 0.125]);
  });
  await t.step("balanced: each class weighs the same in total", () => {
    const p = predictProba(trainRandomForest(X, y, { ...base, classWeight: "balanced" }), [1]);
    assert.deepEqual(Array.from(p), [0.5, 0.5]);
  });
  await t.step("explicit weights", () => {
    const p = predictProba(trainRandomForest(X, y, { ...base, classWeight: { a: 1, b: 21 } }), [1]);
    assert.deepEqual(Array.from(p), [0.25, 0.75]);
  });
});

Deno.test("trainRandomForest() rejects bad input with the name of what is wrong", async (t) => {
  const X = rowsOf([[1], [2]]);
  const y = ["a", "b"];
  const cases: [string, () => unknown, RegExp][] = [
    ["no rows", () => trainRandomForest([], []), /'X' has no rows/],
    ["label count", () => trainRandomForest(X, ["a"]), /'y' must have one label per row/],
    ["one class", () => trainRandomForest(X, ["a", "a"]), /at least two classes/],
    ["empty label", () => trainRandomForest(X, ["a", ""]), /non-empty string/],
    ["ragged rows", () => trainRandomForest([X[0], new Float32Array(2)], y), /row 1/],
    [
      "plain arrays",
      () => trainRandomForest([[1], [2]] as unknown as Float32Array[], y),
      /Float32Array/,
    ],
    ["treeCount", () => trainRandomForest(X, y, { treeCount: 0 }), /'treeCount'/],
    ["maxBins", () => trainRandomForest(X, y, { maxBins: 300 }), /'maxBins'/],
    ["maxFeatures", () => trainRandomForest(X, y, { maxFeatures: 2 }), /'maxFeatures'/],
    ["maxDepth", () => trainRandomForest(X, y, { maxDepth: 0 }), /'maxDepth'/],
    ["minSamplesLeaf", () => trainRandomForest(X, y, { minSamplesLeaf: 0 }), /'minSamplesLeaf'/],
    ["fraction", () => trainRandomForest(X, y, { maxSamplesFraction: 0 }), /'maxSamplesFraction'/],
    ["seed", () => trainRandomForest(X, y, { seed: 1.5 }), /'seed'/],
    ["class weight", () => trainRandomForest(X, y, { classWeight: { a: 1 } }), /'classWeight.b'/],
  ];
  for (const [name, fn, message] of cases) {
    await t.step(
      name,
      () => assert.throws(fn, (e: Error) => e instanceof RangeError && message.test(e.message)),
    );
  }
});

Deno.test("trainRandomForest() records each node's cover: draws at the root, children summing to it", () => {
  const { X, y } = makeSyntheticDataset({ rows: 400, features: 6, classes: 3, seed: 12 });
  const forest = trainRandomForest(X, y, { treeCount: 5, seed: 3, maxSamplesFraction: 0.5 });
  for (const tree of forest.trees) {
    assert.equal(tree.cover.length, tree.feature.length);
    assert.equal(tree.cover[0], 200, "the root sees every bootstrap draw");
    for (let i = 0; i < tree.feature.length; i++) {
      assert.ok(tree.cover[i] >= 1);
      if (tree.feature[i] < 0) continue;
      assert.equal(tree.cover[i], tree.cover[tree.left[i]] + tree.cover[tree.right[i]]);
    }
  }
  const whole = trainRandomForest(X, y, { treeCount: 2, seed: 3, bootstrap: false });
  for (const tree of whole.trees) {
    let leaves = 0;
    for (let i = 0; i < tree.feature.length; i++) if (tree.feature[i] < 0) leaves += tree.cover[i];
    assert.equal(leaves, 400, "without bootstrap the leaves hold every row once");
  }
});
