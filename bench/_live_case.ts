/**
 * Case `live`: live capture on a veth pair into PostgreSQL through the agent
 * and the server at a fixed rate (bench/live.ts), with `tcpdump -w` on the
 * same link in the same run as the reference, and loss counted at every
 * stage: at 200,000 packets/s offered for 60 s, the target is none lost, at
 * the rate tcpdump keeps (issue 15's 200k packets/s as a ratio).
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

/** Issue 15: tcpreplay offers 200k packets/s, live, into PostgreSQL... */
export const LIVE_TARGET_PPS = 200_000;
/** ...for 60 s (`--seconds` changes it; --quick: 15 s). */
export const LIVE_SECONDS = 60;
/**
 * Every packet offered must be stored, none lost at any stage, as fast as
 * `tcpdump -w` on the same link keeps them (the rate tcpreplay made, when
 * tcpdump lost nothing): the target as a ratio to the same run's reference.
 * Not 1: the rate counts the last rows' delivery after the replay, and the
 * agent's last batch closes up to its 1 s timeout after the last packet
 * (60 s of 61 is 0.984).
 */
export const LIVE_TARGET_TCPDUMP_RATIO = 0.98;
/** The live row's target. */
export const LIVE_TARGET = {
  kind: "ratioAtLeast",
  value: LIVE_TARGET_TCPDUMP_RATIO,
  text: `>= ${LIVE_TARGET_TCPDUMP_RATIO} x tcpdump -w, none lost (issue 15: ${
    LIVE_TARGET_PPS / 1000
  }k for 60 s)`,
} as const;
const QUICK_LIVE_SECONDS = 15;

/**
 * Turns live.ts's metrics into rows: the rate stored with zero loss (rows
 * over the replay's time plus the backlog's delivery after it, when nothing
 * was lost anywhere; else 0), next to tcpdump's (the rate tcpreplay made,
 * when tcpdump lost nothing); and the peak RSS of the agent and the server.
 */
export function liveRows(metrics: BenchMetrics): BenchRow[] {
  const skipped = optionalMetricString(metrics, "skipped");
  const label = "live veth -> PostgreSQL, zero loss";
  if (skipped !== null) {
    return [
      skippedRow({
        caseName: "live",
        label,
        unit: "packets/s",
        target: LIVE_TARGET,
      }, skipped),
    ];
  }
  const achieved = optionalMetricNumber(metrics, "achieved_pps") ?? 0;
  const sent = optionalMetricNumber(metrics, "sent_packets");
  const seconds = optionalMetricNumber(metrics, "seconds") ?? 0;
  const drain = optionalMetricNumber(metrics, "drain_seconds") ?? 0;
  const stored = optionalMetricNumber(metrics, "stored_rows") ?? 0;
  const distinct = optionalMetricNumber(metrics, "stored_distinct");
  const agentCaptured = optionalMetricNumber(metrics, "agent_captured");
  const kernel = optionalMetricNumber(metrics, "agent_kernel_dropped") ?? 0;
  const agentDropped = optionalMetricNumber(metrics, "agent_dropped") ?? 0;
  const tcpdumpCaptured = optionalMetricNumber(metrics, "tcpdump_captured");
  const tcpdumpDropped = optionalMetricNumber(metrics, "tcpdump_kernel_dropped") ?? 0;
  const missing = sent === null ? null : sent - stored;
  // Sent but seen by no capture: the veth or the input backlog dropped it.
  const beforeCapture = droppedBeforeCapture(metrics);
  const zeroLoss = missing === 0 && distinct === stored && kernel === 0 && agentDropped === 0;
  const tcpdumpZeroLoss = sent !== null && tcpdumpCaptured === sent && tcpdumpDropped === 0;
  const rows: BenchRow[] = [{
    caseName: "live",
    label,
    unit: "packets/s",
    // Packets committed per second, the backlog's delivery after the replay included.
    ours: zeroLoss && seconds + drain > 0 ? stored / (seconds + drain) : 0,
    reference: {
      name: `tcpdump -w on the same link${tcpdumpZeroLoss ? "" : ", with loss"}`,
      value: tcpdumpZeroLoss ? achieved : 0,
    },
    target: LIVE_TARGET,
    status: "measured",
    note: `tcpreplay sent ${sent} in ${seconds.toFixed(0)} s (${Math.round(achieved)}/s), ` +
      `the last row stored ${drain.toFixed(0)} s after; ` +
      `kernel dropped ${kernel} before the agent, which captured ${agentCaptured} and dropped ` +
      `${agentDropped}; raw_packets ${stored} rows (${distinct} distinct), ${missing} missing; ` +
      `tcpdump captured ${tcpdumpCaptured}, kernel dropped ${tcpdumpDropped}` +
      (beforeCapture === null ? "" : `; dropped before any capture ${beforeCapture}`),
  }];
  for (const program of ["agent", "server"]) {
    const peak = optionalMetricNumber(metrics, `${program}_rss_mb`);
    if (peak === null) continue;
    rows.push({
      caseName: "live",
      label: `peak RSS of the ${program}, live`,
      unit: "MB",
      ours: peak,
      reference: null,
      target: null,
      status: "measured",
      note: null,
    });
  }
  return rows;
}

/** Runs the live case. */
export async function runLiveCase(context: BenchContext): Promise<BenchRow[]> {
  const seconds = context.args.seconds ?? (context.args.quick ? QUICK_LIVE_SECONDS : LIVE_SECONDS);
  const metrics = parseBenchMetrics(
    await runBenchScript(`${context.repoRoot}bench/live.ts`, {
      args: ["--seconds", String(seconds), "--pps", String(LIVE_TARGET_PPS)],
      // Namespaces, live capture, tcpdump, its own PostgreSQL cluster and the programs.
      permissions: [...TEST_TASK_PERMISSIONS],
      timeoutSec: seconds * 4 + 600,
    }),
  );
  return liveRows(metrics);
}
