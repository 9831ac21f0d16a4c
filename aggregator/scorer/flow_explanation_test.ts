import assert from "node:assert/strict";
import { join } from "node:path";
import { FEATURE_NAMES } from "@traffic-analyzer/shared/flow";
import { type FlowExplainer, loadFlowExplainer } from "@traffic-analyzer/shared/explain";
import { loadFlowScorer } from "./flow_scorer.ts";
import { ScorerLoadError } from "./scorer_load_error.ts";
import { loadFlowScorerInWorker } from "./worker_flow_scorer.ts";
import {
  COMMITTED_MODEL_OPTIONS,
  COMMITTED_MODEL_PATH,
  committedScorer,
} from "./_committed_scorer.ts";
import { captureFeatureVectors } from "../_store_capture.ts";

const COMMITTED = COMMITTED_MODEL_PATH;
const COVERS = COMMITTED.replace(/onnx$/, "covers.json");
const SIDECAR = COMMITTED.replace(/onnx$/, "json");
const options = COMMITTED_MODEL_OPTIONS;

const CAPTURE = await captureFeatureVectors(
  new URL("../../models/captures/demo.pcap", import.meta.url).pathname,
);

/** `count` capture vectors picked by `seed`, every other one with noise and some NaN values. */
function vectors(count: number, seed: number): Float32Array[] {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  return Array.from({ length: count }, (_, i) => {
    const row = Float32Array.from(CAPTURE[(seed * 37 + i * 7) % CAPTURE.length]);
    if (i % 2) {
      for (let f = 0; f < row.length; f++) {
        const r = random();
        if (r < 0.01) row[f] = NaN;
        else if (r < 0.2) row[f] *= 1 + random();
      }
    }
    return row;
  });
}

async function committedExplainer(): Promise<FlowExplainer> {
  const sidecar = JSON.parse(await Deno.readTextFile(SIDECAR));
  const explainer = await loadFlowExplainer(COMMITTED, {
    featureNames: sidecar.featureNames,
    onnxSha256: sidecar.onnxSha256,
  });
  assert.ok(explainer !== null, "the committed model has its covers");
  return explainer;
}

Deno.test("TreeSHAP of the committed model adds up to the score onnxruntime gives", async () => {
  const scorer = await committedScorer();
  const explainer = await committedExplainer();
  assert.equal(scorer.explains, true);
  const rows = vectors(400, 11);
  const scored = await scorer.score(rows, { explainMinScore: 0 });
  const benignIndex = scorer.classes.indexOf(scorer.benignLabel);
  let high = 0;
  rows.forEach((row, i) => {
    const contributions = explainer.contributions(row);
    const sum = contributions.reduce((s, c) => s + c, explainer.expectedValue);
    // TreeSHAP explains the raw forest score, 1 - P(benign), before calibration.
    // The runtime sums float32 votes; the explanation works in doubles.
    const raw = Math.fround(1 - scored[i].probabilities[benignIndex]);
    assert.ok(
      Math.abs(sum - raw) < 1e-6,
      `row ${i}: expected value + contributions ${sum}, raw score ${raw}`,
    );
    // Only flows given an attack label are explained.
    const attack = scored[i].label !== scorer.benignLabel;
    assert.deepEqual(scored[i].explanation, attack ? explainer.top(row) : null, `row ${i}`);
    if (raw >= 0.5) high++;
  });
  assert.ok(high > 20 && high < 380, `${high} of 400 rows scored >= 0.5: a weak test`);
});

Deno.test("OnnxFlowScorer.score() explains exactly the attack-labelled flows scored at least explainMinScore", async () => {
  const scorer = await committedScorer();
  const rows = vectors(300, 12);
  const plain = await scorer.score(rows);
  assert.ok(plain.every((s) => s.explanation === null), "no bar, no explanation");
  const scored = await scorer.score(rows, { explainMinScore: 0.5 });
  let explained = 0;
  scored.forEach((s, i) => {
    assert.ok(Object.is(s.score, plain[i].score));
    if (s.score < 0.5 || s.label === scorer.benignLabel) {
      return assert.equal(s.explanation, null, `row ${i}`);
    }
    explained++;
    const e = s.explanation!;
    assert.equal(e.length, 5);
    for (let k = 1; k < e.length; k++) {
      assert.ok(Math.abs(e[k - 1].contribution) >= Math.abs(e[k].contribution));
    }
    for (const c of e) {
      const f = FEATURE_NAMES.indexOf(c.feature);
      assert.ok(f >= 0, `unknown feature ${c.feature}`);
      assert.equal(c.value, Number.isFinite(rows[i][f]) ? rows[i][f] : null);
    }
  });
  assert.ok(explained > 0 && explained < rows.length, `${explained} explained`);
});

