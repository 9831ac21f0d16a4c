/**
 * `deno task agent`: captures packets live (libpcap) or reads a capture file
 * (`--read FILE`), and delivers them to the server in batches, keeping what
 * cannot be delivered in the KV outbox. `--status` prints the outbox and the
 * counters; `--dry-run` decodes and batches without sending (benchmarks).
 *
 * Exit codes: 0 done; 1 capture or file error, or `--read` could deliver
 * nothing because the server refused the token (or there was none); 2 bad
 * configuration; 3 `--read` finished but some batches wait in the outbox
 * (server unreachable): `deno task replay` or the next agent run sends them.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  closeLogging,
  type Config,
  ConfigError,
  configureLogging,
  type ExtraFlag,
  loadConfig,
  LOG_ROOT,
  setThreadNice,
} from "@traffic-analyzer/shared";
import { PcapFormatError, readCaptureBatches } from "@traffic-analyzer/shared/pcap";
import { buildCaptureFilter, CaptureError, CaptureGroup } from "./capture/mod.ts";
import {
  AGENT_KV_FILE_NAME,
  type AgentServices,
  openAgentKv,
  openAgentServices,
} from "./agent_services.ts";
import { FileReadError, FileReadSession } from "./file_read_session.ts";
import { summarizeRun } from "./run_summary.ts";
import { Batcher, MAX_AGENT_ID_LENGTH } from "./batcher.ts";
import { formatAgentStatus } from "./agent_status.ts";
import { describeOtherTargets } from "./other_targets.ts";
import { DryRunSink } from "./dry_run_sink.ts";
import { WorkerBatchEncoder } from "./batch_encoder.ts";
import { CaptureLag } from "./capture_lag.ts";
import { KernelDropTracker } from "./kernel_drop_tracker.ts";
import { Outbox } from "./outbox.ts";
import { ingestTarget } from "./outbox_keys.ts";
import { type PipelineFrame, runPipeline } from "./pipeline.ts";
import { LiveStream } from "./live_stream.ts";
import type { BatchSink } from "./delivery.ts";

/** The agent's own flags, beyond the shared settings. */
export const AGENT_FLAGS: ExtraFlag[] = [
  {
    name: "read",
    type: "string",
    help: "Send a pcap or pcapng file through the pipeline instead of capturing; exit when done.",
  },
  {
    name: "restart",
    type: "boolean",
    help: "With --read: forget how far the file was read before, and read it from the start.",
  },
  {
    name: "status",
    type: "boolean",
    help: "Print the outbox (queue depth, stored bytes, dead letters) and the counters, then exit.",
  },
  {
    name: "json",
    type: "boolean",
    help: "With --status: print JSON.",
  },
  {
    name: "dry-run",
    type: "boolean",
    help: "Decode and batch (and compress) but neither send nor store: for benchmarks.",
  },
];

/** Time given to uploads in flight at shutdown before they are stored instead. */
const SHUTDOWN_GRACE_MS = 5_000;
/**
 * BATCH_SIZE of `--read` when BATCH_SIZE is not set. Live capture keeps the
 * small default (a batch also leaves after BATCH_TIMEOUT); a file has no
 * latency to keep, and each batch is one ingest transaction with its commit:
 * into PostgreSQL with fsync on (bench `e2e`, a loaded 2-core machine) batches
 * of 100 stored about 2,000 packets/s, batches of 5,000 2,900 to 7,000. A
 * batch too large for the server (413) is split in halves by the agent.
 */
export const READ_BATCH_SIZE = 5_000;

/** How often kernel drops are read from pcap stats. */
const STATS_INTERVAL_MS = 10_000;

const log = getLogger([LOG_ROOT, "agent"]);

function fail(message: string, code: number): number {
  console.error(`agent: ${message}`);
  return code;
}

/** The host name, made fit for an agent id (it travels in HTTP headers). */
function hostAgentId(): string {
  const name = Deno.hostname().replace(/[^\x21-\x7e]/g, "-").slice(0, MAX_AGENT_ID_LENGTH);
  return name === "" ? "agent" : name;
}

/**
 * The agent id when `AGENT_ID` is unset: the host name for live capture, and
 * `<host name>:read` for `--read`. Flows are kept apart per agent, so a file
 * read on a host that also captures live keeps flows of its own rather than
 * merging into the live ones. The id does not depend on the file's name: a
 * renamed copy of a file has the same idempotency keys and is stored once.
 */
