/**
 * `deno task replay`: sends every batch stored in the outbox for SERVER_URL
 * now, oldest first, and reports what was sent, what is still stored and
 * what was dead-lettered. Batches made for other servers stay stored (a
 * warning names them, and `--server-url <url>` sends them there); those an
 * older agent stored without a server are sent only with `--untargeted`,
 * which first files them (and such dead letters) for SERVER_URL for good.
 * `--dead-letters` first moves SERVER_URL's dead letters back into the
 * outbox (after the server was fixed) so they are sent too.
 *
 * Exit codes: 0 nothing left stored, 1 some batches are still stored
 * (the server failed again), 2 bad configuration.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  closeLogging,
  ConfigError,
  configureLogging,
  type ExtraFlag,
  loadConfig,
  LOG_ROOT,
} from "@traffic-analyzer/shared";
import { openAgentServices } from "./agent_services.ts";
import { describeOtherTargets } from "./other_targets.ts";

/** The replay command's own flags. */
export const REPLAY_FLAGS: ExtraFlag[] = [
  {
    name: "dead-letters",
    type: "boolean",
    help: "Move the dead letters back into the outbox first and send them too.",
  },
  {
    name: "untargeted",
    type: "boolean",
    help: "First file the batches (and dead letters) an older agent stored without recording " +
      "their server for SERVER_URL, then send them there with the others.",
  },
  { name: "json", type: "boolean", help: "Print the result as JSON." },
];

const log = getLogger([LOG_ROOT, "agent", "replay"]);

/** Runs the replay with command-line `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig({ args, extraFlags: REPLAY_FLAGS });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`replay: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const { config, flags } = loaded;
  await configureLogging({ component: "agent", logDir: config.logDir, level: config.logLevel });
  const services = await openAgentServices({
    config,
    // No queue behind this command: MAX_RETRIES retries per batch, RETRY_DELAY apart (doubling).
    uploadRetryDelayMs: config.retryDelayMs,
    // The agent id only names this sender in X-Agent-Id; stored batches keep their own keys.
    agentId: (config.agentId ?? Deno.hostname()).replace(/[^\x21-\x7e]/g, "-") || "agent",
  });
  try {
    if (flags.untargeted === true) {
      const adopted = await services.outbox.adoptUntargeted();
      log.info(
        "Filed {batches} batches and {deadLetters} dead letters stored by an older agent " +
          "without a server for {url}",
        { ...adopted, url: services.outbox.target },
      );
    }
    const others = describeOtherTargets(
      await services.outbox.otherTargets(),
      services.outbox.target,
    );
    if (others !== null) log.warn("{others}", { others });
    if (flags["dead-letters"] === true) {
      const moved = await services.outbox.requeueDeadLetters();
      log.info("Moved {moved} dead letters back into the outbox", { moved });
    }
    const summary = await services.delivery.replayAll({ maxRetries: config.maxRetries });
    if (flags.json === true) {
      console.log(JSON.stringify(summary));
    } else {
      const part = (name: string, c: { batches: number; records: number }) =>
        `${name} ${c.batches} batches (${c.records} records)`;
      console.log(
        `replay: ${part("sent", summary.sent)}, ${part("still stored", summary.stored)}, ${
          part("dead-lettered", summary.deadLettered)
        }`,
      );
    }
    return summary.stored.batches > 0 ? 1 : 0;
  } finally {
    await services.close(Infinity);
    await closeLogging();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
