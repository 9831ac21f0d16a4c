import assert from "node:assert/strict";
import { chooseHeldOutRuns, HeldOutRunsError } from "./choose_held_out_runs.ts";

/** One row per (run, class) pair listed. */
function rows(runs: Record<string, string[]>): { groups: string[]; labels: string[] } {
  const groups: string[] = [];
  const labels: string[] = [];
  for (const [run, classes] of Object.entries(runs)) {
    for (const c of classes) {
      groups.push(run);
      labels.push(c);
    }
  }
  return { groups, labels };
}

Deno.test("chooseHeldOutRuns() holds out whole runs that cover every class", async (t) => {
  // Only r1 and r4 have class "c"; only r2 and r3 have class "d".
  const { groups, labels } = rows({
    r1: ["a", "b", "c"],
    r2: ["a", "b", "d"],
    r3: ["a", "d"],
    r4: ["a", "b", "c"],
    r5: ["a", "b"],
  });
  await t.step("every seed gives a set with every class on both sides", () => {
    for (let seed = 0; seed < 50; seed++) {
      const { heldOut, train, validSets, allSets } = chooseHeldOutRuns(groups, labels, { seed });
      assert.equal(allSets, 10);
      // Held out must contain one of r1/r4 and one of r2/r3: 4 valid pairs.
      assert.equal(validSets, 4);
      assert.equal(heldOut.length, 2);
      assert.deepEqual([...heldOut, ...train].sort(), ["r1", "r2", "r3", "r4", "r5"]);
      for (const side of [heldOut, train]) {
        const seen = new Set(labels.filter((_, i) => side.includes(groups[i])));
        assert.equal(seen.size, 4, `${side} lacks a class`);
      }
    }
  });
  await t.step("the same seed gives the same set, whatever the row order", () => {
    const reversed = chooseHeldOutRuns([...groups].reverse(), [...labels].reverse(), { seed: 7 });
    assert.deepEqual(reversed, chooseHeldOutRuns(groups, labels, { seed: 7 }));
  });
  await t.step("different seeds reach different sets", () => {
    const sets = new Set(
      Array.from(
        { length: 50 },
        (_, s) => chooseHeldOutRuns(groups, labels, { seed: s }).heldOut.join(),
      ),
    );
    assert.equal(sets.size, 4);
  });
});

Deno.test("chooseHeldOutRuns() fails when no set of runs covers every class on both sides", () => {
  const { groups, labels } = rows({ r1: ["a", "b"], r2: ["a"], r3: ["a"] });
  assert.throws(() => chooseHeldOutRuns(groups, labels, { count: 1 }), HeldOutRunsError);
});

Deno.test("chooseHeldOutRuns() checks its options", () => {
  const { groups, labels } = rows({ r1: ["a"], r2: ["a"], r3: ["a"] });
  assert.throws(
    () => chooseHeldOutRuns(groups, labels, { count: 3 }),
    /'count' must be an integer 1..2/,
  );
  assert.throws(() => chooseHeldOutRuns(groups, labels, { count: 0 }), /'count'/);
  assert.throws(() => chooseHeldOutRuns(groups, labels, { seed: 1.5 }), /'seed'/);
  assert.throws(() => chooseHeldOutRuns(groups, labels.slice(1)), /one entry per row/);
});