export function defaultAgentId(reading = false): string {
  if (!reading) return hostAgentId();
  return `${hostAgentId()}:read`.slice(-MAX_AGENT_ID_LENGTH);
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

async function printStatus(config: Config, json: boolean): Promise<number> {
  // Opened as a run opens it, so a store an older agent wrote is read in today's layout.
  const { kv, kvPath } = await openAgentKv(config);
  try {
    const status = await new Outbox({ kv, maxBytes: config.outboxMaxBytes }).status();
    console.log(json ? JSON.stringify(status, null, 2) : formatAgentStatus(status, kvPath));
  } finally {
    kv.close();
  }
  return 0;
}

/** Opens the capture file early so an unreadable one fails before anything starts. */
async function checkReadable(path: string): Promise<string | null> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return `cannot read ${path}: not a file`;
    (await Deno.open(path, { read: true })).close();
    return null;
  } catch (error) {
    return `cannot read ${path}: ${(error as Error).message}`;
  }
}

/** Runs the agent with command-line `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig({ args, extraFlags: AGENT_FLAGS });
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, 2);
    throw error;
  }
  const { config, flags } = loaded;
  const readPath = flags.read as string | undefined;
  const dryRun = flags["dry-run"] === true;
  await configureLogging({ component: "agent", logDir: config.logDir, level: config.logLevel });
  try {
    if (flags.status === true) return await printStatus(config, flags.json === true);
    const agentId = config.agentId ?? defaultAgentId(readPath !== undefined);
    if (!Batcher.isValidAgentId(agentId)) {
      return fail(
        `Invalid AGENT_ID: ${
          JSON.stringify(agentId)
        } is not 1 to ${MAX_AGENT_ID_LENGTH} printable ASCII characters without spaces`,
        2,
      );
    }
    const restart = flags.restart === true;
    if (restart && readPath === undefined) return fail("--restart needs --read FILE", 2);
    if (readPath !== undefined) {
      const problem = await checkReadable(readPath);
      if (problem !== null) return fail(problem, 1);
    }
    // BATCH_SIZE set in the environment or by flag wins; else a file is read in large batches.
    const batchSizeSet = Deno.env.get("BATCH_SIZE") !== undefined ||
      args.some((arg) => arg === "--batch-size" || arg.startsWith("--batch-size="));
    return await run(config, { agentId, readPath, dryRun, restart, batchSizeSet });
  } finally {
    await closeLogging();
  }
}

interface RunOptions {
  /** BATCH_SIZE was set (environment or flag), not the default. */
  batchSizeSet: boolean;
  agentId: string;
  readPath: string | undefined;
  dryRun: boolean;
  restart: boolean;
}

/** Counts the frames a source yields, whatever ends it. */
async function* countFrames<T>(
  bursts: AsyncIterable<readonly T[]>,
  counter: { frames: number },
): AsyncGenerator<readonly T[]> {
  for await (const burst of bursts) {
    counter.frames += burst.length;
    yield burst;
  }
}

