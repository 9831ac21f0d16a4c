/**
 * Train/test splits that keep whole groups together (a group is, say, one lab
 * run). Flows of one run share hosts, timing and background traffic, so a
 * random split within a run lets the model memorise the run and reports a
 * score it will not reach on new traffic. Holding out whole runs measures
 * what matters: how the model does on a capture it has never seen.
 *
 * @module
 */

import { createTrainingPrng } from "../prng.ts";

/** Options for {@linkcode splitByGroup}. */
export interface GroupSplitOptions {
  /**
   * Target share of rows in the test set, in (0, 1). Whole groups are taken
   * in a seeded random order until the test set reaches it, so the actual
   * share is at least this (one group may overshoot). Ignored with `testGroups`.
   * @default 0.2
   */
  testFraction?: number;
  /** Seed for the group order. @default 0 */
  seed?: number;
  /** Exactly these groups form the test set. @default none: chosen by `testFraction` */
  testGroups?: readonly string[];
}

/** Row indices and group names of both sides of a split. */
export interface GroupSplit {
  /** Training row indices, ascending. */
  train: number[];
  /** Test row indices, ascending. */
  test: number[];
  /** Groups in the training set, sorted. */
  trainGroups: string[];
  /** Groups in the test set, sorted. */
  testGroups: string[];
}

/**
 * Splits rows into train and test so that every group lands wholly on one
 * side. Needs at least two groups; both sides get at least one.
 *
 * @example
 * ```ts
 * const { train, test } = splitByGroup(runIds, { testFraction: 0.25, seed: 1 });
 * const forest = trainRandomForest(train.map((i) => X[i]), train.map((i) => y[i]));
 * ```
 */
export function splitByGroup(
  groups: readonly string[],
  options: GroupSplitOptions = {},
): GroupSplit {
  const sizes = new Map<string, number>();
  for (const g of groups) sizes.set(g, (sizes.get(g) ?? 0) + 1);
  const all = [...sizes.keys()].sort();
  if (all.length < 2) {
    throw new RangeError(
      `Cannot split by group as 'groups' must hold at least two distinct groups: current value has ${all.length}`,
    );
  }
  let test: Set<string>;
  if (options.testGroups !== undefined) {
    test = new Set(options.testGroups);
    for (const g of test) {
      if (!sizes.has(g)) {
        throw new RangeError(
          `Cannot split by group as 'testGroups' must name existing groups: current value has ${
            JSON.stringify(g)
          }`,
        );
      }
    }
    if (test.size === 0 || test.size === all.length) {
      throw new RangeError(
        `Cannot split by group as 'testGroups' must leave both sides non-empty: current value has ${test.size} of ${all.length} groups`,
      );
    }
  } else {
    const fraction = options.testFraction ?? 0.2;
    if (!(fraction > 0 && fraction < 1)) {
      throw new RangeError(
        `Cannot split by group as 'testFraction' must be in (0, 1): current value is ${fraction}`,
      );
    }
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed)) {
      throw new RangeError(
        `Cannot split by group as 'seed' must be an integer: current value is ${seed}`,
      );
    }
    const order = [...all];
    const prng = createTrainingPrng(seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = prng.below(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    test = new Set();
    let rows = 0;
    for (const g of order) {
      if (rows >= fraction * groups.length || test.size === all.length - 1) break;
      test.add(g);
      rows += sizes.get(g)!;
    }
  }
  const split: GroupSplit = {
    train: [],
    test: [],
    trainGroups: all.filter((g) => !test.has(g)),
    testGroups: all.filter((g) => test.has(g)),
  };
  groups.forEach((g, i) => (test.has(g) ? split.test : split.train).push(i));
  return split;
}
