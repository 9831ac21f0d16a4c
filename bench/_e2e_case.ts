/**
 * Case `e2e`: `agent --read` of the bench capture into committed raw_packets
 * rows (bench/e2e.ts), on PostgreSQL (Arrow and JSON on the wire) and on
 * PGlite, each next to a COPY of the same rows into the same database in the
 * same run; and the peak RSS of the agent, the server and the aggregator in
 * those runs.
 *
 * @module
 */
import type { BenchContext } from "./bench_context.ts";
import {
  type BenchMetrics,
  BenchOutputError,
  optionalMetricNumber,
  optionalMetricString,
  parseBenchMetrics,
} from "./bench_metrics.ts";
import type { BenchRow, BenchTarget } from "./bench_row.ts";
import { runBenchScript } from "./run_bench_script.ts";
import { TEST_TASK_PERMISSIONS } from "@traffic-analyzer/shared/testing";

/**
 * Issue 15: agent --read into PostgreSQL at least half the rate of `COPY` of
 * the same rows in the same run. (Its 250k packets/s assumed `COPY` at 400–500k;
 * here `COPY` of the same rows makes 140–200k, so the ratio is the target.)
 */
export const E2E_POSTGRES_TARGET_COPY_RATIO = 0.5;
/**
 * Issue 15 asked 100k packets/s of PGlite against 250k of PostgreSQL: 0.4 of
 * PostgreSQL's figure, so 0.4 x 0.5 = 0.2 x PostgreSQL's `COPY` of the same
 * rows in the same run.
 */
export const E2E_PGLITE_TARGET_POSTGRES_COPY_RATIO = 0.2;

/**
 * Runs of `postgres-arrow` in a full bench run, the median reported: its
 * target is a ratio to a COPY measured once beside it, and both sides move
 * with the shared machine.
 */
export const E2E_ARROW_REPEATS = 3;

const RUNS = [
  { run: "postgres-arrow", label: "agent --read -> PostgreSQL, Arrow", db: "PostgreSQL" },
  { run: "postgres-json", label: "agent --read -> PostgreSQL, JSON", db: "PostgreSQL" },
  { run: "pglite-arrow", label: "agent --read -> PGlite, Arrow", db: "PGlite" },
] as const;

const PROGRAMS = ["agent", "server", "aggregator"] as const;

function failedRow(label: string, note: string): BenchRow {
  return {
    caseName: "e2e",
    label,
    unit: "packets/s",
    ours: null,
    reference: null,
    target: null,
    status: "failed",
    note,
  };
}

/** Turns e2e.ts's metrics into rows: rates with their targets, then peak RSS. */
export function e2eRows(metrics: BenchMetrics): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const { run, label, db } of RUNS) {
    const failed = optionalMetricString(metrics, `${run}_failed`);
    if (failed !== null) {
      rows.push(failedRow(label, failed));
      continue;
    }
    const pps = optionalMetricNumber(metrics, `${run}_pps`);
    const copy = optionalMetricNumber(metrics, `${run}_copy_pps`);
    if (pps === null || copy === null) continue;
    const rowsStored = optionalMetricNumber(metrics, `${run}_rows`);
    const distinct = optionalMetricNumber(metrics, `${run}_distinct`);
    const seconds = optionalMetricNumber(metrics, `${run}_seconds`);
    const reference = { name: `COPY of the same rows into ${db}`, value: copy };
    const ratios = optionalMetricString(metrics, `${run}_ratios`)?.split(",") ?? null;
    const note = (ratios === null
      ? ""
      : `the median of ${ratios.length} runs by ratio (${ratios.join(", ")}); `) +
      `${rowsStored} rows = the capture's packets, ${distinct} distinct, ` +
      `${seconds?.toFixed(1)} s from the agent's start to its exit`;
    const target: BenchTarget | null = run === "postgres-arrow"
      ? {
        kind: "ratioAtLeast",
        value: E2E_POSTGRES_TARGET_COPY_RATIO,
        text: `>= ${E2E_POSTGRES_TARGET_COPY_RATIO} x COPY (issue 15)`,
      }
      : null;
    rows.push({
      caseName: "e2e",
      label,
      unit: "packets/s",
      ours: pps,
      reference,
      target,
      status: "measured",
      note,
    });
    // PGlite's target is set against PostgreSQL's COPY, measured in the same e2e.ts run.
    const postgresCopy = optionalMetricNumber(metrics, "postgres-arrow_copy_pps");
    if (run === "pglite-arrow" && postgresCopy !== null) {
      rows.push({
        caseName: "e2e",
        label,
        unit: "packets/s",
        ours: pps,
        reference: { name: "COPY of the same rows into PostgreSQL", value: postgresCopy },
        target: {
          kind: "ratioAtLeast",
          value: E2E_PGLITE_TARGET_POSTGRES_COPY_RATIO,
          text: `>= ${E2E_PGLITE_TARGET_POSTGRES_COPY_RATIO} x PostgreSQL's COPY (issue 15: ` +
            `100k against its 250k)`,
        },
        status: "measured",
        note: null,
      });
    }
    for (const program of PROGRAMS) {
      const peak = optionalMetricNumber(metrics, `${run}_${program}_rss_mb`);
      if (peak === null) {
        continue;
      }
      rows.push({
        caseName: "e2e",
        label: `peak RSS of the ${program}, ${run}`,
        unit: "MB",
        ours: peak,
        reference: null,
        target: null,
        status: "measured",
        note: program === "server" && run === "pglite-arrow"
          ? "PGlite and the aggregator run inside the server"
          : null,
      });
    }
  }
  // Every run reads the same file, so each stores the same distinct packets.
  const distincts = new Set(
    RUNS.map(({ run }) => optionalMetricNumber(metrics, `${run}_distinct`)).filter((d) =>
      d !== null
    ),
  );
  if (distincts.size > 1) {
    rows.push(failedRow(
      "same packets in every run",
      `count(distinct) differs between runs: ${[...distincts].join(", ")}`,
    ));
  }
  if (rows.length === 0) throw new BenchOutputError("e2e.ts reported no run");
  return rows;
}

/** Runs the end-to-end case on the bench capture. */
export async function runE2eCase(context: BenchContext): Promise<BenchRow[]> {
  const capture = await context.capture();
  const metrics = parseBenchMetrics(
    await runBenchScript(`${context.repoRoot}bench/e2e.ts`, {
      args: [
        "--file",
        capture.path,
        "--packets",
        String(capture.packets),
        "--arrow-repeats",
        String(context.args.quick ? 1 : E2E_ARROW_REPEATS),
      ],
      // Its own PostgreSQL cluster (initdb, pg_ctl, psql) and the programs as the tasks run them.
      permissions: [...TEST_TASK_PERMISSIONS],
      timeoutSec: context.args.quick ? 600 : 1800,
    }),
  );
  return e2eRows(metrics);
}
