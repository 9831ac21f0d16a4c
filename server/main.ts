/**
 * The ingest and API server alone, without an aggregator: the server never
 * imports the aggregator (the walls), so this entry point cannot run one.
 * `deno task serve` runs `start.ts --role serve` instead, which composes the
 * two in one process.
 *
 * @module
 */
import { closeLogging, ConfigError, configureLogging, loadConfig } from "@traffic-analyzer/shared";
import { DatabaseOpenError } from "@traffic-analyzer/shared/db";
import { runServer, ServerStartError } from "./serve.ts";

if (import.meta.main) {
  let loaded;
  try {
    loaded = loadConfig({
      args: Deno.args,
      extraFlags: [{
        name: "no-aggregate",
        type: "boolean",
        help: "Accepted for `deno task serve` compatibility; this server never aggregates.",
      }],
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`serve: ${error.message}`);
      Deno.exit(2);
    }
    throw error;
  }
  const { config } = loaded;
  await configureLogging({
    component: "server",
    logDir: config.logDir,
    level: config.logLevel,
  });
  let server;
  try {
    server = await runServer(config);
  } catch (error) {
    if (error instanceof DatabaseOpenError || error instanceof ServerStartError) {
      console.error(`serve: ${error.message}`);
      await closeLogging();
      Deno.exit(1);
    }
    throw error;
  }
  console.log(`Traffic Analyzer is serving on ${server.url}`);
  const stop = async () => {
    await server.shutdown();
    await closeLogging();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}
