/**
 * Quantile binning of a float32 feature matrix, the trick that makes tree
 * training fast: each feature gets at most `maxBins` bins, and a split is
 * searched over bin boundaries with one histogram pass instead of a sort per
 * node.
 *
 * A bin boundary is a float32 threshold `t`, and bin membership is decided
 * with `x <= t` on float32 values, the very comparison a trained tree (and
 * ONNX's BRANCH_LEQ) makes at prediction time, so training and inference
 * agree on every row bit for bit.
 *
 * NaN sorts above every threshold (`NaN <= t` is false), so it lands in the
 * last bin together with +Infinity; -Infinity lands in the first. Thresholds
 * come from finite values only.
 *
 * @module
 */

/** A feature matrix reduced to bin indices, column-major. */
export interface BinnedMatrix {
  /** Bin of row `i` for feature `f` at `bins[f * rows + i]`. */
  bins: Uint8Array;
  /** Number of rows. */
  rows: number;
  /** Number of features. */
  features: number;
  /**
   * Per feature, ascending float32 thresholds. Row value `x` is in bin `b`
   * when `x <= thresholds[b]` and `x > thresholds[b - 1]`; the last bin
   * (index `thresholds.length`) holds everything above the last threshold.
   */
  thresholds: Float32Array[];
}

/** The largest bin count a Uint8Array bin index can hold. */
export const MAX_BINS_LIMIT = 256;

/**
 * Float32 threshold strictly between two adjacent distinct float32 values
 * `lo < hi`, so that `lo <= t` and `hi > t`. The midpoint is preferred; when
 * float32 rounding pushes it onto `hi` (adjacent floats), `lo` itself is used.
 */
function thresholdBetween(lo: number, hi: number): number {
  const mid = Math.fround((lo + hi) / 2);
  return mid < hi && mid >= lo ? mid : lo;
}

/** Thresholds for one column: quantiles of its finite values, at most `maxBins - 1`. */
export function columnThresholds(values: Float32Array, maxBins: number): Float32Array {
  let finite = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) values[finite++] = values[i];
  }
  if (finite < 2) return new Float32Array(0);
  const sorted = values.subarray(0, finite).sort();

  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < finite; i++) {
    const v = sorted[i];
    // -0 and +0 compare equal, so they share a bin as they share every branch.
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1]++;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  const k = distinct.length;
  const out: number[] = [];
  if (k <= maxBins) {
    for (let i = 0; i + 1 < k; i++) out.push(thresholdBetween(distinct[i], distinct[i + 1]));
    return Float32Array.from(out);
  }
  // Greedy equal-frequency cuts; the target is recomputed after each cut so
  // that one heavy value (say, thousands of zeros) uses up only its own bin.
  let acc = 0;
  let lastCut = 0;
  for (let i = 0; i + 1 < k && out.length < maxBins - 1; i++) {
    acc += counts[i];
    const binsLeft = maxBins - out.length;
    if (acc - lastCut >= (finite - lastCut) / binsLeft) {
      out.push(thresholdBetween(distinct[i], distinct[i + 1]));
      lastCut = acc;
    }
  }
  return Float32Array.from(out);
}

/** Bin index of `x` for ascending `thresholds`: the first `b` with `x <= thresholds[b]`. */
export function binOf(x: number, thresholds: Float32Array): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // Written so that NaN (every comparison false) walks to the last bin.
    if (x <= thresholds[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Bins every column of the row-major matrix `rows` (each row `features` long). */
export function binMatrix(
  rows: readonly Float32Array[],
  features: number,
  maxBins: number,
): BinnedMatrix {
  const n = rows.length;
  const bins = new Uint8Array(n * features);
  const thresholds: Float32Array[] = [];
  const column = new Float32Array(n);
  for (let f = 0; f < features; f++) {
    for (let i = 0; i < n; i++) column[i] = rows[i][f];
    const t = columnThresholds(column, maxBins);
    thresholds.push(t);
    const base = f * n;
    for (let i = 0; i < n; i++) bins[base + i] = binOf(rows[i][f], t);
  }
  return { bins, rows: n, features, thresholds };
}
