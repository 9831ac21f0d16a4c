/**
 * `deno task rescore [--since <ISO time or epoch seconds>] [--dry-run]`:
 * scores stored flows again with the current model (MODEL_PATH) from their
 * stored feature vectors, and updates their label, score, model version and
 * explanation. `--dry-run` prints what would change and writes nothing.
 * Works on DATABASE_URL, or on the embedded PGlite under DATA_DIR when it is
 * unset (stop the server first: PGlite belongs to one process).
 *
 * @module
 */
import { ConfigError, loadConfig } from "@traffic-analyzer/shared";
import { DatabaseOpenError, migrate, openDatabase } from "@traffic-analyzer/shared/db";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { loadFlowScorer, ScorerLoadError } from "./scorer/mod.ts";
import { formatRescoreReport, rescoreFlows } from "./rescore.ts";

/** Usage line printed with `--help` and after a bad flag. */
export const RESCORE_USAGE: string =
  "usage: deno task rescore [--since <ISO 8601 time or epoch seconds>] [--dry-run] " +
  "[--batch-size N] [any setting flag, e.g. --model PATH]";

/**
 * Parses `--since`: an ISO 8601 time with a date (`2026-01-31`,
 * `2026-01-31T12:00:00Z`) or epoch seconds (`1769860800`, decimals allowed).
 * Returns epoch seconds.
 *
 * @throws {ConfigError} naming `--since` when the value is neither.
 */
export function parseSince(text: string): number {
  if (/^\d{1,12}(\.\d+)?$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms / 1000;
  }
  throw new ConfigError(
    `--since must be an ISO 8601 time (2026-01-31T12:00:00Z) or epoch seconds: current value is ${
      JSON.stringify(text)
    }`,
    { setting: "--since" },
  );
}

function parseBatchSize(text: string): number {
  const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1)) {
    throw new ConfigError(
      `--batch-size must be an integer 1..9999999: current value is ${JSON.stringify(text)}`,
      { setting: "--batch-size" },
    );
  }
  return n;
}

/** Runs the rescore with command-line `args`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function main(args: string[]): Promise<number> {
  let config, flags, sinceSec: number | null, batchSize: number;
  try {
    ({ config, flags } = loadConfig({
      args,
      extraFlags: [
        { name: "since", type: "string", help: "Only flows whose last packet is at or after." },
        { name: "dry-run", type: "boolean", help: "Print what would change; write nothing." },
        { name: "batch-size", type: "string", help: "Flows per page (default 2000)." },
        { name: "help", type: "boolean", help: "Print the usage." },
      ],
    }));
    sinceSec = typeof flags.since === "string" ? parseSince(flags.since) : null;
    batchSize = typeof flags["batch-size"] === "string"
      ? parseBatchSize(flags["batch-size"])
      : 2000;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`rescore: ${error.message}\n${RESCORE_USAGE}`);
      return 2;
    }
    throw error;
  }
  if (flags.help === true) {
    console.log(RESCORE_USAGE);
    return 0;
  }
  let scorer;
  try {
    scorer = await loadFlowScorer({
      modelPath: config.modelPath,
      expectedFeatureNames: FEATURE_NAMES,
      expectedFeatureVersion: FEATURE_VERSION,
    });
  } catch (error) {
    if (error instanceof ScorerLoadError) {
      console.error(`rescore: ${error.message}`);
      return 1;
    }
    throw error;
  }
  if (!scorer.explains) {
    console.error(
      `rescore: no tree covers beside ${config.modelPath}: alerts are rescored without explanations`,
    );
  }
  let db;
  try {
    db = await openDatabase({
      databaseUrl: config.databaseUrl,
      pgliteDir: `${config.dataDir}/pglite`,
      poolSize: 2,
      applicationName: "traffic-analyzer-rescore",
      verify: true,
    });
  } catch (error) {
    await scorer.close();
    if (error instanceof DatabaseOpenError) {
      console.error(`rescore: ${error.message}`);
      return 1;
    }
    throw error;
  }
  try {
    // A dry run writes nothing, schema included; it reads no column added since.
    if (flags["dry-run"] !== true) await migrate(db.sql);
    const report = await rescoreFlows(db.sql, {
      scorer,
      alertMinScore: config.alertMinScore,
      sinceSec,
      dryRun: flags["dry-run"] === true,
      batchSize,
    });
    for (const line of formatRescoreReport(report)) console.log(line);
    return 0;
  } finally {
    await scorer.close();
    await db.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
