/**
 * Benchmark of the flow scorer: trains a random forest on a seeded synthetic
 * data set (or takes an existing model), then measures flows scored per
 * second through onnxruntime and, for comparison, through the in-process
 * TypeScript forest. Prints one line per measurement and a final JSON line
 * for the bench harness.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-ffi models/ml/scorer_bench.ts \
 *   [--rows 100000] [--features 60] [--trees 100] [--noise 1] [--batch 4096] [--threads 0] \
 *   [--model models/flow_classifier.onnx]
 * ```
 *
 * With `--model`, rows are synthetic vectors of the model's width, so the
 * rate reflects that model's size but not real traffic's paths through it.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type Forest,
  makeSyntheticDataset,
  predictBatch,
  saveFlowModel,
  trainRandomForest,
} from "./mod.ts";
import { loadFlowScorer } from "@traffic-analyzer/aggregator/scorer";

/** Options for {@linkcode runScorerBench}. */
export interface ScorerBenchOptions {
  /** Rows to score (and to train on, without `modelPath`). @default 100_000 */
  rows?: number;
  /** Features per row for the synthetic model. @default 60 */
  features?: number;
  /** Trees in the synthetic model. @default 100 */
  trees?: number;
  /** Class overlap of the synthetic data; more noise grows bigger trees. @default 1 */
  noise?: number;
  /** Rows per onnxruntime call. @default 4096 */
  batchSize?: number;
  /** onnxruntime intra-op threads (0 = one per core). @default 0 */
  threads?: number;
  /** Existing model to score with instead of training one. @default none */
  modelPath?: string;
  /** Timed repetitions; the best is reported. @default 3 */
  repeats?: number;
}

/** What {@linkcode runScorerBench} measured. */
export interface ScorerBenchResult {
  /** Rows scored per repetition. */
  rows: number;
  /** Features per row. */
  features: number;
  /** Trees in the model (null for an existing model). */
  trees: number | null;
  /** Tree nodes in the model (null for an existing model). */
  nodes: number | null;
  /** Training time of the synthetic model, ms (null with `modelPath`). */
  trainMs: number | null;
  /** Flows per second through onnxruntime, best repetition. */
  onnxFlowsPerSec: number;
  /** Flows per second through the in-process forest (null with `modelPath`). */
  inProcessFlowsPerSec: number | null;
}

async function best(repeats: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await fn();
    min = Math.min(min, performance.now() - start);
  }
  return min;
}

/** Runs the benchmark and returns its numbers. */
export async function runScorerBench(options: ScorerBenchOptions = {}): Promise<ScorerBenchResult> {
  const rows = options.rows ?? 100_000;
  const repeats = options.repeats ?? 3;
  const dir = await Deno.makeTempDir({ prefix: "scorer_bench_" });
  try {
    let modelPath = options.modelPath;
    let forest: Forest | null = null;
    let trainMs: number | null = null;
    let featureNames: string[];
    let featureVersion: number;
    let X: Float32Array[];
    if (modelPath === undefined) {
      const features = options.features ?? 60;
      const data = makeSyntheticDataset({
        rows,
        features,
        classes: 7,
        informative: Math.min(12, features),
        noise: options.noise ?? 1,
        groups: 20,
        seed: 1,
      });
      X = data.X;
      const y = data.y.map((label) => (label === "class_0" ? "benign" : label));
      const start = performance.now();
      forest = trainRandomForest(X, y, { treeCount: options.trees ?? 100, seed: 1 });
      trainMs = performance.now() - start;
      featureNames = Array.from({ length: features }, (_, i) => `f${i}`);
      featureVersion = 0;
      modelPath = join(dir, "bench.onnx");
      await saveFlowModel(modelPath, forest, {
        featureNames,
        featureVersion,
        modelVersion: "bench",
        trainingDataSha256: "",
      });
    } else {
      const sidecar = JSON.parse(await Deno.readTextFile(modelPath.replace(/\.onnx$/, ".json")));
      featureNames = sidecar.featureNames;
      featureVersion = sidecar.featureVersion;
      const width = featureNames.length;
      X = makeSyntheticDataset({ rows, features: width, informative: Math.min(12, width), seed: 1 })
        .X;
    }

    const scorer = await loadFlowScorer({
      modelPath,
      expectedFeatureNames: featureNames,
      expectedFeatureVersion: featureVersion,
      batchSize: options.batchSize ?? 4096,
      threads: options.threads ?? 0,
    });
    try {
      await scorer.score(X.slice(0, 1000));
      const onnxMs = await best(repeats, () => scorer.score(X));
      const inProcessMs = forest ? await best(repeats, () => predictBatch(forest, X)) : null;
      return {
        rows,
        features: featureNames.length,
        trees: forest?.trees.length ?? null,
        nodes: forest ? forest.trees.reduce((s, t) => s + t.feature.length, 0) : null,
        trainMs,
        onnxFlowsPerSec: rows / (onnxMs / 1000),
        inProcessFlowsPerSec: inProcessMs === null ? null : rows / (inProcessMs / 1000),
      };
    } finally {
      await scorer.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rows: { type: "string" },
      features: { type: "string" },
      trees: { type: "string" },
      noise: { type: "string" },
      batch: { type: "string" },
      threads: { type: "string" },
      model: { type: "string" },
      repeats: { type: "string" },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const result = await runScorerBench({
    rows: num(values.rows),
    features: num(values.features),
    trees: num(values.trees),
    noise: num(values.noise),
    batchSize: num(values.batch),
    threads: num(values.threads),
    modelPath: values.model,
    repeats: num(values.repeats),
  });
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  if (result.trainMs !== null) {
    console.log(
      `train: ${result.rows} rows x ${result.features} features x ${result.trees} trees in ${
        (result.trainMs / 1000).toFixed(2)
      } s (${fmt(result.nodes!)} nodes)`,
    );
  }
  console.log(`onnxruntime: ${fmt(result.onnxFlowsPerSec)} flows/s`);
  if (result.inProcessFlowsPerSec !== null) {
    console.log(`in-process: ${fmt(result.inProcessFlowsPerSec)} flows/s`);
  }
  console.log(JSON.stringify({ bench: "scorer", ...result }));
}
