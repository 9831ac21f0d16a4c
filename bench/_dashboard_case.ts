/**
 * Case `dashboard`: `GET /api/dashboard` for each period with 1 million
 * flows stored on PostgreSQL (server/bench/dashboard_bench.ts), through the
 * whole app in-process. Target: a request under 200 ms (5 requests/s), the
 * median of the repeats. The time of one full scan of `traffic_data`,
 * measured in the same run, is the reference: a period's request should cost
 * a fraction of it, as each reads only the flows that overlap its period.
 *
 * @module
 */
import type { BenchContext } from "./bench_context.ts";
import { metricNumber, optionalMetricString, parseBenchMetrics } from "./bench_metrics.ts";
import { type BenchRow, skippedRow } from "./bench_row.ts";
import { runBenchScript } from "./run_bench_script.ts";

/** A dashboard request must answer within this, ms. */
export const DASHBOARD_TARGET_MS = 200;

const PERIODS = ["15m", "1h", "24h", "7d"] as const;

/** Runs the dashboard case. */
export async function runDashboardCase(context: BenchContext): Promise<BenchRow[]> {
  const flows = context.args.quick ? 100_000 : 1_000_000;
  const metrics = parseBenchMetrics(
    await runBenchScript(`${context.repoRoot}server/bench/dashboard_bench.ts`, {
      args: ["--flows", String(flows), "--repeats", context.args.quick ? "2" : "5"],
      permissions: ["--allow-net", "--allow-env", "--allow-read", "--allow-sys"],
      timeoutSec: context.args.quick ? 180 : 600,
    }),
  );
  const skipped = optionalMetricString(metrics, "skipped");
  if (skipped !== null) {
    return [
      skippedRow({
        caseName: "dashboard",
        label: "GET /api/dashboard",
        unit: "requests/s",
        target: null,
      }, skipped),
    ];
  }
  const fullScanMs = metricNumber(metrics, "full_scan_ms");
  return PERIODS.map((period): BenchRow => {
    const medianMs = metricNumber(metrics, `median_ms_${period}`);
    return {
      caseName: "dashboard",
      label: `GET /api/dashboard?period=${period} (${flows / 1e6} M flows)`,
      unit: "requests/s",
      ours: 1000 / medianMs,
      reference: { name: "full scan of traffic_data (sum of bytes)", value: 1000 / fullScanMs },
      target: {
        kind: "atLeast",
        value: 1000 / DASHBOARD_TARGET_MS,
        text: `< ${DASHBOARD_TARGET_MS} ms a request`,
      },
      status: "measured",
      note:
        `median ${medianMs.toFixed(0)} ms, worst ${
          metricNumber(metrics, `max_ms_${period}`).toFixed(0)
        } ms over ${metricNumber(metrics, `flows_${period}`)} flows in the period; ` +
        `reference: one full scan of traffic_data, ${fullScanMs.toFixed(0)} ms`,
    };
  });
}
