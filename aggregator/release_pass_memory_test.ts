import assert from "node:assert/strict";
import { releasePassMemory } from "./release_pass_memory.ts";

Deno.test("releasePassMemory() runs a full collection, which frees the garbage", () => {
  // Garbage old enough to be in the old generation, which only a full
  // collection (or V8 reaching its limit) frees.
  let garbage: { n: number }[] | null = Array.from({ length: 1_000_000 }, (_, n) => ({ n }));
  for (let i = 0; i < 5; i++) releasePassMemory();
  const withGarbage = Deno.memoryUsage().heapUsed;
  garbage = null;
  // node:v8 lets any Deno process expose the collector.
  assert.equal(releasePassMemory(), true);
  const after = Deno.memoryUsage().heapUsed;
  assert.equal(garbage, null);
  assert.ok(
    after < withGarbage - 10_000_000,
    `heap used ${withGarbage} bytes before the collection, ${after} after`,
  );
});
