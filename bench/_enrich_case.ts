/**
 * Case `enrich`: GeoIP country and ASN lookups per second on one core
 * (shared/enrich/enrich_bench.ts, in its own process), over a fixed mix of
 * public IPv4, public IPv6 and private addresses, and the time to load the
 * shipped databases. There is no established tool to compare with in the
 * same run (libmaxminddb's `mmdblookup` answers one address per process),
 * so the row holds a fixed target: the aggregator looks up each new flow's
 * endpoints once, and the aggregation case's pass (312k new flows, two
 * endpoints each) must stay within its 6 s.
 *
 * @module
 */
import type { BenchContext } from "./bench_context.ts";
import { metricNumber, parseBenchMetrics } from "./bench_metrics.ts";
import type { BenchRow } from "./bench_row.ts";
import { runBenchScript } from "./run_bench_script.ts";

/** Lookups a second that enrich a pass's 624k endpoints in about two seconds. */
export const ENRICH_TARGET_LOOKUPS_PER_SEC = 300_000;

/** Runs the enrichment case. */
export async function runEnrichCase(context: BenchContext): Promise<BenchRow[]> {
  const metrics = parseBenchMetrics(
    await runBenchScript(`${context.repoRoot}shared/enrich/enrich_bench.ts`, {
      args: ["--lookups", context.args.quick ? "100000" : "1000000"],
      permissions: ["--allow-read"],
      cpu: context.cpu,
      timeoutSec: 300,
    }),
  );
  const loadSec = metricNumber(metrics, "load_ms") / 1000;
  return [{
    caseName: "enrich",
    label: "country + ASN lookups, 1 core",
    unit: "lookups/s",
    ours: metricNumber(metrics, "lookups_per_sec"),
    reference: null,
    target: { kind: "atLeast", value: ENRICH_TARGET_LOOKUPS_PER_SEC },
    status: "measured",
    note: `databases loaded in ${loadSec.toFixed(1)} s; ${metricNumber(metrics, "found")} of ${
      metricNumber(metrics, "lookups")
    } addresses had an AS`,
  }];
}
