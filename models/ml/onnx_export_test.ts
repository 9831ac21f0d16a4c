import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { exportForestToOnnx, onnxClassLabels } from "./onnx_export.ts";
import { predictBatch } from "./predict.ts";
import { trainRandomForest } from "./random_forest.ts";
import { makeSyntheticDataset } from "./synthetic_dataset.ts";

/** Decodes one protobuf message into field number -> raw values (numbers or byte strings). */
function decode(bytes: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const fields = new Map<number, (number | Uint8Array)[]>();
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let value: number | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      value = bytes.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 5) {
      value = new DataView(bytes.buffer, bytes.byteOffset + pos, 4).getFloat32(0, true);
      pos += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

const text = (v: number | Uint8Array | undefined): string =>
  new TextDecoder().decode(v as Uint8Array);
const sub = (v: number | Uint8Array | undefined) => decode(v as Uint8Array);

async function runOnnx(bytes: Uint8Array, rows: Float32Array[], width: number) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const data = new Float32Array(rows.length * width);
    rows.forEach((r, i) => data.set(r, i * width));
    const out = await session.run({
      features: new ort.Tensor("float32", data, [rows.length, width]),
    });
    return {
      labels: out.label.data as string[],
      probabilities: out.probabilities.data as Float32Array,
      columns: out.probabilities.dims[1],
    };
  } finally {
    await session.release();
  }
}

Deno.test("exportForestToOnnx() writes the ModelProto fields onnx.proto defines", () => {
  const { X, y } = makeSyntheticDataset({ rows: 200, features: 4, classes: 3, seed: 1 });
  const forest = trainRandomForest(X, y, { treeCount: 3 });
  const bytes = exportForestToOnnx(forest, {
    featureNames: ["a", "b", "c", "d"],
    featureVersion: 7,
    modelVersion: "m1",
    metadata: { zeta: "z", alpha: "x" },
  });
  const model = decode(bytes);
  assert.deepEqual(model.get(1), [8]); // ir_version
  assert.equal(text(model.get(2)?.[0]), "traffic-analyzer"); // producer_name
  const opsets = model.get(8)!.map((o) => [text(sub(o).get(1)?.[0]), sub(o).get(2)?.[0]]);
  assert.deepEqual(opsets, [["", 15], ["ai.onnx.ml", 3]]);
  const metadata = model.get(14)!.map((e) => [text(sub(e).get(1)?.[0]), text(sub(e).get(2)?.[0])]);
  assert.deepEqual(metadata, [
    ["classes", '["class_0","class_1","class_2"]'],
    ["feature_names", '["a","b","c","d"]'],
    ["feature_version", "7"],
    ["model_version", "m1"],
    ["tree_count", "3"],
    ["alpha", "x"],
    ["zeta", "z"],
  ]);
  const graph = sub(model.get(7)![0]);
  const nodes = graph.get(1)!.map(sub);
  assert.deepEqual(nodes.map((n) => text(n.get(4)?.[0])), ["TreeEnsembleClassifier", "Div"]);
  assert.equal(text(nodes[0].get(7)?.[0]), "ai.onnx.ml");
  const attributes = nodes[0].get(5)!.map(sub);
  const byName = new Map(attributes.map((a) => [text(a.get(1)?.[0]), a]));
  assert.equal(text(byName.get("post_transform")?.get(4)?.[0]), "NONE");
  assert.deepEqual(
    byName.get("classlabels_strings")?.get(9)?.map(text),
    ["class_0", "class_1", "class_2"],
  );
  const modes = byName.get("nodes_modes")!.get(9)!.map(text);
  const nodeCount = forest.trees.reduce((s, t) => s + t.feature.length, 0);
  assert.equal(modes.length, nodeCount);
  assert.ok(modes.every((m) => m === "BRANCH_LEQ" || m === "LEAF"));
  const input = sub(graph.get(11)![0]);
  assert.equal(text(input.get(1)?.[0]), "features");
  assert.deepEqual(graph.get(12)!.map((o) => text(sub(o).get(1)?.[0])), ["label", "probabilities"]);
});

Deno.test("exportForestToOnnx() is byte-for-byte deterministic", () => {
  const { X, y } = makeSyntheticDataset({ rows: 300, features: 5, seed: 2 });
  const forest = trainRandomForest(X, y, { treeCount: 4 });
  assert.deepEqual(exportForestToOnnx(forest), exportForestToOnnx(forest));
});

Deno.test("exportForestToOnnx() models give onnxruntime exactly the in-process predictions", async (t) => {
  for (const classes of [2, 3, 6]) {
    await t.step(`${classes} classes, with NaN and infinities in the input`, async () => {
      const { X, y } = makeSyntheticDataset({
        rows: 1500,
        features: 9,
        classes,
        noise: 1.5,
        nonFiniteRate: 0.03,
        seed: 10 + classes,
      });
      // An even tree count makes exact 50/50 votes common: ties must break alike.
      const forest = trainRandomForest(X.slice(0, 1000), y.slice(0, 1000), {
        treeCount: 10,
        seed: 4,
      });
      const test = X.slice(1000);
      const onnx = await runOnnx(exportForestToOnnx(forest), test, 9);
      const expected = predictBatch(forest, test);
      const ties = expected.probabilities.filter((p) =>
        p.filter((v) => v === Math.max(...p)).length > 1
      );
      assert.ok(ties.length > 0, "the test rows should include tied votes");
      assert.equal(onnx.columns, onnxClassLabels(forest).length);
      assert.deepEqual(onnx.labels, expected.labels);
      test.forEach((_, i) => {
        const row = onnx.probabilities.subarray(i * onnx.columns, i * onnx.columns + classes);
        assert.deepEqual(row, expected.probabilities[i]);
        for (let c = classes; c < onnx.columns; c++) {
          assert.equal(onnx.probabilities[i * onnx.columns + c], 0);
        }
      });
    });
  }
});

Deno.test("onnxClassLabels() pads two-class forests with a label that is not a class", () => {
  assert.deepEqual(onnxClassLabels({ classes: ["a", "b"] }), ["a", "b", "__unused__"]);
  assert.deepEqual(onnxClassLabels({ classes: ["__unused__", "b"] }), [
    "__unused__",
    "b",
    "__unused___",
  ]);
  assert.deepEqual(onnxClassLabels({ classes: ["a", "b", "c"] }), ["a", "b", "c"]);
});

Deno.test("exportForestToOnnx() rejects wrong feature names and reserved metadata keys", () => {
  const forest = trainRandomForest([Float32Array.of(1), Float32Array.of(2)], ["a", "b"], {
    treeCount: 1,
  });
  assert.throws(
    () => exportForestToOnnx(forest, { featureNames: ["x", "y"] }),
    /'featureNames' must have 1 entries/,
  );
  assert.throws(() => exportForestToOnnx(forest, { metadata: { classes: "x" } }), /reserved key/);
});
