/**
 * The ingest and API server alone, without an aggregator: the server never
 * imports the aggregator (the walls), so this entry point cannot run one.
 * `deno task serve` runs `start.ts --role serve` instead, which composes the
 * two in one process.
 *
 * @module
 */
import { closeLogging, ConfigError, configureLogging, loadConfig } from "@traffic-analyzer/shared";
import { runServerOrExit } from "./serve.ts";

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
  const server = await runServerOrExit(config, "serve");
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
