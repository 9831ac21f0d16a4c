import assert from "node:assert/strict";
import fc from "fast-check";
import { binMatrix, binOf, columnThresholds } from "./_binning.ts";

/** The next float32 above a positive float32. */
function nextFloat32Up(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0]++;
  return f[0];
}

Deno.test("columnThresholds() puts one threshold between each pair of distinct values when they fit", () => {
  const t = columnThresholds(new Float32Array([3, 1, 2, 2, 1, 3]), 64);
  assert.deepEqual(Array.from(t), [1.5, 2.5]);
});

Deno.test("columnThresholds() keeps thresholds strictly between adjacent float32 values", () => {
  const hi = nextFloat32Up(1);
  const t = columnThresholds(new Float32Array([1, hi]), 64);
  assert.equal(t.length, 1);
  assert.ok(1 <= t[0] && hi > t[0]);
  assert.equal(binOf(1, t), 0);
  assert.equal(binOf(hi, t), 1);
});

Deno.test("columnThresholds() ignores NaN and infinities and caps the bin count", async (t) => {
  await t.step("non-finite values give no thresholds", () => {
    assert.equal(columnThresholds(new Float32Array([NaN, Infinity, -Infinity, 5]), 64).length, 0);
  });
  await t.step("at most maxBins - 1 thresholds, ascending", () => {
    const values = Float32Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 1000);
    const thresholds = columnThresholds(values, 16);
    assert.ok(thresholds.length <= 15 && thresholds.length >= 10, `${thresholds.length}`);
    for (let i = 1; i < thresholds.length; i++) assert.ok(thresholds[i - 1] < thresholds[i]);
  });
  await t.step("a heavy value takes one bin and leaves the rest to the others", () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0 : i));
    const thresholds = columnThresholds(values, 8);
    assert.equal(thresholds.length, 7);
    assert.equal(binOf(0, thresholds), 0);
    assert.ok(binOf(950, thresholds) > 1);
  });
});

Deno.test("binOf() sends NaN and +Infinity to the last bin and -Infinity to the first", () => {
  const t = new Float32Array([-1, 0, 1]);
  assert.equal(binOf(NaN, t), 3);
  assert.equal(binOf(Infinity, t), 3);
  assert.equal(binOf(-Infinity, t), 0);
  assert.equal(binOf(-0, t), 1);
});

Deno.test("binOf() agrees with x <= threshold for every bin boundary (the tree's branch test)", () => {
  const float32 = fc.float({ noDefaultInfinity: false, noNaN: false });
  fc.assert(
    fc.property(
      fc.array(float32, { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 2, max: 40 }),
      (values, maxBins) => {
        const column = Float32Array.from(values);
        const thresholds = columnThresholds(Float32Array.from(column), maxBins);
        for (const x of column) {
          const b = binOf(x, thresholds);
          for (let k = 0; k < thresholds.length; k++) {
            assert.equal(b <= k, x <= thresholds[k]);
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("binMatrix() stores bins column-major", () => {
  const rows = [new Float32Array([1, 10]), new Float32Array([2, 10]), new Float32Array([3, 20])];
  const m = binMatrix(rows, 2, 64);
  assert.deepEqual(Array.from(m.bins), [0, 1, 2, 0, 0, 1]);
  assert.deepEqual(m.thresholds.map((t) => Array.from(t)), [[1.5, 2.5], [15]]);
});
