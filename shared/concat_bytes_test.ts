import assert from "node:assert/strict";
import { concatBytes } from "./concat_bytes.ts";

Deno.test("concatBytes() joins parts in order, subarrays by their own extent", () => {
  const whole = Uint8Array.of(9, 1, 2, 3, 9);
  assert.deepEqual(
    concatBytes([Uint8Array.of(7), whole.subarray(1, 4), new Uint8Array(0), Uint8Array.of(8)]),
    Uint8Array.of(7, 1, 2, 3, 8),
  );
});

Deno.test("concatBytes() gives an empty array for no parts", () => {
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
});

Deno.test("concatBytes() copies a single part into a buffer of its own", () => {
  const backing = Uint8Array.of(0, 1, 2, 3);
  const part = backing.subarray(1, 3);
  const joined = concatBytes([part]);
  assert.deepEqual(joined, Uint8Array.of(1, 2));
  assert.notEqual(joined.buffer, backing.buffer);
  assert.equal(joined.byteOffset, 0);
  assert.equal(joined.buffer.byteLength, 2);
  part[0] = 42;
  assert.equal(joined[0], 1, "later writes to the part do not show");
});
