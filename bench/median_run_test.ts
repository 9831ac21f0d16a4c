import assert from "node:assert/strict";
import { medianRun } from "./median_run.ts";

Deno.test("medianRun() gives the run whose ratio is in the middle, whole", () => {
  const runs = [
    { name: "a", pps: 90, copy: 150 },
    { name: "b", pps: 100, copy: 250 },
    { name: "c", pps: 110, copy: 200 },
  ];
  // Ratios 0.6, 0.4 and 0.55: the middle one is c's, with c's own rate and reference.
  assert.deepEqual(medianRun(runs, (r) => r.pps / r.copy), runs[2]);
});

Deno.test("medianRun() takes the lower middle run of an even count, and the only one of one", () => {
  const ratio = (r: number) => r;
  assert.equal(medianRun([0.7, 0.4, 0.5, 0.6], ratio), 0.5);
  assert.equal(medianRun([0.45], ratio), 0.45);
  assert.throws(() => medianRun([], ratio), RangeError);
});
