import assert from "node:assert/strict";
import { SmiMap } from "./_smi_map.ts";

Deno.test("SmiMap gets, replaces and deletes like a Map", () => {
  const map = new SmiMap<string>();
  assert.deepEqual(map.get(7), undefined);
  map.set(7, "a");
  map.set(7, "b");
  map.set(0, "zero");
  assert.deepEqual([map.get(7), map.get(0), map.size], ["b", "zero", 2]);
  map.delete(7);
  map.delete(12345);
  assert.deepEqual([map.get(7), map.get(0), map.size], [undefined, "zero", 1]);
});

Deno.test("SmiMap agrees with a Map over random sets, deletes and growth", () => {
  const map = new SmiMap<number>();
  const reference = new Map<number, number>();
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let step = 0; step < 200_000; step++) {
    // Few distinct keys first (long probe runs, many deletes), then many (growth).
    const key = random() % (step < 100_000 ? 2_000 : 60_000);
    const op = random() % 3;
    if (op === 0) {
      map.set(key, step);
      reference.set(key, step);
    } else if (op === 1) {
      map.delete(key);
      reference.delete(key);
    } else if (map.get(key) !== reference.get(key)) {
      throw new Error(`get(${key}) differs at step ${step}`);
    }
  }
  assert.deepEqual(map.size, reference.size);
  for (const [key, value] of reference) assert.deepEqual(map.get(key), value);
});