async function run(config: Config, options: RunOptions): Promise<number> {
  const { agentId, readPath, dryRun } = options;
  const batchSize = readPath !== undefined && !options.batchSizeSet
    ? READ_BATCH_SIZE
    : config.batchSize;
  const stop = new AbortController();
  let group: CaptureGroup | null = null;
  const onSignal = () => {
    if (stop.signal.aborted) return;
    log.info(
      readPath === undefined
        ? "Stopping: flushing the open batch"
        : "Stopping: the next run resumes after the last batch sent or stored",
    );
    stop.abort();
    // Live capture reads what the kernel already holds, then its bursts end.
    group?.stop();
  };
  const counter = { frames: 0 };
  let frames: AsyncIterable<readonly PipelineFrame[]>;
  let source: string;
  if (readPath !== undefined) {
    frames = countFrames(readCaptureBatches(readPath), counter);
    source = baseName(readPath);
  } else {
    // This thread reads libpcap; the encoding worker started below takes its priority.
    const nice = setThreadNice({ nice: config.captureNice, setting: "CAPTURE_NICE" });
    if (nice.problem !== null) log.warn("{problem}", { problem: nice.problem });
    else if (nice.after !== nice.before) log.info("Capturing at nice {nice}", { nice: nice.after });
    try {
      const filter = await buildCaptureFilter({
        userFilter: config.captureFilter,
        excludeUrl: config.serverUrl,
      });
      const interfaceNames = config.interfaces.length > 0 ? config.interfaces : ["any"];
      group = CaptureGroup.open({
        interfaceNames,
        filter,
        snaplenBytes: config.snaplenBytes,
        promiscuous: config.promiscuous,
        bufferSizeBytes: config.captureBufferMb * 1024 * 1024,
      });
      source = interfaceNames.join(", ");
      log.info("Capturing on {interfaces} with filter {filter}", {
        interfaces: source,
        filter: filter || "(none)",
      });
      for (const capture of group.captures) {
        for (const warning of capture.warnings) log.warn("{warning}", { warning });
      }
    } catch (error) {
      if (error instanceof CaptureError) return fail(error.message, 1);
      if (error instanceof RangeError) return fail(error.message, 2);
      throw error;
    }
    frames = countFrames(group.bursts(), counter);
  }

  let sink: BatchSink;
  let services: AgentServices | null = null;
  let session: FileReadSession | null = null;
  let live: LiveStream | null = null;
  // Live capture encodes batches in a worker, so the thread that reads libpcap only decodes and
  // stages rows. A file is read at the pace of its own thread: `--read --dry-run` (the decode
  // bench's measure) and a file read keep encoding inline.
  const encoder = readPath === undefined ? new WorkerBatchEncoder() : null;
  // Capture first: while live capture runs behind, uploads and replays wait (capture_lag.ts).
  const captureLag = readPath === undefined
    ? new CaptureLag({
      onChange: (behind, lagMs) =>
        behind
          ? log.info("Capture is {lagSec} s behind: uploads wait until it catches up", {
            lagSec: Math.round(lagMs / 100) / 10,
          })
          : log.info("Capture has caught up: uploads go on"),
    })
    : null;
  if (dryRun) {
    sink = new DryRunSink(config.wireFormat, encoder ?? undefined);
  } else {
    const kvPath = `${config.dataDir}/${AGENT_KV_FILE_NAME}`;
    let kv: Deno.Kv;
    try {
      kv = (await openAgentKv(config)).kv;
    } catch (error) {
      group?.close();
      encoder?.close();
      return fail(`cannot open the outbox ${kvPath}: ${(error as Error).message}`, 1);
    }
    if (readPath !== undefined) {
      try {
        session = await FileReadSession.open({
          kv,
          path: readPath,
          agentId,
          batchSize,
          // The default size: a partly read file resumes with the size it was cut with.
          batchSizeIsDefault: !options.batchSizeSet,
          payloadCapture: config.payloadCapture,
          appMetadata: config.appMetadata === "on",
          restart: options.restart,
          // Progress is the server's: a file read into one is read again into another.
          target: ingestTarget(config.serverUrl),
        });
      } catch (error) {
        kv.close();
        if (error instanceof FileReadError) return fail(error.message, 2);
        return fail(`cannot read ${readPath}: ${(error as Error).message}`, 1);
      }
      if (session.alreadyComplete) {
        kv.close();
        console.log(
          `agent: ${readPath} was read completely before (${session.previous!.packets} packets, ` +
            `file ${session.identity.id}) into ${session.target}; nothing to send. ` +
            "--restart reads it again.",
        );
        return 0;
      }
      if (session.startIndex > 0) {
        log.info("Resuming {path} at packet {index} (file {id})", {
          path: readPath,
          index: session.startIndex,
          id: session.identity.id,
        });
      }
    }
    services = await openAgentServices({
      config,
      agentId,
      kv,
      mode: readPath !== undefined ? "file" : "live",
      ledger: session,
      encoder,
      signal: stop.signal,
      holdUploads: captureLag === null ? null : () => captureLag.isBehind(),
    });
    const { delivery } = services;
    services.outbox.listen(async (key) => {
      await delivery.replay(key);
    });
    if (session === null) live = await LiveStream.open(kv);
    sink = session !== null ? session.sink(delivery) : live!.sink(delivery);
    log.info("Agent {agentId} delivers to {url}; outbox {kv}", {
      agentId,
      url: services.uploader.url,
      kv: services.kvPath,
    });
    const others = describeOtherTargets(
      await services.outbox.otherTargets(),
      services.outbox.target,
    );
    if (others !== null) log.warn("{others}", { others });
  }

  const drops = new KernelDropTracker();
  const reportDrops = async () => {
    if (group === null || services === null || group.closed) return;
    const dropped = drops.update(group.stats());
    if (dropped > 0) {
      log.warn("The kernel dropped {dropped} packets before capture", { dropped });
      await services.outbox.addCounters({ kernel_dropped: dropped });
    }
  };
  const statsTimer = group === null ? undefined : setInterval(() => {
    reportDrops().catch((error) => log.error("Cannot record kernel drops: {error}", { error }));
  }, STATS_INTERVAL_MS);

  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const started = performance.now();
  let failure: string | null = null;
  let complete = false;
  try {
    const result = await runPipeline({
      frames,
      sink,
      batchSize: session?.batchSize ?? batchSize,
      // A file is cut by count only, so a rerun cuts the same batches under the same keys.
      batchTimeoutMs: readPath !== undefined ? Infinity : config.batchTimeoutMs,
      agentId,
      keyOf: session === null ? null : (first, count) => session.keyOf(first, count),
      skipFrames: session?.startIndex ?? 0,
      // Each batch's place in the capture, so the aggregator merges them in that order.
      stream: session !== null ? `file-${session.identity.id}` : live?.stream ?? null,
      firstIndex: session?.startIndex ?? live?.firstIndex ?? 0,
      abandonOnStop: readPath !== undefined,
      payloadCapture: config.payloadCapture,
      appMetadata: config.appMetadata === "on",
      captureLag,
      defaultInterfaceName: session?.sourceName ??
        (readPath === undefined ? "" : baseName(readPath)),
      // A file stops after the current burst; live capture ends when its bursts end.
      signal: readPath !== undefined ? stop.signal : undefined,
    });
    complete = result.complete && readPath !== undefined;
  } catch (error) {
    if (error instanceof PcapFormatError) {
      // At offset 0 nothing came before: it is no capture file (or an empty one).
      failure = error.offset === 0
        ? `cannot read ${readPath}: ${error.message}`
        : `cannot read ${readPath} past byte offset ${error.offset}: ${error.message} ` +
          "(the packets before it were delivered or stored)";
    } else if (error instanceof CaptureError) {
      failure = error.message;
    } else if (readPath !== undefined && error instanceof Deno.errors.NotFound) {
      failure = `cannot read ${readPath}: ${(error as Error).message}`;
    } else {
      throw error;
    }
  } finally {
    clearInterval(statsTimer);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await reportDrops().catch(() => {});
    group?.close();
    // A file waits for every batch to be delivered or stored; a stop gives uploads a grace period.
    try {
      await services?.delivery.close({
        graceMs: stop.signal.aborted || readPath === undefined ? SHUTDOWN_GRACE_MS : Infinity,
      });
      if (sink instanceof DryRunSink) await sink.drain();
    } finally {
      // Every batch is encoded by now: the delivery and the dry run wait for them above.
      encoder?.close();
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const startIndex = session?.startIndex ?? 0;
  const packets = Math.max(0, counter.frames - startIndex);
  if (sink instanceof DryRunSink) {
    const rate = Math.round(sink.records / seconds);
    console.log(
      `agent: dry run: ${sink.records} records in ${sink.batches} batches ` +
        `(${sink.bodyBytes} compressed bytes) in ${seconds.toFixed(2)} s: ${rate} records/s`,
    );
    return failure === null ? 0 : fail(failure, 1);
  }
  let outcome;
  try {
    await session?.finish({ complete, packets: counter.frames });
    outcome = summarizeRun({
      mode: readPath !== undefined ? "read" : "live",
      source,
      packets,
      startIndex,
      seconds,
      tally: services!.delivery.tally,
      // This server's: batches kept for other servers are named at start, not waited for here.
      outboxPending: (await services!.outbox.holding()).batches,
    });
  } finally {
    await services?.close(0);
  }
  console.log(outcome.line);
  if (failure !== null) return fail(failure, 1);
  if (outcome.problem !== null) return fail(outcome.problem, outcome.exitCode);
  return outcome.exitCode;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
