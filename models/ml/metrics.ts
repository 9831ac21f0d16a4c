/**
 * Classification metrics: confusion matrix, per-class precision, recall and
 * F1, macro and support-weighted averages, accuracy. Metrics that divide by
 * zero (a class never predicted, or absent from the truth) are 0, as
 * scikit-learn reports them by default.
 *
 * @module
 */

/** A confusion matrix over a fixed label order. */
export interface ConfusionMatrix {
  /** Label order of rows and columns. */
  labels: string[];
  /** `matrix[i][j]`: rows whose true label is `labels[i]` and predicted label is `labels[j]`. */
  matrix: number[][];
}

/** Precision, recall and F1 of one class. */
export interface ClassMetrics {
  /** The class. */
  label: string;
  /** Of the rows predicted as this class, the share that truly are. */
  precision: number;
  /** Of the rows truly of this class, the share predicted as it. */
  recall: number;
  /** Harmonic mean of precision and recall. */
  f1: number;
  /** Rows truly of this class. */
  support: number;
}

/** Everything {@linkcode classificationReport} computes. */
export interface ClassificationReport {
  /** Confusion matrix, rows = truth, columns = prediction. */
  confusion: ConfusionMatrix;
  /** Per-class metrics, in `confusion.labels` order. */
  perClass: ClassMetrics[];
  /** Share of rows predicted correctly. */
  accuracy: number;
  /** Unweighted mean of the per-class precisions. */
  macroPrecision: number;
  /** Unweighted mean of the per-class recalls. */
  macroRecall: number;
  /** Unweighted mean of the per-class F1 scores: every class counts the same, however rare. */
  macroF1: number;
  /** Mean of the per-class F1 scores weighted by support. */
  weightedF1: number;
  /** Number of rows. */
  rows: number;
}

/** Options for {@linkcode confusionMatrix} and {@linkcode classificationReport}. */
export interface MetricsOptions {
  /**
   * Label order. Every label in `yTrue` and `yPred` must be listed; labels
   * listed but never seen get zero rows and count in macro averages.
   * @default the sorted union of `yTrue` and `yPred`
   */
  labels?: readonly string[];
}

/**
 * Counts (true label, predicted label) pairs.
 *
 * @example
 * ```ts
 * confusionMatrix(["a", "b"], ["a", "a"]).matrix; // [[1, 0], [1, 0]]
 * ```
 */
export function confusionMatrix(
  yTrue: readonly string[],
  yPred: readonly string[],
  options: MetricsOptions = {},
): ConfusionMatrix {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(
      `Cannot compare labels as 'yPred' must be as long as 'yTrue': current lengths are ${yPred.length} and ${yTrue.length}`,
    );
  }
  const labels = options.labels ? [...options.labels] : [...new Set([...yTrue, ...yPred])].sort();
  const index = new Map(labels.map((l, i) => [l, i]));
  if (index.size !== labels.length) {
    throw new RangeError(`Cannot compare labels as 'labels' must not repeat a label`);
  }
  const matrix = labels.map(() => new Array<number>(labels.length).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]);
    const p = index.get(yPred[i]);
    if (t === undefined || p === undefined) {
      throw new RangeError(
        `Cannot compare labels as 'labels' must list every label: row ${i} has ${
          JSON.stringify(t === undefined ? yTrue[i] : yPred[i])
        }`,
      );
    }
    matrix[t][p]++;
  }
  return { labels, matrix };
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * Per-class and averaged metrics from true and predicted labels.
 *
 * @example
 * ```ts
 * const report = classificationReport(testLabels, predicted);
 * console.log(report.macroF1, report.perClass);
 * ```
 */
export function classificationReport(
  yTrue: readonly string[],
  yPred: readonly string[],
  options: MetricsOptions = {},
): ClassificationReport {
  const confusion = confusionMatrix(yTrue, yPred, options);
  const { labels, matrix } = confusion;
  const k = labels.length;
  const perClass: ClassMetrics[] = [];
  let correct = 0;
  for (let i = 0; i < k; i++) {
    const tp = matrix[i][i];
    correct += tp;
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += matrix[i][j];
      predicted += matrix[j][i];
    }
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    const f1 = ratio(2 * precision * recall, precision + recall);
    perClass.push({ label: labels[i], precision, recall, f1, support });
  }
  const mean = (pick: (m: ClassMetrics) => number): number =>
    ratio(perClass.reduce((s, m) => s + pick(m), 0), k);
  return {
    confusion,
    perClass,
    accuracy: ratio(correct, yTrue.length),
    macroPrecision: mean((m) => m.precision),
    macroRecall: mean((m) => m.recall),
    macroF1: mean((m) => m.f1),
    weightedF1: ratio(perClass.reduce((s, m) => s + m.f1 * m.support, 0), yTrue.length),
    rows: yTrue.length,
  };
}
