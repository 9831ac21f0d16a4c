/**
 * The training procedure, in memory. Every source (a lab run, a kit capture)
 * goes to one of a few folds; for each fold a forest is trained on the other
 * folds' training rows and scores everything of that fold, so every flow is
 * scored by a forest that never saw its source ("out of fold"). Those scores
 * fit the isotonic calibration, choose the decision threshold for the target
 * false-alarm rate on benign flows, and give the per-source evaluation. The
 * shipped forest is then trained on every training row and carries the
 * calibration and threshold fitted out of fold.
 *
 * Training rows are the lab runs' labelled flows and the kit's benign flows
 * (benign captures and the background of attack captures). The kit's attack
 * flows are scored, never trained on.
 *
 * Everything is seeded, so the same data and options give the same forests,
 * calibration and threshold, bit for bit.
 *
 * @module
 */

import {
  calibrateScore,
  FEATURE_VERSION,
  fitIsotonicCalibration,
  flowVerdict,
  type ScoreCalibration,
} from "@traffic-analyzer/shared/flow";
import { TRAFFIC_CLASSES } from "../lab/run_settings.ts";
import {
  type Forest,
  hashTrainingData,
  predictBatch,
  type RandomForestOptions,
  trainRandomForest,
} from "../ml/mod.ts";

/**
 * Version of this training procedure, the first number of every model
 * version: bump it when the procedure (folds, base settings, calibration,
 * threshold rule) changes, so that models made differently from the same
 * data never share a version.
 */
export const TRAINING_PROCEDURE_VERSION = 2;

/**
 * Forest settings. Balanced class weights because the classes are very
 * unbalanced (a few dozen ICMP flood flows against thousands of scan probes)
 * and every class should count; a depth limit keeps the committed model
 * small. √features per split and leaves of at least 2 rows are what the
 * earlier leave-one-run-out grid chose on every run set it was given.
 */
export const BASE_FOREST_OPTIONS: Readonly<RandomForestOptions> = Object.freeze({
  treeCount: 100,
  maxDepth: 20,
  classWeight: "balanced",
  maxBins: 64,
  maxFeatures: "sqrt",
  minSamplesLeaf: 2,
});

/** Folds the sources are spread over. */
export const FOLD_COUNT = 5;

/** Largest share of held-out benign flows the default threshold may alert on. */
export const TARGET_FALSE_ALARM_RATE = 0.01;

/** Thresholds tried, lowest first: 0.01 to 0.99 in steps of 0.01. */
export const THRESHOLD_GRID: readonly number[] = Object.freeze(
  Array.from({ length: 99 }, (_, i) => (i + 1) / 100),
);

/** Rows the forests learn from: each row's features, class and source. */
export interface TrainingRows {
  /** Feature vectors. */
  X: Float32Array[];
  /** Class of each row. */
  y: string[];
  /** Source (lab run id or kit file name) of each row. */
  groups: string[];
  /** Sources that come from the kit (real traffic) rather than the lab. */
  kitSources: ReadonlySet<string>;
}

/** Flows of one kit attack capture, scored but never trained on. */
export interface ValidationCapture {
  /** The capture's file name, its source. */
  source: string;
  /** Feature vectors of its attack flows. */
  X: Float32Array[];
}

/** Options for {@linkcode trainFlowClassifier}. */
export interface TrainFlowClassifierOptions {
  /** Seeds the folds and every forest. @default {1} */
  seed?: number;
  /** Forest settings. @default {BASE_FOREST_OPTIONS} */
  forest?: RandomForestOptions;
  /** Folds. @default {FOLD_COUNT} */
  foldCount?: number;
}

/** How the decision threshold was chosen. */
export interface ThresholdChoice {
  /** The chosen threshold (also the default `ALERT_MIN_SCORE`). */
  threshold: number;
  /** Share of all held-out benign training flows at or above it. */
  benignFalseAlarmRate: number;
  /** Share of the kit's held-out benign flows at or above it. */
  kitBenignFalseAlarmRate: number;
  /** Share of held-out lab attack flows at or above it. */
  labAttackFlaggedRate: number;
  /** Whether some threshold met the target (else the highest grid value was taken). */
  metTarget: boolean;
}

