/**
 * `deno task bench`: speed measurements against the established tools, as
 * ratios. Each case runs in its own subprocesses with the permissions it
 * needs (the wings' bench scripts, the reference tools); a case that fails
 * is reported and the others still run. The run ends with a summary table:
 * case, ours, reference, ratio, target, met or not.
 *
 * The speed targets live here and nowhere else (no unit test times
 * anything). Each is a ratio to a reference measured in the same run, as the
 * machine's speed varies from day to day; where an issue gave a fixed figure,
 * the ratio is that figure over the reference's rate the issue stated:
 *
 * | case          | target                                                            |
 * | ------------- | ----------------------------------------------------------------- |
 * | `ingest`      | over HTTP into PostgreSQL >= 0.42 x COPY of the same rows          |
 * | `e2e`         | agent --read into PostgreSQL >= 0.5 x COPY of the same rows; into  |
 * |               | PGlite >= 0.2 x that PostgreSQL COPY                               |
 * | `live`        | live veth capture into PostgreSQL at 200k packets/s offered for    |
 * |               | 60 s: nothing lost, as fast as tcpdump -w on the same link         |
 * | `decode`      | decoded on one core >= 0.072 x tcpdump -r; --read with app-layer   |
 * |               | extraction >= 0.9 x without it                                     |
 * | `capture`     | live capture's no-drop rate on lo >= half of tcpdump's             |
 * | `flows`       | flow assembly on one core >= 1.5 x argus                           |
 * | `aggregation` | one pass over 1.5 M packets >= 5 x the same run's ingest rate      |
 * | `enrich`      | GeoIP + ASN lookups/s on one core >= 0.12 x libmaxminddb's         |
 * | `dashboard`   | GET /api/dashboard < 200 ms with 1 M flows (a full scan printed)   |
 * | `soak`        | only with `--only soak`: 10 min at 100k packets/s, RSS stays flat  |
 *
 * Exit code: 0 when every case ran (met or not), 1 when a case failed,
 * 2 on bad arguments.
 *
 * ```sh
 * deno task bench                       # everything: 5 to 10 minutes on 2 cores
 * deno task bench --only decode,ingest  # some cases
 * deno task bench --quick               # small inputs: a smoke run
 * ```
 *
 * @module
 */
import {
  BENCH_USAGE,
  type BenchArgs,
  BenchArgsError,
  type BenchCaseName,
  parseBenchArgs,
} from "./bench_args.ts";
import { type BenchContext, createBenchContext } from "./bench_context.ts";
import type { BenchRow } from "./bench_row.ts";
import { formatBenchSummary } from "./bench_summary.ts";
import { runIngestCase } from "./_ingest_case.ts";
import { runE2eCase } from "./_e2e_case.ts";
import { runLiveCase } from "./_live_case.ts";
import { runDecodeCase } from "./_decode_case.ts";
import { runCaptureCase } from "./_capture_case.ts";
import { runFlowsCase } from "./_flows_case.ts";
import { runAggregationCase } from "./_aggregation_case.ts";
import { runEnrichCase } from "./_enrich_case.ts";
import { runSoakCase } from "./_soak_case.ts";
import { runDashboardCase } from "./_dashboard_case.ts";
import { withSameRunReferences } from "./same_run_references.ts";
import { type QuietResult, quietText, waitForQuietMachine } from "./machine_quiet.ts";
import { readCpuTicks } from "./proc_stat.ts";

/** How each case is run. */
const CASE_RUNNERS: Record<BenchCaseName, (context: BenchContext) => Promise<BenchRow[]>> = {
  ingest: runIngestCase,
  e2e: runE2eCase,
  live: runLiveCase,
  decode: runDecodeCase,
  capture: runCaptureCase,
  flows: runFlowsCase,
  aggregation: runAggregationCase,
  enrich: runEnrichCase,
  dashboard: runDashboardCase,
  soak: runSoakCase,
};

/** One failed row standing for a case that threw. */
export function failedCaseRow(caseName: BenchCaseName, error: unknown): BenchRow {
  const message = error instanceof Error ? error.message : String(error);
  return {
    caseName,
    label: "(case)",
    unit: "",
    ours: null,
    reference: null,
    target: null,
    status: "failed",
    note: message.split("\n")[0],
  };
}

/** Options for {@linkcode runBench}. */
export interface RunBenchOptions {
  /** Runs one case; tests replace it. @default the real cases */
  runCase?: (caseName: BenchCaseName, context: BenchContext) => Promise<BenchRow[]>;
  /** The context; tests pass their own. @default createBenchContext(args) */
  context?: BenchContext;
  /**
   * Waits for the machine to go quiet before each case (see
   * machine_quiet.ts); null runs the cases back to back (tests).
   * @default waitForQuietMachine reading /proc/stat
   */
  waitForQuiet?: (() => Promise<QuietResult>) | null;
}

/**
 * Runs the cases `args` asks for, one after another, and returns all rows.
 * A case that throws becomes one failed row; the next case still runs.
 */
export async function runBench(
  args: BenchArgs,
  options: RunBenchOptions = {},
): Promise<BenchRow[]> {
  const context = options.context ?? createBenchContext(args);
  const runCase = options.runCase ?? ((name, ctx) => CASE_RUNNERS[name](ctx));
  const waitForQuiet = options.waitForQuiet === undefined
    ? () => waitForQuietMachine({ readTicks: readCpuTicks })
    : options.waitForQuiet;
  const rows: BenchRow[] = [];
  for (const caseName of args.cases) {
    console.log(`\n== ${caseName}`);
    if (waitForQuiet !== null) console.log(`  ${quietText(await waitForQuiet())}`);
    const started = performance.now();
    let caseRows: BenchRow[];
    try {
      caseRows = await runCase(caseName, context);
    } catch (error) {
      console.log(`  ${caseName} failed: ${error instanceof Error ? error.message : error}`);
      caseRows = [failedCaseRow(caseName, error)];
    }
    rows.push(...caseRows);
    console.log(`\n${formatBenchSummary(caseRows)}`);
    console.log(`(${caseName}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return withSameRunReferences(rows);
}

/** `deno task bench` with `argv`; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof BenchArgsError)) throw error;
    console.error(`bench: ${error.message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const started = performance.now();
  const rows = await runBench(args);
  const minutes = (performance.now() - started) / 60_000;
  console.log(
    `\n== summary${args.quick ? " (--quick: small inputs, ratios only indicative)" : ""}, ` +
      `${minutes.toFixed(1)} min\n\n${formatBenchSummary(rows)}`,
  );
  if (args.json) console.log(JSON.stringify({ bench: "summary", rows }));
  return rows.some((row) => row.status === "failed") ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