Deno.test("loadFlowScorerInWorker() hands back the same explanations", async () => {
  const here = await committedScorer();
  const there = await loadFlowScorerInWorker(options);
  try {
    assert.equal(there.explains, true);
    const rows = vectors(200, 13);
    const a = await here.score(rows, { explainMinScore: 0.5 });
    const b = await there.score(rows, { explainMinScore: 0.5 });
    assert.deepEqual(b.map((s) => s.explanation), a.map((s) => s.explanation));
  } finally {
    await there.close();
  }
});

Deno.test("loadFlowScorer() scores without explanations when the covers file is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flow_explanation_test_" });
  try {
    const path = join(dir, "m.onnx");
    await Deno.copyFile(COMMITTED, path);
    await Deno.copyFile(SIDECAR, join(dir, "m.json"));
    const scorer = await loadFlowScorer({ ...options, modelPath: path });
    try {
      assert.equal(scorer.explains, false);
      const scored = await scorer.score(vectors(20, 14), { explainMinScore: 0 });
      assert.ok(scored.every((s) => s.explanation === null));
    } finally {
      await scorer.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadFlowScorer() refuses covers that belong to another model", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flow_explanation_test_" });
  try {
    const path = join(dir, "m.onnx");
    await Deno.copyFile(COMMITTED, path);
    await Deno.copyFile(SIDECAR, join(dir, "m.json"));
    const covers = JSON.parse(await Deno.readTextFile(COVERS));
    await Deno.writeTextFile(
      join(dir, "m.covers.json"),
      JSON.stringify({ ...covers, onnxSha256: "0".repeat(64) }),
    );
    await assert.rejects(
      () => loadFlowScorer({ ...options, modelPath: path }),
      (e: unknown) =>
        e instanceof ScorerLoadError && e.reason === "invalid_covers" &&
        /another model file/.test(e.message),
    );
    // Covers of the right model but the wrong shape are refused too.
    await Deno.writeTextFile(
      join(dir, "m.covers.json"),
      JSON.stringify({ ...covers, trees: covers.trees.slice(1) }),
    );
    await assert.rejects(
      () => loadFlowScorer({ ...options, modelPath: path }),
      (e: unknown) => e instanceof ScorerLoadError && /99 trees/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("OnnxFlowScorer.score() explains at most explainMaxFlows flows, the highest scores", async () => {
  const scorer = await loadFlowScorer({ ...options, batchSize: 64 });
  try {
    const rows = vectors(300, 15);
    const all = await scorer.score(rows, { explainMinScore: 0.5 });
    const alerted = all.filter((s) => s.explanation !== null).length;
    assert.ok(alerted > 10, `${alerted} alerted`);
    const some = await scorer.score(rows, { explainMinScore: 0.5, explainMaxFlows: 10 });
    const explained = some.flatMap((s, i) => (s.explanation === null ? [] : [i]));
    assert.equal(explained.length, 10);
    const lowestExplained = Math.min(...explained.map((i) => some[i].score));
    some.forEach((s, i) => {
      if (s.explanation === null) assert.ok(s.score <= lowestExplained, `row ${i}`);
      else assert.deepEqual(s.explanation, all[i].explanation);
    });
    const none = await scorer.score(rows, { explainMinScore: 0.5, explainMaxFlows: 0 });
    assert.ok(none.every((s) => s.explanation === null));
    await assert.rejects(
      () => scorer.score(rows, { explainMinScore: 0.5, explainMaxFlows: -1 }),
      /'explainMaxFlows' must be null or an integer >= 0: current value is -1/,
    );
  } finally {
    await scorer.close();
  }
});
