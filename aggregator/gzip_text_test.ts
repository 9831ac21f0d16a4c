import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { gzipText } from "./gzip_text.ts";

Deno.test("gzipText() gunzips to the pieces joined, across its buffer size, non-ASCII included", async () => {
  const pieces = ["{", '"a":"é€😀"'];
  // Well past the text it gathers before compressing (2^18 characters).
  for (let i = 0; i < 40_000; i++) pieces.push(`,"k${i}":[${i},"\u00fc${i % 97}"]`);
  pieces.push("}");
  for (const level of [1, 6]) {
    const text = new TextDecoder().decode(gunzipSync(await gzipText(pieces, level)));
    assert.equal(text, pieces.join(""));
  }
  assert.equal(gunzipSync(await gzipText([], 1)).length, 0);
  assert.equal(new TextDecoder().decode(gunzipSync(await gzipText(["", "x", ""], 1))), "x");
});
