import assert from "node:assert/strict";
import fc from "fast-check";
import { splitByGroup } from "./group_split.ts";

Deno.test("splitByGroup() never puts one group on both sides", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("r1", "r2", "r3", "r4", "r5", "r6", "r7"), {
        minLength: 2,
        maxLength: 200,
      }),
      fc.double({ min: 0.01, max: 0.99, noNaN: true }),
      fc.integer(),
      (groups, testFraction, seed) => {
        fc.pre(new Set(groups).size >= 2);
        const s = splitByGroup(groups, { testFraction, seed });
        const trainGroups = new Set(s.train.map((i) => groups[i]));
        const testGroups = new Set(s.test.map((i) => groups[i]));
        for (const g of testGroups) assert.ok(!trainGroups.has(g), `group ${g} on both sides`);
        assert.deepEqual([...trainGroups].sort(), s.trainGroups);
        assert.deepEqual([...testGroups].sort(), s.testGroups);
        assert.ok(s.train.length > 0 && s.test.length > 0);
        // Every row lands exactly once, in ascending order.
        assert.deepEqual([...s.train, ...s.test].sort((a, b) => a - b), groups.map((_, i) => i));
        assert.deepEqual(s.train, [...s.train].sort((a, b) => a - b));
        // The target share is reached unless only one group was left for training.
        assert.ok(s.test.length >= testFraction * groups.length || s.trainGroups.length === 1);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("splitByGroup() is deterministic for a seed and varies across seeds", () => {
  const groups = Array.from({ length: 1000 }, (_, i) => `run_${i % 20}`);
  const a = splitByGroup(groups, { seed: 5 });
  assert.deepEqual(splitByGroup(groups, { seed: 5 }), a);
  const others = [1, 2, 3, 4].map((seed) => splitByGroup(groups, { seed }).testGroups.join());
  assert.ok(others.some((g) => g !== a.testGroups.join()));
  assert.equal(a.test.length, 200);
});

Deno.test("splitByGroup() holds out exactly the named test groups", () => {
  const groups = ["a", "b", "a", "c", "b"];
  assert.deepEqual(splitByGroup(groups, { testGroups: ["b"] }), {
    train: [0, 2, 3],
    test: [1, 4],
    trainGroups: ["a", "c"],
    testGroups: ["b"],
  });
});

Deno.test("splitByGroup() rejects splits that cannot hold out a whole group", async (t) => {
  await t.step(
    "one group",
    () => assert.throws(() => splitByGroup(["a", "a"]), /at least two distinct groups/),
  );
  await t.step(
    "unknown test group",
    () => assert.throws(() => splitByGroup(["a", "b"], { testGroups: ["x"] }), /"x"/),
  );
  await t.step(
    "all groups in test",
    () =>
      assert.throws(
        () => splitByGroup(["a", "b"], { testGroups: ["a", "b"] }),
        /both sides non-empty/,
      ),
  );
  await t.step(
    "fraction out of range",
    () => assert.throws(() => splitByGroup(["a", "b"], { testFraction: 1 }), /'testFraction'/),
  );
});
