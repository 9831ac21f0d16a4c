/**
 * One line of the bench summary: our rate, the reference's rate on the same
 * input in the same run, and the target it is held to.
 *
 * @module
 */
import type { BenchCaseName } from "./bench_args.ts";

/** The established tool (or fixed rate) a measurement is compared with. */
export interface BenchReference {
  /** What was measured, e.g. `tcpdump -r FILE -w /dev/null`. */
  name: string;
  /** Its rate, in the row's unit. */
  value: number;
}

/**
 * The bar a row is held to: our rate at least `value` (`atLeast`), or our
 * rate at least `value` times the reference's (`ratioAtLeast`).
 */
export interface BenchTarget {
  /** `atLeast`: ours >= value; `ratioAtLeast`: ours / reference >= value. */
  kind: "atLeast" | "ratioAtLeast";
  /** The bound. */
  value: number;
  /** How the summary states the target, when the plain form would not say why. @default derived */
  text?: string;
}

/** How a row came out. */
export type BenchStatus = "measured" | "skipped" | "failed";

/** One measurement of the bench. */
export interface BenchRow {
  /** Case that produced it. */
  caseName: BenchCaseName;
  /** What was measured, e.g. `decode, 1 core`. */
  label: string;
  /** Unit of `ours` and the reference, e.g. `packets/s`. */
  unit: string;
  /** Our rate; null when skipped or failed. */
  ours: number | null;
  /** The comparison on the same input in the same run; null when there is none. */
  reference: BenchReference | null;
  /** The target; null when the row has none. */
  target: BenchTarget | null;
  /** Measured, skipped (with the reason in `note`) or failed (the error in `note`). */
  status: BenchStatus;
  /** Why it was skipped or failed, or what to know when reading the numbers. */
  note: string | null;
  /**
   * The ratio to the reference when it is not ours / reference: the median of
   * paired runs' ratios, which need not equal the ratio of the medians.
   * @default ours / reference
   */
  ratio?: number;
}

/**
 * The row of a case that did not run (no root, no PostgreSQL, no tool…):
 * what it would have measured, with the reason in `note`.
 */
export function skippedRow(
  row: Pick<BenchRow, "caseName" | "label" | "unit" | "target">,
  note: string,
): BenchRow {
  return {
    caseName: row.caseName,
    label: row.label,
    unit: row.unit,
    ours: null,
    reference: null,
    target: row.target,
    status: "skipped",
    note,
  };
}

/** `ratio`, else ours / reference; null when either is missing or the reference is 0. */
export function benchRatio(row: BenchRow): number | null {
  if (row.ours === null || row.reference === null || !(row.reference.value > 0)) return null;
  return row.ratio ?? row.ours / row.reference.value;
}

/**
 * Whether the row meets its target; null when it has none, was not measured,
 * or is held to a ratio whose reference could not be measured (a missing
 * tool, a reference that lost packets itself): then nothing can be said.
 */
export function benchTargetMet(row: BenchRow): boolean | null {
  if (row.target === null || row.status !== "measured" || row.ours === null) return null;
  if (row.target.kind === "atLeast") return row.ours >= row.target.value;
  const ratio = benchRatio(row);
  return ratio === null ? null : ratio >= row.target.value;
}
