import assert from "node:assert/strict";
import {
  formatTreeCovers,
  parseTreeCovers,
  TreeCoversError,
  treeCoversPathFor,
} from "./tree_covers.ts";

const SHA = "ab".repeat(32);

Deno.test("formatTreeCovers() writes one tree per line and parseTreeCovers() reads it back", () => {
  const text = formatTreeCovers({
    modelVersion: "m1",
    onnxSha256: SHA,
    trees: [Uint32Array.of(5, 2, 3), [7]],
  });
  assert.match(text, /^ {4}\[5,2,3\],$/m);
  assert.match(text, /^ {4}\[7\]$/m);
  const covers = parseTreeCovers(text);
  assert.equal(covers.modelVersion, "m1");
  assert.equal(covers.onnxSha256, SHA);
  assert.deepEqual(covers.trees, [Uint32Array.of(5, 2, 3), Uint32Array.of(7)]);
  assert.deepEqual(JSON.parse(text).format, "traffic-analyzer-tree-covers");
});

Deno.test("parseTreeCovers() names what is wrong with a bad file", async (t) => {
  const good = JSON.parse(formatTreeCovers({ modelVersion: "m", onnxSha256: SHA, trees: [[1]] }));
  await t.step("not JSON", () => {
    assert.throws(() => parseTreeCovers("{"), TreeCoversError);
  });
  await t.step("a zero cover", () => {
    assert.throws(
      () => parseTreeCovers(JSON.stringify({ ...good, trees: [[2, 0, 2]] })),
      /trees\.0\.1/,
    );
  });
  await t.step("another format version", () => {
    assert.throws(
      () => parseTreeCovers(JSON.stringify({ ...good, formatVersion: 2 })),
      /formatVersion/,
    );
  });
});

Deno.test("treeCoversPathFor() puts the covers beside the model and refuses other names", () => {
  assert.equal(treeCoversPathFor("models/x.onnx"), "models/x.covers.json");
  assert.throws(() => treeCoversPathFor("models/x.bin"), /must end in .onnx/);
});