/** Everything {@linkcode trainFlowClassifier} produced. */
export interface FlowClassifierTraining {
  /** Seed used. */
  seed: number;
  /** Classes in report order (the lab's order, benign first). */
  classes: string[];
  /** Fold of each source. */
  foldOf: Map<string, number>;
  /** Folds used. */
  foldCount: number;
  /** Forest settings used. */
  forestOptions: RandomForestOptions;
  /** Out-of-fold class probabilities of each training row (forest class order). */
  oofProbabilities: Float32Array[];
  /** Out-of-fold probabilities of each validation capture's flows, by source. */
  validationProbabilities: Map<string, Float32Array[]>;
  /** Calibration fitted out of fold, with the chosen threshold. */
  calibration: ScoreCalibration;
  /** The threshold choice. */
  thresholdChoice: ThresholdChoice;
  /** The model to ship, trained on every training row. */
  shipped: {
    forest: Forest;
    trainingDataSha256: string;
    /**
     * `flow-rf-<TRAINING_PROCEDURE_VERSION>.<FEATURE_VERSION>-<first 8 hex digits of the data
     * hash>-s<seed>`: what made the model, readable in every scored flow.
     */
    modelVersion: string;
  };
}

/** FNV-1a of a string, mixed with the seed: a stable pseudo-random order of sources. */
function sourceRank(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * Spreads sources over folds: lab runs and kit captures each in a seeded
 * order, dealt round-robin, so every fold holds out some of both and every
 * fold's training side keeps most lab runs (every class).
 */
export function assignFolds(
  labSources: readonly string[],
  kitSources: readonly string[],
  options: { foldCount: number; seed: number },
): Map<string, number> {
  const { foldCount, seed } = options;
  const order = (names: readonly string[]) =>
    [...new Set(names)].sort().sort((a, b) => sourceRank(a, seed) - sourceRank(b, seed));
  const foldOf = new Map<string, number>();
  let next = 0;
  for (const list of [order(labSources), order(kitSources)]) {
    for (const name of list) foldOf.set(name, next++ % foldCount);
  }
  return foldOf;
}

/** The calibrated verdicts of probability rows (of the feature vectors `features`, when given). */
export function verdictsOf(
  probabilities: readonly Float32Array[],
  forestClasses: readonly string[],
  calibration: ScoreCalibration | null,
  features?: readonly Float32Array[],
): { label: string; score: number; rawScore: number }[] {
  const benignIndex = forestClasses.indexOf("benign");
  return probabilities.map((p, i) =>
    flowVerdict(p, { classes: forestClasses, benignIndex, calibration, features: features?.[i] })
  );
}

function chooseThreshold(
  scores: readonly number[],
  y: readonly string[],
  isKit: readonly boolean[],
): ThresholdChoice {
  const rate = (t: number, keep: (i: number) => boolean) => {
    let n = 0;
    let hit = 0;
    for (let i = 0; i < scores.length; i++) {
      if (!keep(i)) continue;
      n++;
      if (scores[i] >= t) hit++;
    }
    return n === 0 ? 0 : hit / n;
  };
  const at = (t: number, metTarget: boolean): ThresholdChoice => ({
    threshold: t,
    benignFalseAlarmRate: rate(t, (i) => y[i] === "benign"),
    kitBenignFalseAlarmRate: rate(t, (i) => y[i] === "benign" && isKit[i]),
    labAttackFlaggedRate: rate(t, (i) => y[i] !== "benign" && !isKit[i]),
    metTarget,
  });
  for (const t of THRESHOLD_GRID) {
    const choice = at(t, true);
    // The kit's real traffic separately: the lab's benign flows, many and easy, would
    // otherwise set the threshold alone.
    if (
      choice.benignFalseAlarmRate <= TARGET_FALSE_ALARM_RATE &&
      choice.kitBenignFalseAlarmRate <= TARGET_FALSE_ALARM_RATE
    ) return choice;
  }
  return at(THRESHOLD_GRID[THRESHOLD_GRID.length - 1], false);
}

/**
 * Runs the training procedure.
 *
 * @example
 * ```ts
 * const training = await trainFlowClassifier(rows, validation, { seed: 1 });
 * training.calibration.decisionThreshold;
 * ```
 */
export async function trainFlowClassifier(
  rows: TrainingRows,
  validation: readonly ValidationCapture[],
  options: TrainFlowClassifierOptions = {},
): Promise<FlowClassifierTraining> {
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) {
    throw new RangeError(
      `Cannot train the flow classifier as 'seed' must be an integer: current value is ${seed}`,
    );
  }
  const foldCount = options.foldCount ?? FOLD_COUNT;
  if (!Number.isInteger(foldCount) || foldCount < 2) {
    throw new RangeError(
      `Cannot train the flow classifier as 'foldCount' must be an integer >= 2: current value is ${foldCount}`,
    );
  }
  const forestOptions = { ...(options.forest ?? BASE_FOREST_OPTIONS), seed };
  const present = new Set<string>(rows.y);
  const classes = [
    ...TRAFFIC_CLASSES.filter((c) => present.has(c)),
    ...[...present].filter((c) => !(TRAFFIC_CLASSES as readonly string[]).includes(c)).sort(),
  ];
  const kitNames = [
    ...new Set([
      ...rows.groups.filter((g) => rows.kitSources.has(g)),
      ...validation.map((v) => v.source),
    ]),
  ];
  const labNames = rows.groups.filter((g) => !rows.kitSources.has(g));
  const foldOf = assignFolds(labNames, kitNames, { foldCount, seed });

  const oofProbabilities: Float32Array[] = new Array(rows.X.length);
  const validationProbabilities = new Map<string, Float32Array[]>();
  let forestClasses: string[] | null = null;
  for (let fold = 0; fold < foldCount; fold++) {
    const trainIdx: number[] = [];
    const testIdx: number[] = [];
    rows.groups.forEach((g, i) => (foldOf.get(g) === fold ? testIdx : trainIdx).push(i));
    const held = validation.filter((v) => foldOf.get(v.source) === fold);
    if (testIdx.length === 0 && held.length === 0) continue;
    const forest = trainRandomForest(
      trainIdx.map((i) => rows.X[i]),
      trainIdx.map((i) => rows.y[i]),
      { ...forestOptions, seed: seed * 31 + fold },
    );
    if (forestClasses !== null && forestClasses.join() !== forest.classes.join()) {
      throw new RangeError(
        `Cannot train the flow classifier as fold ${fold} lacks a class (${
          forest.classes.join(", ")
        }): record more lab runs`,
      );
    }
    forestClasses = forest.classes;
    const p = predictBatch(forest, testIdx.map((i) => rows.X[i])).probabilities;
    testIdx.forEach((row, k) => (oofProbabilities[row] = p[k]));
    for (const v of held) {
      validationProbabilities.set(v.source, predictBatch(forest, v.X).probabilities);
    }
  }

  const forest = trainRandomForest(rows.X, rows.y, forestOptions);
  if (forestClasses !== null && forestClasses.join() !== forest.classes.join()) {
    throw new RangeError(
      `Cannot train the flow classifier as the folds' classes differ from the shipped model's`,
    );
  }
  const raw = verdictsOf(oofProbabilities, forest.classes, null).map((v) => v.rawScore);
  const positive = rows.y.map((c) => c !== "benign");
  const fitted = fitIsotonicCalibration(raw, positive, 1);
  // The scorer's own lookup, so the threshold and the stored scores agree exactly.
  const calibrated = raw.map((r) => calibrateScore(fitted, r));
  const isKit = rows.groups.map((g) => rows.kitSources.has(g));
  const thresholdChoice = chooseThreshold(calibrated, rows.y, isKit);
  const calibration = { ...fitted, decisionThreshold: thresholdChoice.threshold };

  const trainingDataSha256 = await hashTrainingData(rows.X, rows.y, rows.groups);
  return {
    seed,
    classes,
    foldOf,
    foldCount,
    forestOptions,
    oofProbabilities,
    validationProbabilities,
    calibration,
    thresholdChoice,
    shipped: {
      forest,
      trainingDataSha256,
      modelVersion: `flow-rf-${TRAINING_PROCEDURE_VERSION}.${FEATURE_VERSION}-${
        trainingDataSha256.slice(0, 8)
      }-s${seed}`,
    },
  };
}
