import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { latin1 } from "./_bytes.ts";

Deno.test("latin1() gives one character per byte, for text made before or not, short or long", () => {
  // Few distinct byte values and short runs, so texts come back and share cache slots.
  const run = fc.uint8Array({ maxLength: 300 }).chain((bytes) =>
    fc.tuple(fc.constant(bytes), fc.nat(bytes.length), fc.nat(bytes.length))
  );
  fc.assert(
    fc.property(fc.array(run, { maxLength: 40 }), (runs) => {
      for (const [bytes, a, b] of [...runs, ...runs]) {
        const start = Math.min(a, b);
        const end = Math.max(a, b);
        const expected = Array.from(bytes.subarray(start, end), (x) => String.fromCharCode(x))
          .join("");
        assert.equal(latin1(bytes, start, end), expected);
      }
    }),
    propertyRuns(200),
  );
  // More texts than the cache has slots, each asked for twice: hits and evictions.
  for (let i = 0; i < 10_000; i++) {
    const bytes = new TextEncoder().encode(`host-${i % 5000}.example`);
    assert.equal(latin1(bytes, 0, bytes.length), `host-${i % 5000}.example`);
  }
});
