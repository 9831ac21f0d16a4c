/**
 * The training procedure, in memory: hold out whole runs, choose
 * hyperparameters by cross-validation on the training runs alone, train on
 * the training runs and measure on the held-out runs; then run the same
 * procedure (selection and training) on every run to get the shipped model.
 * The held-out metrics describe the procedure; the shipped model is that
 * procedure applied to all the data there is.
 *
 * Everything is seeded, so the same dataset and options give the same
 * forests, bit for bit.
 *
 * @module
 */

import { FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { TRAFFIC_CLASSES } from "../lab/run_settings.ts";
import {
  type ClassificationReport,
  classificationReport,
  type Forest,
  hashTrainingData,
  predictBatch,
  type RandomForestOptions,
  trainRandomForest,
} from "../ml/mod.ts";
import type { LabelledDataset } from "./build_labelled_dataset.ts";
import { chooseHeldOutRuns, type HeldOutRuns } from "./choose_held_out_runs.ts";
import {
  type HyperparameterCandidate,
  type HyperparameterSelection,
  selectHyperparameters,
} from "./select_hyperparameters.ts";

/**
 * Version of this training procedure, the first number of every model
 * version: bump it when the procedure (grid, base settings, split rule)
 * changes, so that models made differently from the same data never share a
 * version.
 */
export const TRAINING_PROCEDURE_VERSION = 1;

/**
 * Settings every candidate shares. Balanced class weights because the classes
 * are very unbalanced (a few dozen ICMP flood flows against thousands of scan
 * probes) and every class should count; a depth limit keeps the committed
 * model small.
 */
export const BASE_FOREST_OPTIONS: Readonly<RandomForestOptions> = Object.freeze({
  treeCount: 100,
  maxDepth: 20,
  classWeight: "balanced",
  maxBins: 64,
});

/**
 * Candidates tried by cross-validation, in order of preference (a tie goes to
 * the earlier one): the usual √features per split or a third of them, and
 * leaves of at least 2 or 5 rows.
 */
export const HYPERPARAMETER_GRID: readonly HyperparameterCandidate[] = Object.freeze([
  { maxFeatures: "sqrt", minSamplesLeaf: 2 },
  { maxFeatures: "sqrt", minSamplesLeaf: 5 },
  { maxFeatures: 30, minSamplesLeaf: 2 },
  { maxFeatures: 30, minSamplesLeaf: 5 },
]);

/** Options for {@linkcode trainFlowClassifier}. */
export interface TrainFlowClassifierOptions {
  /** Seeds the choice of held-out runs and every forest. @default {1} */
  seed?: number;
  /** Whole runs held out for evaluation. @default {2} */
  heldOutRunCount?: number;
  /** Settings shared by every candidate. @default {BASE_FOREST_OPTIONS} */
  base?: RandomForestOptions;
  /** Hyperparameter candidates. @default {HYPERPARAMETER_GRID} */
  grid?: readonly HyperparameterCandidate[];
}

/** The evaluation half: trained on the training runs, measured on the held-out runs. */
export interface HeldOutEvaluation {
  /** Hyperparameter choice, by leave-one-run-out over the training runs only. */
  selection: HyperparameterSelection;
  /** The forest trained on the training runs with the chosen options. */
  forest: Forest;
  /** Dataset row indices of the held-out runs, ascending. */
  testRows: number[];
  /** Predicted class of each held-out row, in `testRows` order. */
  predicted: string[];
  /** Metrics on the held-out runs. */
  report: ClassificationReport;
  /** Metrics per held-out run. */
  perRun: { runId: string; report: ClassificationReport }[];
}

/** The shipped half: the same procedure on every run. */
export interface ShippedModel {
  /** Hyperparameter choice, by leave-one-run-out over every run. */
  selection: HyperparameterSelection;
  /** The forest trained on every run with the chosen options. */
  forest: Forest;
  /** `hashTrainingData(X, y, groups)` of every row. */
  trainingDataSha256: string;
  /**
   * `flow-rf-<TRAINING_PROCEDURE_VERSION>.<FEATURE_VERSION>-<first 8 hex digits of the data
   * hash>-s<seed>`: what made the model, readable in every scored flow.
   */
  modelVersion: string;
}

/** Everything {@linkcode trainFlowClassifier} produced. */
export interface FlowClassifierTraining {
  /** Seed used. */
  seed: number;
  /** Classes in report order (the lab's order, benign first). */
  classes: string[];
  /** Which runs were held out. */
  split: HeldOutRuns;
  /** Held-out evaluation. */
  evaluation: HeldOutEvaluation;
  /** The model to ship. */
  shipped: ShippedModel;
}

function rowsOf(groups: readonly string[], runs: readonly string[]): number[] {
  const wanted = new Set(runs);
  const rows: number[] = [];
  groups.forEach((g, i) => {
    if (wanted.has(g)) rows.push(i);
  });
  return rows;
}

/**
 * Runs the training procedure on a labelled dataset.
 *
 * @example
 * ```ts
 * const data = await buildLabelledDataset("models/captures");
 * const training = await trainFlowClassifier(data, { seed: 1 });
 * training.evaluation.report.macroF1; // held-out macro-F1
 * ```
 */
export async function trainFlowClassifier(
  data: LabelledDataset,
  options: TrainFlowClassifierOptions = {},
): Promise<FlowClassifierTraining> {
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) {
    throw new RangeError(
      `Cannot train the flow classifier as 'seed' must be an integer: current value is ${seed}`,
    );
  }
  const base = { ...(options.base ?? BASE_FOREST_OPTIONS), seed };
  const grid = options.grid ?? HYPERPARAMETER_GRID;
  const present = new Set<string>(data.y);
  const classes = [
    ...TRAFFIC_CLASSES.filter((c) => present.has(c)),
    ...[...present].filter((c) => !(TRAFFIC_CLASSES as readonly string[]).includes(c)).sort(),
  ];
  const pick = (rows: number[]) => ({
    X: rows.map((i) => data.X[i]),
    y: rows.map((i) => data.y[i]),
    groups: rows.map((i) => data.groups[i]),
  });

  const split = chooseHeldOutRuns(data.groups, data.y, {
    count: options.heldOutRunCount ?? 2,
    seed,
  });
  const train = pick(rowsOf(data.groups, split.train));
  const testRows = rowsOf(data.groups, split.heldOut);
  const test = pick(testRows);
  const evalSelection = selectHyperparameters(train.X, train.y, train.groups, {
    base,
    grid,
    labels: classes,
  });
  const evalForest = trainRandomForest(train.X, train.y, evalSelection.best);
  const predicted = predictBatch(evalForest, test.X).labels;
  const report = classificationReport(test.y, predicted, { labels: classes });
  const perRun = split.heldOut.map((runId) => {
    const idx = test.groups.flatMap((g, k) => (g === runId ? [k] : []));
    return {
      runId,
      report: classificationReport(idx.map((k) => test.y[k]), idx.map((k) => predicted[k]), {
        labels: classes,
      }),
    };
  });

  const shippedSelection = selectHyperparameters(data.X, data.y, data.groups, {
    base,
    grid,
    labels: classes,
  });
  const forest = trainRandomForest(data.X, data.y, shippedSelection.best);
  const trainingDataSha256 = await hashTrainingData(data.X, data.y, data.groups);
  return {
    seed,
    classes,
    split,
    evaluation: {
      selection: evalSelection,
      forest: evalForest,
      testRows,
      predicted,
      report,
      perRun,
    },
    shipped: {
      selection: shippedSelection,
      forest,
      trainingDataSha256,
      modelVersion: `flow-rf-${TRAINING_PROCEDURE_VERSION}.${FEATURE_VERSION}-${
        trainingDataSha256.slice(0, 8)
      }-s${seed}`,
    },
  };
}
