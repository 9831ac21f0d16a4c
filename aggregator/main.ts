/**
 * `deno task aggregate`: the aggregator on its own, against PostgreSQL.
 * `--once` runs a single pass (and retention) and exits.
 *
 * PGlite belongs to one process, so on the embedded default the aggregator
 * runs inside the server (`deno task serve`) instead.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  closeLogging,
  ConfigError,
  configureLogging,
  loadConfig,
  LOG_ROOT,
  setThreadNice,
} from "@traffic-analyzer/shared";
import { DatabaseOpenError, migrate, openDatabase } from "@traffic-analyzer/shared/db";
import { ScorerLoadError } from "./scorer/mod.ts";
import { startAggregator } from "./start_aggregator.ts";

const log = getLogger([LOG_ROOT, "aggregator"]);

/** Runs the aggregator with command-line `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig({
      args,
      extraFlags: [{ name: "once", type: "boolean", help: "Run one pass and exit." }],
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`aggregate: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const { config, flags } = loaded;
  if (!config.databaseUrl) {
    console.error(
      "aggregate: the standalone aggregator needs PostgreSQL: set DATABASE_URL " +
        "(on the embedded default, `deno task serve` runs the aggregator inside the server)",
    );
    return 2;
  }
  await configureLogging({
    component: "aggregator",
    logDir: config.logDir,
    level: config.logLevel,
  });
  // Before the scorer's worker and the ONNX runtime's threads start: they take this thread's
  // priority. Capture and ingest go first; the backlog waits in the database.
  const nice = setThreadNice({ nice: config.aggregatorNice, setting: "AGGREGATOR_NICE" });
  if (nice.problem !== null) log.warn("{problem}", { problem: nice.problem });
  else if (nice.after !== nice.before) log.info("Aggregating at nice {nice}", { nice: nice.after });
  let db;
  try {
    db = await openDatabase({
      databaseUrl: config.databaseUrl,
      poolSize: 2,
      applicationName: "traffic-analyzer-aggregator",
      verify: true,
    });
  } catch (error) {
    await closeLogging();
    if (error instanceof DatabaseOpenError) {
      console.error(`aggregate: ${error.message}`);
      return 1;
    }
    throw error;
  }
  try {
    await migrate(db.sql);
    let aggregator;
    try {
      aggregator = await startAggregator(config, {
        sql: db.sql,
        loop: flags.once !== true,
      });
    } catch (error) {
      if (error instanceof ScorerLoadError) {
        console.error(`aggregate: ${error.message}`);
        return 1;
      }
      throw error;
    }
    if (flags.once === true) {
      const result = await aggregator.service.runOnce();
      await aggregator.service.enforceRetention();
      await aggregator.stop();
      console.log(
        result.standby
          ? "aggregate: another aggregator passed moments ago and keeps going; nothing done"
          : result.skipped
          ? "aggregate: another aggregator was running a pass; nothing done"
          : `aggregate: ${result.packets} packets from ${result.batches} batches, ` +
            `${result.flowsWritten} flows written in ${Math.round(result.durationMs)} ms, ` +
            `${result.incidentsOpened} incidents opened`,
      );
      return 0;
    }
    log.info("Aggregator running every {sec} s with model {model}", {
      sec: config.aggregateIntervalMs / 1000,
      model: aggregator.scorer.modelVersion,
    });
    const stopped = Promise.withResolvers<void>();
    const stop = () => stopped.resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    await stopped.promise;
    await aggregator.stop();
    return 0;
  } finally {
    await db.close();
    await closeLogging();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
