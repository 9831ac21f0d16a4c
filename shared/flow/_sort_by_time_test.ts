import assert from "node:assert/strict";
import { sortByTime } from "./_sort_by_time.ts";

function reference<T extends { timestamp: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.timestamp - b.timestamp);
}

Deno.test("sortByTime() orders like a stable sort, ties kept in input order", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(random() * 200);
    const nearlySorted = round % 3 !== 0;
    const items = Array.from({ length: n }, (_, i) => ({
      id: i,
      // Few distinct times, so that ties are common.
      timestamp: nearlySorted
        ? Math.floor(i / 3) + (random() < 0.1 ? -Math.floor(random() * 4) : 0)
        : Math.floor(random() * 20),
    }));
    assert.deepEqual(sortByTime(items), reference(items), `round ${round}`);
  }
});

Deno.test("sortByTime() falls back to the general sort for NaN and far-displaced packets", () => {
  const withNaN = [{ timestamp: 2 }, { timestamp: NaN }, { timestamp: 1 }];
  assert.deepEqual(sortByTime(withNaN), reference(withNaN));
  const reversed = Array.from({ length: 5000 }, (_, i) => ({ timestamp: 5000 - i }));
  assert.deepEqual(sortByTime(reversed), reference(reversed));
});
