import assert from "node:assert/strict";
import { predictBatch, predictLabel, predictProba } from "./predict.ts";
import { trainRandomForest } from "./random_forest.ts";
import { makeSyntheticDataset } from "./synthetic_dataset.ts";

Deno.test("predictProba() returns the mean of the trees' leaf distributions", () => {
  const { X, y } = makeSyntheticDataset({ rows: 400, features: 6, classes: 4, noise: 2, seed: 11 });
  const forest = trainRandomForest(X, y, { treeCount: 9, seed: 2 });
  for (const x of X.slice(0, 50)) {
    const p = predictProba(forest, x);
    // Recompute the average independently, straight from the tree arrays.
    const expected = new Float64Array(forest.classes.length);
    for (const tree of forest.trees) {
      let node = 0;
      while (tree.feature[node] >= 0) {
        node = x[tree.feature[node]] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
      }
      for (let c = 0; c < expected.length; c++) {
        expected[c] += tree.leafUnits[tree.leafIndex[node] * expected.length + c] /
          forest.unitsPerLeaf / forest.trees.length;
      }
    }
    for (let c = 0; c < expected.length; c++) assert.ok(Math.abs(p[c] - expected[c]) < 1e-7);
    assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-6);
  }
});

Deno.test("predictLabel() picks the most probable class and the first one on a tie", async (t) => {
  await t.step("argmax", () => {
    const { X, y } = makeSyntheticDataset({ rows: 300, features: 5, classes: 3, seed: 3 });
    const forest = trainRandomForest(X, y, { treeCount: 5 });
    for (const x of X.slice(0, 30)) {
      const p = predictProba(forest, x);
      const best = p.indexOf(Math.max(...p));
      assert.equal(predictLabel(forest, x), forest.classes[best]);
    }
  });
  await t.step("tie goes to the first class", () => {
    // A constant feature cannot be split: one leaf holding both classes equally.
    const X = [1, 1, 1, 1].map((v) => Float32Array.of(v));
    const forest = trainRandomForest(X, ["b", "a", "b", "a"], { treeCount: 3, bootstrap: false });
    assert.deepEqual(Array.from(predictProba(forest, [1])), [0.5, 0.5]);
    assert.equal(predictLabel(forest, [1]), "a");
  });
});

Deno.test("predictBatch() matches predictLabel() and predictProba() row by row", () => {
  const { X, y } = makeSyntheticDataset({
    rows: 200,
    features: 4,
    classes: 3,
    nonFiniteRate: 0.05,
    seed: 6,
  });
  const forest = trainRandomForest(X, y, { treeCount: 4 });
  const batch = predictBatch(forest, X);
  X.forEach((x, i) => {
    assert.equal(batch.labels[i], predictLabel(forest, x));
    assert.deepEqual(batch.probabilities[i], predictProba(forest, x));
  });
});

Deno.test("predictProba() rounds inputs to float32 and rejects rows of the wrong length", async (t) => {
  const X = [Float32Array.of(1), Float32Array.of(2)];
  const forest = trainRandomForest(X, ["a", "b"], { treeCount: 1, bootstrap: false });
  await t.step("float64 input just above a threshold that rounds onto it goes left", () => {
    assert.equal(forest.trees[0].threshold[0], 1.5);
    assert.equal(predictLabel(forest, [1.5 + 1e-12]), "a");
  });
  await t.step("wrong length", () => {
    assert.throws(() => predictProba(forest, [1, 2]), /'x' must have 1 features/);
  });
});
