import assert from "node:assert/strict";
import { join } from "node:path";
import { parseTreeCovers } from "@traffic-analyzer/shared/explain";
import { trainRandomForest } from "./random_forest.ts";
import { saveFlowModel, sidecarPathFor } from "./save_flow_model.ts";
import { makeSyntheticDataset } from "./synthetic_dataset.ts";
import { hashTrainingData, sha256Hex } from "./training_data_hash.ts";

Deno.test("saveFlowModel() writes the model and a sidecar describing it, reproducibly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { X, y, groups } = makeSyntheticDataset({ rows: 300, features: 3, classes: 2, seed: 3 });
    const featureNames = ["x", "y", "z"];
    const save = async (path: string) =>
      await saveFlowModel(path, trainRandomForest(X, y, { treeCount: 3, seed: 9 }), {
        featureNames,
        featureVersion: 2,
        modelVersion: "test-1",
        trainingDataSha256: await hashTrainingData(X, y, groups),
        metrics: { macroF1: 0.5 },
      });
    const first = join(dir, "a.onnx");
    const sidecar = await save(first);
    const onnx = await Deno.readFile(first);
    const json = await Deno.readTextFile(join(dir, "a.json"));
    assert.deepEqual(JSON.parse(json), sidecar);
    assert.equal(sidecar.onnxSha256, await sha256Hex(onnx));
    assert.deepEqual(sidecar.featureNames, featureNames);
    assert.equal(sidecar.featureVersion, 2);
    assert.deepEqual(sidecar.classes, ["class_0", "class_1"]);
    assert.deepEqual(sidecar.onnxClasses, ["class_0", "class_1", "__unused__"]);
    assert.equal(sidecar.training.rows, 300);
    assert.equal(sidecar.training.options.treeCount, 3);
    assert.deepEqual(Object.keys(sidecar.featureImportances), featureNames);
    assert.deepEqual(sidecar.metrics, { macroF1: 0.5 });

    const coversText = await Deno.readTextFile(join(dir, "a.covers.json"));
    const covers = parseTreeCovers(coversText);
    assert.equal(covers.modelVersion, "test-1");
    assert.equal(covers.onnxSha256, sidecar.onnxSha256);
    assert.equal(covers.trees.length, 3);
    assert.equal(
      covers.trees.reduce((s, t) => s + t.length, 0),
      sidecar.training.nodes,
      "one cover per node",
    );
    assert.equal(covers.trees[0][0], 300, "each root covers the 300 bootstrap draws");

    // Training and saving again yields the same bytes in all three files.
    const second = join(dir, "b.onnx");
    await save(second);
    assert.deepEqual(await Deno.readFile(second), onnx);
    assert.equal(await Deno.readTextFile(join(dir, "b.json")), json);
    assert.equal(await Deno.readTextFile(join(dir, "b.covers.json")), coversText);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sidecarPathFor() swaps .onnx for .json and refuses other names", () => {
  assert.equal(sidecarPathFor("models/flow_classifier.onnx"), "models/flow_classifier.json");
  assert.throws(() => sidecarPathFor("models/flow_classifier.bin"), /must end in .onnx/);
});
