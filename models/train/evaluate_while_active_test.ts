import assert from "node:assert/strict";
import { classificationReport, predictBatch, trainRandomForest } from "../ml/mod.ts";
import { buildLabelledDataset } from "./build_labelled_dataset.ts";
import { evaluateWhileActive } from "./evaluate_while_active.ts";
import { readLabManifest } from "./read_lab_manifest.ts";

const CAPTURES = new URL("../captures/", import.meta.url).pathname;

async function setUp() {
  const data = await buildLabelledDataset(CAPTURES, { runIds: ["demo"] });
  const forest = trainRandomForest(data.X, data.y, { treeCount: 5, seed: 1, maxDepth: 6 });
  const capture = {
    pcap: `${CAPTURES}demo.pcap`,
    manifest: await readLabManifest(`${CAPTURES}demo.json`),
  };
  return { data, forest, capture };
}

Deno.test("evaluateWhileActive() scores every flow as it grows and ends with the final flows", async (t) => {
  const { data, forest, capture } = await setUp();
  const labels = [...new Set(data.y)].sort();
  const offline = classificationReport(data.y, predictBatch(forest, data.X).labels, { labels });
  for (const passIntervalSec of [0.5, 5, 30, 1e6]) {
    await t.step(`with ${passIntervalSec} s passes`, async () => {
      const result = await evaluateWhileActive(forest, capture, { passIntervalSec });
      assert.equal(result.passIntervalSec, passIntervalSec);
      assert.equal(result.firstScores.truth.length, data.X.length);
      assert.equal(result.lastScores.truth.length, data.X.length);
      assert.ok(result.allScores.truth.length >= data.X.length);
      // Once every flow has ended, each one's last score is its final flow's.
      const last = classificationReport(result.lastScores.truth, result.lastScores.predicted, {
        labels,
      });
      assert.deepEqual(last.confusion, offline.confusion);
    });
  }
  await t.step(
    "passes shorter than the context delay score every flow first without context",
    async () => {
      const result = await evaluateWhileActive(forest, capture, { passIntervalSec: 0.5 });
      assert.equal(result.firstScoredWithoutContext, data.X.length);
      assert.ok(result.passes > 50);
    },
  );
  await t.step(
    "one pass for the whole capture scores live flows with what they have so far",
    async () => {
      const result = await evaluateWhileActive(forest, capture, { passIntervalSec: 1e6 });
      assert.equal(result.passes, 2); // the pass that merges everything, then the drain
      assert.ok(result.allScores.truth.length > data.X.length);
    },
  );
});

Deno.test("evaluateWhileActive() checks the pass interval", async () => {
  const { forest, capture } = await setUp();
  for (const passIntervalSec of [0, -1, Infinity, NaN]) {
    await assert.rejects(
      () => evaluateWhileActive(forest, capture, { passIntervalSec }),
      /'passIntervalSec'/,
    );
  }
});
