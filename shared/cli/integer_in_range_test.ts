import assert from "node:assert/strict";
import { integerInRange } from "./integer_in_range.ts";

Deno.test("integerInRange() takes decimal integers within the range, blanks around them ignored", () => {
  const range = { min: -5, max: 50 };
  assert.equal(integerInRange("0", range), 0);
  assert.equal(integerInRange("50", range), 50);
  assert.equal(integerInRange("-5", range), -5);
  assert.equal(integerInRange(" 7 ", range), 7);
  assert.equal(integerInRange("007", range), 7);
});

Deno.test("integerInRange() refuses other spellings and values outside the range", () => {
  const range = { min: 0, max: Number.MAX_SAFE_INTEGER };
  for (
    const text of ["", " ", "1e3", "0x10", "1.5", "1.0", "+3", "ten", "Infinity", "NaN", "3 4"]
  ) {
    assert.equal(integerInRange(text, range), null, JSON.stringify(text));
  }
  assert.equal(integerInRange("9007199254740992", range), null, "past 2^53 - 1");
  assert.equal(integerInRange("-1", range), null);
  assert.equal(integerInRange("51", { min: 1, max: 50 }), null);
});
