/**
 * `deno task start`: the whole system in one process on the embedded default
 * (PGlite under DATA_DIR): the server with its web page and API, the
 * aggregator inside it, and a capture agent.
 *
 * @module
 */
import { closeLogging, ConfigError, configureLogging, loadConfig } from "@traffic-analyzer/shared";
import { runServer } from "@traffic-analyzer/server/serve";

if (import.meta.main) {
  let config;
  try {
    ({ config } = loadConfig({ args: Deno.args }));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`start: ${error.message}`);
      Deno.exit(2);
    }
    throw error;
  }
  await configureLogging({ component: "start", logDir: config.logDir, level: config.logLevel });
  const server = await runServer(config);
  console.log(`\nTraffic Analyzer is running: open ${server.url}\n`);
  const stop = async () => {
    await server.shutdown();
    await closeLogging();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}
