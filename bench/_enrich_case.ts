/**
 * Case `enrich`: GeoIP country and ASN lookups per second on one core
 * (shared/enrich/enrich_bench.ts, in its own process), over a fixed mix of
 * public IPv4, public IPv6 and private addresses, and the time to load the
 * shipped databases; next to libmaxminddb (`mmdblookup --ip-file`, the C
 * reader Zeek, Suricata and ntopng use) looking up the same addresses in the
 * same country database, in the same run. Both are rated by CPU time.
 *
 * @module
 */
import type { BenchContext } from "./bench_context.ts";
import { metricNumber, optionalMetricString, parseBenchMetrics } from "./bench_metrics.ts";
import type { BenchRow } from "./bench_row.ts";
import { formatRate } from "./bench_summary.ts";
import { COMMAND_NOT_FOUND, CommandFailedError } from "./command_timing.ts";
import { measureMmdblookupRate } from "./mmdblookup_rate.ts";
import { runBenchScript } from "./run_bench_script.ts";
import { benchAddresses } from "../shared/enrich/enrich_bench.ts";

/**
 * Ours (country and ASN, two lookups an address) over libmaxminddb's
 * (country only, one). It replaces a fixed 300,000 lookups/s, the share of
 * the aggregation pass's budget the enrichment of its 624k endpoints could
 * take: over libmaxminddb's 2.42–2.46 M lookups/s, measured pinned on a
 * quiet machine on the day (5 December 2026), that is 0.12.
 */
export const ENRICH_TARGET_MMDBLOOKUP_RATIO = 0.12;

/** Runs the enrichment case. */
export async function runEnrichCase(context: BenchContext): Promise<BenchRow[]> {
  const lookups = context.args.quick ? 100_000 : 1_000_000;
  const metrics = parseBenchMetrics(
    await runBenchScript(`${context.repoRoot}shared/enrich/enrich_bench.ts`, {
      args: ["--lookups", String(lookups)],
      permissions: ["--allow-read"],
      cpu: context.cpu,
      timeoutSec: 300,
    }),
  );
  // The same addresses (the script's fixed seed), one per line, for mmdblookup.
  const addressesPath = `${context.cacheDir}/enrich_addresses_${lookups}.txt`;
  await Deno.writeTextFile(addressesPath, benchAddresses(lookups).join("\n") + "\n");
  let reference: BenchRow["reference"] = null;
  let problem: string | null = null;
  try {
    const mmdbPath = optionalMetricString(metrics, "country_mmdb");
    if (mmdbPath === null) throw new Error("enrich_bench.ts named no country database");
    const rate = await measureMmdblookupRate({
      mmdbPath,
      addressesPath,
      cpu: context.cpu,
      repeats: context.args.quick ? 1 : 3,
    });
    console.log(
      `  mmdblookup --ip-file: ${
        formatRate(rate.lookupsPerSec)
      } lookups/s (${rate.lookups} addresses)`,
    );
    reference = {
      name: "libmaxminddb: mmdblookup --ip-file, country only",
      value: rate.lookupsPerSec,
    };
  } catch (error) {
    problem = error instanceof CommandFailedError && error.code === COMMAND_NOT_FOUND
      ? "mmdblookup is not installed (Debian: mmdb-bin)"
      : (error as Error).message.split("\n")[0];
    console.log(`  mmdblookup --ip-file: failed: ${problem}`);
  } finally {
    await Deno.remove(addressesPath).catch(() => {});
  }
  const loadSec = metricNumber(metrics, "load_ms") / 1000;
  return [{
    caseName: "enrich",
    label: "country + ASN lookups, 1 core",
    unit: "lookups/s",
    ours: metricNumber(metrics, "lookups_per_sec"),
    reference,
    target: {
      kind: "ratioAtLeast",
      value: ENRICH_TARGET_MMDBLOOKUP_RATIO,
      text: `>= ${ENRICH_TARGET_MMDBLOOKUP_RATIO} x libmaxminddb (was a fixed 300k lookups/s)`,
    },
    status: "measured",
    note:
      `databases loaded in ${loadSec.toFixed(1)} s; ${metricNumber(metrics, "found")} of ${
        metricNumber(metrics, "lookups")
      } addresses had an AS; CPU time, best of two after a warm-up; ` +
      `mmdblookup reads the same addresses from a file and looks up the country only` +
      (problem ? `; mmdblookup: ${problem}` : ""),
  }];
}
