import assert from "node:assert/strict";
import { FEATURE_NAMES } from "@traffic-analyzer/shared/flow";
import { FeatureCatalogError, loadFeatureCatalog, parseFeatureTable } from "./feature_catalog.ts";

Deno.test("parseFeatureTable reads index, name, definition and unit of each row", () => {
  const rows = parseFeatureTable([
    "| #  | Name | Definition | Unit |",
    "| -- | ---- | ---------- | ---- |",
    "| 0  | `proto_tcp` | 1 if the flow is TCP, else 0 | flag |",
    "| 9  | `duration_sec` | `last_seen − first_seen` | s |",
    "Some prose | with a bar.",
  ].join("\n"));
  assert.deepEqual(rows, [
    { index: 0, name: "proto_tcp", definition: "1 if the flow is TCP, else 0", unit: "flag" },
    { index: 9, name: "duration_sec", definition: "`last_seen − first_seen`", unit: "s" },
  ]);
});

Deno.test("the committed FEATURES.md names every feature in FEATURE_NAMES' order, with a unit", () => {
  const catalog = loadFeatureCatalog();
  assert.deepEqual(catalog.features.map((f) => f.name), [...FEATURE_NAMES]);
  for (const feature of catalog.features) assert.notEqual(feature.unit, "", feature.name);
});

Deno.test("a feature list that disagrees with FEATURE_NAMES is refused", async () => {
  const file = await Deno.makeTempFile({ suffix: ".md" });
  try {
    await Deno.writeTextFile(file, "| 0 | `proto_tcp` | TCP | flag |\n");
    assert.throws(
      () => loadFeatureCatalog(new URL(`file://${file}`)),
      FeatureCatalogError,
    );
    assert.throws(
      () => loadFeatureCatalog(new URL("file:///nonexistent/FEATURES.md")),
      /Cannot read the feature list/,
    );
  } finally {
    await Deno.remove(file);
  }
});
