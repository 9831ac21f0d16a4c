/**
 * `deno task start`: the whole system in one command on the embedded default
 * (PGlite under DATA_DIR): the server with its web page and API, the
 * aggregator in the same process (PGlite belongs to one process), and a
 * capture agent. The agent captures live when libpcap and the privilege are
 * there; otherwise it replays the bundled demo capture made by the lab.
 *
 * `deno task serve` is this program with `--role serve`: no agent. Both run
 * the aggregator in-process unless `--no-aggregate`; with PostgreSQL it
 * stands by while another aggregator (a `deno task aggregate` or another
 * server's) is active, so any number of servers is safe.
 *
 * Records go to `server.log` and `aggregator.log` in LOG_DIR (the agent, a
 * child process, writes `agent.log`). A wrong DATABASE_URL, a port in use or
 * a data folder open in another process prints one line and exits 1.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  closeLogging,
  type Config,
  ConfigError,
  configureLogging,
  loadConfig,
  LOG_ROOT,
} from "@traffic-analyzer/shared";
import { runServerOrExit } from "@traffic-analyzer/server/serve";
import { resolveIngestTokens } from "@traffic-analyzer/server";
import { type RunningAggregator, startAggregator } from "@traffic-analyzer/aggregator";
import { ScorerLoadError } from "@traffic-analyzer/aggregator/scorer";
import { CaptureError, LiveCapture } from "@traffic-analyzer/agent/capture";

const aggregatorLog = getLogger([LOG_ROOT, "aggregator"]);
const DEMO_CAPTURE = new URL("./models/captures/demo.pcap", import.meta.url);

/** Why live capture cannot run here, or null when it can. */
function liveCaptureProblem(config: Config): string | null {
  try {
    const probe = LiveCapture.open({
      interfaceName: config.interfaces[0] ?? "any",
      snaplenBytes: 128,
    });
    probe.close();
    return null;
  } catch (error) {
    if (error instanceof CaptureError) return error.message;
    throw error;
  }
}

/** Starts `agent/main.ts` as a child process delivering to this server. */
function spawnAgent(config: Config, serverUrl: string, token: string, args: string[]) {
  const main = new URL("./agent/main.ts", import.meta.url);
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      new URL("./deno.json", import.meta.url).pathname,
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--allow-read",
      `--allow-write=${config.dataDir},${config.logDir}`,
      "--allow-ffi",
      main.pathname,
      ...args,
    ],
    env: {
      // A newcomer should see flows within a minute: unless told otherwise, the
      // bundled agent sends every 5 s instead of waiting up to 30 s for a batch.
      ...(Deno.env.get("BATCH_TIMEOUT") === undefined ? { BATCH_TIMEOUT: "5s" } : {}),
      SERVER_URL: `${serverUrl}ingest_packets`,
      AGENT_TOKEN: token,
      DATA_DIR: config.dataDir,
      LOG_DIR: config.logDir,
    },
    stdin: "null",
  }).spawn();
}

/** The command the flags make of this program: `serve` (`--role serve`) or `start`. */
function commandOf(flags: Record<string, unknown>): "serve" | "start" {
  return flags.role === "serve" ? "serve" : "start";
}

if (import.meta.main) {
  let loaded;
  try {
    loaded = loadConfig({
      args: Deno.args,
      extraFlags: [
        { name: "role", type: "string", help: "all (default) or serve (no agent)" },
        { name: "no-agent", type: "boolean", help: "Do not start a capture agent." },
        { name: "no-aggregate", type: "boolean", help: "Do not run the aggregator in-process." },
      ],
    });
    if (
      loaded.flags.role !== undefined && !["all", "serve"].includes(loaded.flags.role as string)
    ) {
      throw new ConfigError(
        `Invalid --role: ${JSON.stringify(loaded.flags.role)} is not one of all, serve`,
        { setting: "--role", flags: loaded.flags },
      );
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      // `deno task serve` (`--role serve`) reports a bad setting as serve's, as it reports
      // every later failure.
      console.error(`${commandOf(error.flags)}: ${error.message}`);
      Deno.exit(2);
    }
    throw error;
  }
  const { config, flags } = loaded;
  const command = commandOf(flags);
  const serveOnly = command === "serve";
  const withAgent = !serveOnly && flags["no-agent"] !== true;
  const withAggregator = flags["no-aggregate"] !== true;

  await configureLogging({
    component: "server",
    alsoComponents: ["aggregator"],
    logDir: config.logDir,
    level: config.logLevel,
  });
  const server = await runServerOrExit(config, command);
  let aggregator: RunningAggregator | null = null;
  if (withAggregator) {
    try {
      aggregator = await startAggregator(config, {
        sql: server.db.sql,
      });
      aggregatorLog.info("Aggregator running in-process every {sec} s with model {model}", {
        sec: config.aggregateIntervalMs / 1000,
        model: aggregator.scorer.modelVersion,
      });
    } catch (error) {
      await server.shutdown();
      if (error instanceof ScorerLoadError) {
        console.error(`${command}: ${error.message}`);
        Deno.exit(1);
      }
      throw error;
    }
  }

  let agent: Deno.ChildProcess | null = null;
  if (withAgent) {
    const { tokens } = await resolveIngestTokens({
      configured: config.ingestTokens,
      dataDir: config.dataDir,
    });
    const problem = liveCaptureProblem(config);
    if (problem === null) {
      console.log(
        `Capturing live on ${config.interfaces.join(", ") || "any"} (set INTERFACE to choose).`,
      );
      agent = spawnAgent(config, server.url, tokens[0], []);
    } else {
      console.log(`Live capture unavailable (${problem}); replaying the bundled demo capture.`);
      agent = spawnAgent(config, server.url, tokens[0], ["--read", DEMO_CAPTURE.pathname]);
    }
  }

  console.log(`\nTraffic Analyzer is running: open ${server.url}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      agent?.kill("SIGTERM");
    } catch { /* already exited */ }
    await agent?.status;
    await aggregator?.stop();
    await server.shutdown();
    await closeLogging();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}
