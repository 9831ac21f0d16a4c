/**
 * A seeded synthetic classification data set, for tests and benchmarks of the
 * trainer and the scorer when no labelled captures are at hand. Some features
 * carry the class (noisy class centres), the rest are noise of mixed shapes
 * (uniform, counts, heavy-tailed, constant), and rows come in groups, like
 * flows from lab runs.
 *
 * @module
 */

import { createTrainingPrng } from "../prng.ts";

/** Options for {@linkcode makeSyntheticDataset}. */
export interface SyntheticDatasetOptions {
  /** Number of rows. @default 1000 */
  rows?: number;
  /** Features per row. @default 20 */
  features?: number;
  /** Number of classes, named `class_0`, `class_1`, …. @default 3 */
  classes?: number;
  /** Features that depend on the class (the first ones). @default 5 */
  informative?: number;
  /** Standard deviation of the noise around each class centre; larger overlaps classes more. @default 1 */
  noise?: number;
  /** Number of groups (`group_0`, …), each a contiguous block of rows. @default 10 */
  groups?: number;
  /** Chance that a feature value is replaced by NaN, +Infinity or -Infinity. @default 0 */
  nonFiniteRate?: number;
  /** PRNG seed. @default 1 */
  seed?: number;
}

/** Rows, labels and group ids from {@linkcode makeSyntheticDataset}. */
export interface SyntheticDataset {
  /** Feature vectors. */
  X: Float32Array[];
  /** Class label per row. */
  y: string[];
  /** Group id per row. */
  groups: string[];
}

/**
 * Makes a reproducible data set: the same options give the same rows.
 *
 * @example
 * ```ts
 * const { X, y, groups } = makeSyntheticDataset({ rows: 5000, features: 30, seed: 3 });
 * ```
 */
export function makeSyntheticDataset(options: SyntheticDatasetOptions = {}): SyntheticDataset {
  const rows = options.rows ?? 1000;
  const features = options.features ?? 20;
  const classCount = options.classes ?? 3;
  const informative = Math.min(options.informative ?? 5, features);
  const noise = options.noise ?? 1;
  const groupCount = options.groups ?? 10;
  const nonFiniteRate = options.nonFiniteRate ?? 0;
  for (
    const [name, value, min] of [
      ["rows", rows, 1],
      ["features", features, 1],
      ["classes", classCount, 1],
      ["groups", groupCount, 1],
    ] as const
  ) {
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(
        `Cannot make a data set as '${name}' must be an integer >= ${min}: current value is ${value}`,
      );
    }
  }
  const prng = createTrainingPrng(options.seed ?? 1);
  const gauss = (): number => {
    const u = 1 - prng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * prng.next());
  };
  const centres = Array.from(
    { length: classCount },
    () => Array.from({ length: informative }, () => gauss() * 2),
  );
  const X: Float32Array[] = [];
  const y: string[] = [];
  const groups: string[] = [];
  for (let i = 0; i < rows; i++) {
    // Groups have their own class mix, as lab runs do.
    const group = Math.floor(i * groupCount / rows);
    const c = prng.next() < 0.5 ? group % classCount : prng.below(classCount);
    const row = new Float32Array(features);
    for (let f = 0; f < features; f++) {
      if (f < informative) row[f] = centres[c][f] + gauss() * noise;
      else if (f % 4 === 0) row[f] = prng.next();
      else if (f % 4 === 1) row[f] = prng.below(8);
      else if (f % 4 === 2) row[f] = Math.exp(gauss() * 3);
      else row[f] = 7;
      if (nonFiniteRate > 0 && prng.next() < nonFiniteRate) {
        row[f] = [NaN, Infinity, -Infinity][prng.below(3)];
      }
    }
    X.push(row);
    y.push(`class_${c}`);
    groups.push(`group_${group}`);
  }
  return { X, y, groups };
}
