import assert from "node:assert/strict";
import { makeSyntheticDataset } from "../ml/mod.ts";
import { selectHyperparameters } from "./select_hyperparameters.ts";

Deno.test("selectHyperparameters() picks the candidate that generalises across runs", () => {
  const { X, y, groups } = makeSyntheticDataset({
    rows: 600,
    features: 6,
    classes: 3,
    groups: 4,
    seed: 5,
  });
  const selection = selectHyperparameters(X, y, groups, {
    base: { seed: 1, treeCount: 10 },
    // A one-split stump cannot tell three classes apart; a real tree can.
    grid: [{ maxDepth: 1, maxFeatures: "all" }, { maxDepth: 8 }],
  });
  assert.deepEqual(selection.runs, ["group_0", "group_1", "group_2", "group_3"]);
  assert.equal(selection.scores.length, 2);
  for (const s of selection.scores) {
    assert.equal(s.foldMacroF1.length, 4);
    assert.equal(s.foldReports.length, 4);
    assert.equal(s.minMacroF1, Math.min(...s.foldMacroF1));
    assert.ok(Math.abs(s.meanMacroF1 - s.foldMacroF1.reduce((a, b) => a + b) / 4) < 1e-12);
    // Each fold is scored on exactly the rows of the run left out.
    selection.runs.forEach((run, i) =>
      assert.equal(s.foldReports[i].rows, groups.filter((g) => g === run).length)
    );
  }
  assert.ok(selection.scores[1].meanMacroF1 > selection.scores[0].meanMacroF1);
  assert.equal(selection.bestIndex, 1);
  assert.deepEqual(selection.best, { seed: 1, treeCount: 10, maxDepth: 8 });
});

Deno.test("selectHyperparameters() keeps the earlier candidate on a tie", () => {
  const { X, y, groups } = makeSyntheticDataset({ rows: 200, features: 3, groups: 3, seed: 2 });
  const same = { maxDepth: 4 };
  const selection = selectHyperparameters(X, y, groups, {
    base: { seed: 3, treeCount: 5 },
    grid: [same, { ...same }],
  });
  assert.equal(selection.scores[0].meanMacroF1, selection.scores[1].meanMacroF1);
  assert.equal(selection.bestIndex, 0);
});

Deno.test("selectHyperparameters() checks its inputs", () => {
  const { X, y, groups } = makeSyntheticDataset({ rows: 50, features: 2, groups: 2, seed: 1 });
  assert.throws(() => selectHyperparameters(X, y, groups, { grid: [] }), /'grid'/);
  assert.throws(
    () => selectHyperparameters(X, y, groups.map(() => "one"), { grid: [{}] }),
    /at least two runs/,
  );
  assert.throws(() => selectHyperparameters(X, y.slice(1), groups, { grid: [{}] }), /same length/);
});
