/**
 * Rows held to another case's measurement in the same run. The aggregation
 * pass must run 5 times faster than packets arrive (issue 5); how fast they
 * arrive is the ingest case's rate, so when both ran, the pass's reference
 * becomes that rate instead of issue 2's fixed figure.
 *
 * @module
 */
import type { BenchRow } from "./bench_row.ts";

/** The ingest row the aggregation pass is measured against. */
const INGEST_LABEL = "postgres over HTTP";

/**
 * Returns `rows` with each measured aggregation row's reference set to the
 * measured PostgreSQL ingest rate of the same run, when there is one; other
 * rows are returned as they are.
 *
 * @example
 * ```ts
 * const rows = withSameRunReferences(await runAllCases());
 * ```
 */
export function withSameRunReferences(rows: readonly BenchRow[]): BenchRow[] {
  const ingest = rows.find((row) =>
    row.caseName === "ingest" && row.label === INGEST_LABEL && row.status === "measured" &&
    row.ours !== null && row.ours > 0
  );
  if (ingest === undefined || ingest.ours === null) return [...rows];
  const rate = ingest.ours;
  return rows.map((row) =>
    row.caseName === "aggregation" && row.status === "measured"
      ? { ...row, reference: { name: "ingest into PostgreSQL, this run", value: rate } }
      : row
  );
}
