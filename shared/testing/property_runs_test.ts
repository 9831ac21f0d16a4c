import assert from "node:assert/strict";
import { propertyRuns } from "./property_runs.ts";

Deno.test("propertyRuns() tries the full count with a fresh seed by default", () => {
  assert.deepEqual(propertyRuns(3000, { mode: "full", seed: "" }), { numRuns: 3000 });
  assert.deepEqual(propertyRuns(3000, { mode: "", seed: "" }), { numRuns: 3000 });
});

Deno.test("propertyRuns() tries a tenth, at least 50, from a fixed seed when quick", () => {
  const quick = propertyRuns(3000, { mode: "quick", seed: "" });
  assert.equal(quick.numRuns, 300);
  assert.equal(typeof quick.seed, "number");
  assert.deepEqual(propertyRuns(3000, { mode: "quick", seed: "" }), quick);
  assert.equal(propertyRuns(200, { mode: "quick", seed: "" }).numRuns, 50);
  // Never more than the full count.
  assert.equal(propertyRuns(40, { mode: "quick", seed: "" }).numRuns, 40);
});

Deno.test("propertyRuns() scales by a factor and takes a seed to replay a run", () => {
  assert.deepEqual(propertyRuns(3000, { mode: "0.5", seed: "" }), { numRuns: 1500 });
  assert.deepEqual(propertyRuns(100, { mode: "2", seed: "" }), { numRuns: 200 });
  assert.deepEqual(propertyRuns(3000, { mode: "full", seed: "-17" }), { numRuns: 3000, seed: -17 });
  assert.deepEqual(propertyRuns(3000, { mode: "quick", seed: "42" }), { numRuns: 300, seed: 42 });
});

Deno.test("propertyRuns() refuses a bad count, mode or seed, naming it", () => {
  assert.throws(() => propertyRuns(0), /'fullRuns' must be a positive integer: current value is 0/);
  assert.throws(
    () => propertyRuns(10, { mode: "fast" }),
    /'PROPERTY_RUNS' must be full, quick or a positive factor: current value is fast/,
  );
  assert.throws(
    () => propertyRuns(10, { mode: "full", seed: "abc" }),
    /'PROPERTY_SEED' must be an integer: current value is abc/,
  );
});
