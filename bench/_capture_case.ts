/**
 * Case `capture`: the highest rate live capture on `lo` takes without a
 * drop, next to `tcpdump -i lo -w /dev/null` on the same tcpreplay traffic
 * (agent/bench/agent_bench.ts --case capture). Loopback only.
 *
 * @module
 */
import type { BenchContext } from "./bench_context.ts";
import { metricNumber, optionalMetricString, parseBenchMetrics } from "./bench_metrics.ts";
import { type BenchRow, skippedRow } from "./bench_row.ts";
import { formatRate } from "./bench_summary.ts";
import { runBenchScript } from "./run_bench_script.ts";

/** Live capture must take at least half of tcpdump's no-drop rate. */
export const CAPTURE_TARGET_RATIO = 0.5;

const LABEL = "live capture on lo, no drops";

/** Runs the live capture case. */
export async function runCaptureCase(context: BenchContext): Promise<BenchRow[]> {
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  const metrics = parseBenchMetrics(
    await runBenchScript(`${context.repoRoot}agent/bench/agent_bench.ts`, {
      args: ["--case", "capture", ...(context.args.quick ? ["--quick"] : [])],
      permissions: [
        "--allow-ffi",
        "--allow-read",
        `--allow-write=${tmp}`,
        "--allow-run=tcpreplay,tcpdump",
      ],
      timeoutSec: context.args.quick ? 120 : 300,
    }),
  );
  const target = { kind: "ratioAtLeast", value: CAPTURE_TARGET_RATIO } as const;
  const skipped = optionalMetricString(metrics, "skipped");
  if (skipped !== null) {
    return [skippedRow({ caseName: "capture", label: LABEL, unit: "packets/s", target }, skipped)];
  }
  const topSent = metricNumber(metrics, "top_sent_pps");
  const ours = metricNumber(metrics, "live_capture_pps");
  const tcpdump = metricNumber(metrics, "tcpdump_pps");
  const atTop = (key: string) => metrics[key] === true;
  const unreached = [
    ...(atTop("live_capture_lossless_at_top") ? ["live capture"] : []),
    ...(atTop("tcpdump_lossless_at_top") ? ["tcpdump"] : []),
  ];
  // A capturer that lost nothing at tcpreplay's top speed has a ceiling above it; that
  // speed itself falls as the capturer takes more of the CPU tcpreplay shares.
  const ceiling = unreached.length === 0
    ? ""
    : `${unreached.join(" and ")} lost nothing at tcpreplay's top speed, so ${
      unreached.length === 2 ? "their ceilings lie" : "its ceiling lies"
    } above the rate shown; `;
  return [{
    caseName: "capture",
    label: LABEL,
    unit: "packets/s",
    ours,
    reference: { name: "tcpdump -i lo -w /dev/null", value: tcpdump },
    target,
    status: "measured",
    note: `${ceiling}${metricNumber(metrics, "frame_bytes")}-byte frames from ` +
      `${metricNumber(metrics, "replayers")} tcpreplay processes, which peaked at ` +
      `${formatRate(topSent)} packets/s; a full ring drains at ` +
      `${formatRate(metricNumber(metrics, "drain_pps"))} packets/s`,
  }];
}
