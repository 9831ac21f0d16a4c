/**
 * Chooses random-forest hyperparameters by leave-one-run-out cross-validation
 * over the runs it is given. Callers pass only the training runs, so the
 * held-out runs never influence the choice and their scores stay honest.
 *
 * @module
 */

import {
  type ClassificationReport,
  classificationReport,
  predictBatch,
  type RandomForestOptions,
  trainRandomForest,
} from "../ml/mod.ts";

/** One candidate setting of the grid, merged over the base options. */
export type HyperparameterCandidate = Pick<
  RandomForestOptions,
  "maxFeatures" | "minSamplesLeaf" | "maxDepth" | "treeCount" | "classWeight"
>;

/** Options for {@linkcode selectHyperparameters}. */
export interface SelectHyperparametersOptions {
  /** Settings every candidate shares (seed, tree count, class weights, ...). @default {{}} */
  base?: RandomForestOptions;
  /** Candidates in order of preference: on a tie the earlier one wins. */
  grid: readonly HyperparameterCandidate[];
  /** Label order for the metrics; every class counts in the macro average. @default {the sorted labels} */
  labels?: readonly string[];
}

/** Cross-validated score of one candidate. */
export interface CandidateScore {
  /** The candidate as given. */
  candidate: HyperparameterCandidate;
  /** Metrics on each left-out run, in `runs` order. */
  foldReports: ClassificationReport[];
  /** Macro-F1 on each left-out run, in `runs` order. */
  foldMacroF1: number[];
  /** Mean of `foldMacroF1`. */
  meanMacroF1: number;
  /** Lowest of `foldMacroF1`. */
  minMacroF1: number;
}

/** What {@linkcode selectHyperparameters} found. */
export interface HyperparameterSelection {
  /** Runs used, each left out once, sorted. */
  runs: string[];
  /** Every candidate's score, in grid order. */
  scores: CandidateScore[];
  /** Index into `scores` of the chosen candidate. */
  bestIndex: number;
  /** Base options merged with the chosen candidate. */
  best: RandomForestOptions;
}

/**
 * Scores every candidate by leaving each run out in turn (train on the
 * others, predict the left-out run, macro-F1) and picks the highest mean
 * macro-F1, the earliest candidate on a tie. Needs at least two runs.
 *
 * @example
 * ```ts
 * const { best } = selectHyperparameters(X, y, runIds, {
 *   base: { seed: 1, classWeight: "balanced" },
 *   grid: [{ maxFeatures: "sqrt" }, { maxFeatures: 30 }],
 * });
 * ```
 */
export function selectHyperparameters(
  X: readonly Float32Array[],
  y: readonly string[],
  groups: readonly string[],
  options: SelectHyperparametersOptions,
): HyperparameterSelection {
  const { grid } = options;
  const base = options.base ?? {};
  if (X.length !== y.length || X.length !== groups.length) {
    throw new RangeError(
      `Cannot select hyperparameters as 'X', 'y' and 'groups' must have the same length: current lengths are ${X.length}, ${y.length} and ${groups.length}`,
    );
  }
  if (!Array.isArray(grid) || grid.length === 0) {
    throw new RangeError(
      `Cannot select hyperparameters as 'grid' must hold at least one candidate: current value has ${
        Array.isArray(grid) ? grid.length : "none"
      }`,
    );
  }
  const runs = [...new Set(groups)].sort();
  if (runs.length < 2) {
    throw new RangeError(
      `Cannot select hyperparameters as 'groups' must hold at least two runs: current value has ${runs.length}`,
    );
  }
  const labels = options.labels ? [...options.labels] : [...new Set(y)].sort();
  const folds = runs.map((run) => {
    const train: number[] = [];
    const test: number[] = [];
    groups.forEach((g, i) => (g === run ? test : train).push(i));
    return { train, test };
  });
  const scores: CandidateScore[] = grid.map((candidate) => {
    const opts = { ...base, ...candidate };
    const foldReports = folds.map(({ train, test }) => {
      const forest = trainRandomForest(train.map((i) => X[i]), train.map((i) => y[i]), opts);
      const predicted = predictBatch(forest, test.map((i) => X[i])).labels;
      return classificationReport(test.map((i) => y[i]), predicted, { labels });
    });
    const foldMacroF1 = foldReports.map((r) => r.macroF1);
    return {
      candidate,
      foldReports,
      foldMacroF1,
      meanMacroF1: foldMacroF1.reduce((s, v) => s + v, 0) / foldMacroF1.length,
      minMacroF1: Math.min(...foldMacroF1),
    };
  });
  let bestIndex = 0;
  scores.forEach((s, i) => {
    if (s.meanMacroF1 > scores[bestIndex].meanMacroF1) bestIndex = i;
  });
  return { runs, scores, bestIndex, best: { ...base, ...grid[bestIndex] } };
}
