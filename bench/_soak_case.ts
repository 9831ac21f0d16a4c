/**
 * Case `soak`: 10 minutes of live traffic at 100,000 packets/s through the
 * real agent, server and aggregator (bench/soak.ts), watching each one's
 * resident memory. Not a speed case: it runs only with `--only soak`. A row
 * per program compares the peak RSS of the last minute with the second's
 * (the first includes start-up); flat memory keeps the ratio near 1.
 *
 * @module
 */
import { droppedBeforeCapture } from "./kernel_drop_counters.ts";
import type { BenchContext } from "./bench_context.ts";
import {
  type BenchMetrics,
  optionalMetricNumber,
  optionalMetricString,
  parseBenchMetrics,
} from "./bench_metrics.ts";
import { type BenchRow, skippedRow } from "./bench_row.ts";
import { runBenchScript } from "./run_bench_script.ts";
import { TEST_TASK_PERMISSIONS } from "@traffic-analyzer/shared/testing";

/**
 * The soak's rate and length (issue 15: 10 minutes at 100k packets/s);
 * `--soak-pps` and `--minutes` change them, --quick shortens it to 2 minutes.
 */
export const SOAK_PPS = 100_000;
export const SOAK_MINUTES = 10;
const QUICK_SOAK_MINUTES = 2;

/**
 * Memory counts as flat when the last minute's peak stays within this factor
 * of the second minute's (ratio second / last at least 1 / 1.2).
 */
export const SOAK_FLAT_RATIO = 1 / 1.2;

const PROGRAMS = ["agent", "server", "aggregator"] as const;

/** Runs the soak case. */
export async function runSoakCase(context: BenchContext): Promise<BenchRow[]> {
  const minutes = context.args.minutes ?? (context.args.quick ? QUICK_SOAK_MINUTES : SOAK_MINUTES);
  const pps = context.args.soakPps ?? SOAK_PPS;
  const metrics = parseBenchMetrics(
    await runBenchScript(`${context.repoRoot}bench/soak.ts`, {
      args: ["--minutes", String(minutes), "--pps", String(pps)],
      // Namespaces, live capture, its own PostgreSQL cluster and the programs.
      permissions: [...TEST_TASK_PERMISSIONS],
      // Start-up, the agent's stop (90 s at most), its outbox's replay (120 s at
      // most) and the catch-up (300 s at most).
      timeoutSec: minutes * 60 + 840,
    }),
  );
  const target = {
    kind: "atLeast",
    value: SOAK_FLAT_RATIO,
    text: "last minute within 1.2 x the 2nd",
  } as const;
  const skipped = optionalMetricString(metrics, "skipped");
  if (skipped !== null) {
    return [
      skippedRow({
        caseName: "soak",
        label: `RSS over ${minutes} min at ${pps} packets/s`,
        unit: "ratio",
        target,
      }, skipped),
    ];
  }
  const achieved = optionalMetricNumber(metrics, "achieved_pps");
  const kernelDropped = optionalMetricNumber(metrics, "kernel_dropped");
  // Sent but seen by no capture: the veth or the input backlog dropped it.
  const beforeCapture = droppedBeforeCapture(metrics);
  const memoryRows = PROGRAMS.map((name) => {
    const second = optionalMetricNumber(metrics, `${name}_rss_minute2_mb`);
    const last = optionalMetricNumber(metrics, `${name}_rss_last_minute_mb`);
    const peak = optionalMetricNumber(metrics, `${name}_rss_peak_mb`);
    const ok = second !== null && last !== null && last > 0;
    return {
      caseName: "soak",
      label: `${name} RSS, 2nd / last minute`,
      unit: "ratio",
      ours: ok ? second / last : null,
      reference: null,
      target,
      status: ok ? "measured" : "failed",
      note: `${second?.toFixed(0)} MB then ${last?.toFixed(0)} MB, peak ${peak?.toFixed(0)} MB; ` +
        `${achieved} packets/s sent by tcpreplay, ${kernelDropped} kernel drops` +
        (beforeCapture === null ? "" : `, ${beforeCapture} dropped before any capture`),
    } satisfies BenchRow;
  });
  return [...memoryRows, catchUpRow(metrics)];
}

/**
 * How long the aggregator took, once the agent stopped, to take every batch
 * the soak ingested; failed when it was still behind at the script's limit
 * (a stream stalled behind a gap once kept it behind for good).
 */
function catchUpRow(metrics: BenchMetrics): BenchRow {
  const seconds = optionalMetricNumber(metrics, "catch_up_s");
  const behind = optionalMetricNumber(metrics, "batches_behind");
  const stored = optionalMetricNumber(metrics, "stored_packets");
  const captured = optionalMetricNumber(metrics, "captured_packets");
  return {
    caseName: "soak",
    label: "aggregator catch-up after the traffic",
    unit: "s",
    ours: seconds,
    reference: null,
    target: null,
    status: seconds === null ? "failed" : "measured",
    note: (seconds === null ? `${behind} batches still behind; ` : "") +
      `${captured} packets captured, ${stored} stored`,
  };
}
