import assert from "node:assert/strict";
import { PairIds } from "./_pair_ids.ts";

Deno.test("PairIds gives a pair one id until it is deleted, then reuses the id", () => {
  const ids = new PairIds();
  const a = ids.intern(3, 4);
  assert.equal(ids.intern(3, 4), a);
  const b = ids.intern(4, 3);
  assert.notEqual(b, a);
  assert.deepEqual([ids.get(3, 4), ids.get(4, 3), ids.get(5, 5), ids.size], [a, b, -1, 2]);
  assert.deepEqual([ids.a(b), ids.b(b)], [4, 3]);
  ids.delete(a);
  assert.deepEqual([ids.get(3, 4), ids.get(4, 3), ids.size], [-1, b, 1]);
  assert.equal(ids.intern(9, 0), a, "a freed id is handed out again");
});

Deno.test("PairIds agrees with a Map over random interns, deletes and growth", () => {
  const ids = new PairIds();
  const reference = new Map<string, number>();
  let seed = 5;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  let most = 0;
  for (let step = 0; step < 200_000; step++) {
    const range = step < 100_000 ? 50 : 400;
    const a = random() % range;
    const b = random() % range;
    const key = `${a},${b}`;
    const op = random() % 3;
    if (op === 0) {
      const id = ids.intern(a, b);
      const known = reference.get(key);
      if (known !== undefined && known !== id) {
        throw new Error(`intern(${key}) moved at step ${step}`);
      }
      reference.set(key, id);
    } else if (op === 1) {
      const id = reference.get(key);
      if (id !== undefined) {
        ids.delete(id);
        reference.delete(key);
      }
    } else if (ids.get(a, b) !== (reference.get(key) ?? -1)) {
      throw new Error(`get(${key}) differs at step ${step}`);
    }
    most = Math.max(most, reference.size);
  }
  assert.equal(ids.size, reference.size);
  assert.ok(ids.capacity <= most, "ids are reused, not handed out beyond the most pairs held");
  for (const [key, id] of reference) {
    assert.equal(`${ids.a(id)},${ids.b(id)}`, key);
    assert.equal(ids.get(ids.a(id), ids.b(id)), id);
  }
});
