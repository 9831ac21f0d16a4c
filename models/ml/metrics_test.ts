import assert from "node:assert/strict";
import { classificationReport, confusionMatrix } from "./metrics.ts";

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

// Worked by hand:
//            predicted a  b  c
//   true a            2  1  0
//   true b            0  1  1
//   true c            0  0  1
// precision a 2/2, b 1/2, c 1/2; recall a 2/3, b 1/2, c 1/1
// F1 a 0.8, b 0.5, c 2/3; accuracy 4/6
const yTrue = ["a", "a", "a", "b", "b", "c"];
const yPred = ["a", "a", "b", "b", "c", "c"];

Deno.test("confusionMatrix() counts true labels by row and predictions by column", () => {
  assert.deepEqual(confusionMatrix(yTrue, yPred), {
    labels: ["a", "b", "c"],
    matrix: [[2, 1, 0], [0, 1, 1], [0, 0, 1]],
  });
});

Deno.test("classificationReport() matches a hand-computed example", () => {
  const r = classificationReport(yTrue, yPred);
  assert.deepEqual(r.perClass.map((m) => [m.label, m.support]), [["a", 3], ["b", 2], ["c", 1]]);
  const expected = [[1, 2 / 3, 0.8], [0.5, 0.5, 0.5], [0.5, 1, 2 / 3]];
  r.perClass.forEach((m, i) => {
    close(m.precision, expected[i][0]);
    close(m.recall, expected[i][1]);
    close(m.f1, expected[i][2]);
  });
  close(r.accuracy, 4 / 6);
  close(r.macroPrecision, 2 / 3);
  close(r.macroRecall, (2 / 3 + 0.5 + 1) / 3);
  close(r.macroF1, (0.8 + 0.5 + 2 / 3) / 3);
  close(r.weightedF1, (0.8 * 3 + 0.5 * 2 + 2 / 3) / 6);
  assert.equal(r.rows, 6);
});

Deno.test("classificationReport() scores unseen and never-predicted classes as 0", async (t) => {
  await t.step("a listed class that never occurs drags the macro average down", () => {
    const r = classificationReport(["a", "b"], ["a", "b"], { labels: ["a", "b", "z"] });
    assert.deepEqual(r.perClass[2], { label: "z", precision: 0, recall: 0, f1: 0, support: 0 });
    close(r.macroF1, 2 / 3);
    close(r.accuracy, 1);
  });
  await t.step("a class never predicted has precision 0", () => {
    const r = classificationReport(["a", "b"], ["a", "a"]);
    assert.deepEqual(r.perClass[1], { label: "b", precision: 0, recall: 0, f1: 0, support: 1 });
    close(r.perClass[0].precision, 0.5);
  });
});

Deno.test("confusionMatrix() rejects mismatched lengths and unlisted labels", () => {
  assert.throws(() => confusionMatrix(["a"], []), /'yPred' must be as long as 'yTrue'/);
  assert.throws(() => confusionMatrix(["a"], ["q"], { labels: ["a"] }), /row 0 has "q"/);
  assert.throws(() => confusionMatrix(["a"], ["a"], { labels: ["a", "a"] }), /must not repeat/);
});
