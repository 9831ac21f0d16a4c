/**
 * `deno task serve`: the ingest and API server on its own.
 *
 * @module
 */
import { closeLogging, ConfigError, configureLogging, loadConfig } from "@traffic-analyzer/shared";
import { runServer } from "./serve.ts";

if (import.meta.main) {
  let loaded;
  try {
    loaded = loadConfig({
      args: Deno.args,
      extraFlags: [{
        name: "no-aggregate",
        type: "boolean",
        help: "Do not run the aggregator inside the server (embedded default only).",
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
  const server = await runServer(config);
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
