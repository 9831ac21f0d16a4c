import assert from "node:assert/strict";
import { hashTrainingData, sha256Hex } from "./training_data_hash.ts";

Deno.test("sha256Hex() matches the SHA-256 test vector for 'abc'", async () => {
  assert.equal(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("hashTrainingData() changes with any value, label, group or row order", async (t) => {
  const X = [Float32Array.of(0, 2), Float32Array.of(3, NaN)];
  const y = ["a", "b"];
  const groups = ["r1", "r2"];
  const base = await hashTrainingData(X, y, groups);
  await t.step("same data, same hash", async () => {
    assert.equal(await hashTrainingData(X.map((r) => r.slice()), [...y], [...groups]), base);
  });
  const variants: [string, Float32Array[], string[], string[] | undefined][] = [
    ["a value", [Float32Array.of(0, 2.5), X[1]], y, groups],
    ["-0 for 0", [Float32Array.of(-0, 2), X[1]], y, groups],
    ["a label", X, ["a", "c"], groups],
    ["a group", X, y, ["r1", "r1"]],
    ["no groups", X, y, undefined],
    ["row order", [X[1], X[0]], ["b", "a"], ["r2", "r1"]],
    ["label boundary", X, ["ab", ""], groups],
  ];
  for (const [name, vx, vy, vg] of variants) {
    await t.step(name, async () => assert.notEqual(await hashTrainingData(vx, vy, vg), base));
  }
  await t.step("mismatched lengths are refused", async () => {
    await assert.rejects(() => hashTrainingData(X, ["a"]), RangeError);
  });
});
