/**
 * The run to report of several runs of one measurement: the one whose ratio
 * to its own reference is the median, so that the figures printed (our rate,
 * the reference's, the programs' CPU) all come from one real run rather than
 * from medians taken apart.
 *
 * @module
 */

/**
 * The run whose ratio is the median of `runs` (of an even count, the lower
 * of the middle two: the stricter reading). Throws `RangeError` for no runs.
 *
 * @example
 * ```ts
 * medianRun([{ ratio: 0.6 }, { ratio: 0.4 }, { ratio: 0.5 }], (run) => run.ratio); // { ratio: 0.5 }
 * ```
 */
export function medianRun<T>(runs: readonly T[], ratioOf: (run: T) => number): T {
  if (runs.length === 0) throw new RangeError("Cannot take the median of no runs");
  const sorted = runs.toSorted((a, b) => ratioOf(a) - ratioOf(b));
  return sorted[(sorted.length - 1) >> 1];
}
