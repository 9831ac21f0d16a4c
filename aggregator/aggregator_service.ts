/**
 * Runs aggregation passes every interval (a plain timer: `Deno.cron`'s finest
 * step is one minute) and raw-packet retention on an hourly `Deno.cron`.
 * Passes never overlap within a process; across processes the pass lock in
 * the database keeps them apart.
 *
 * @module
 */
import type { FlowEnricher } from "@traffic-analyzer/shared/enrich";
import { getLogger } from "@logtape/logtape";
import { configDefault } from "@traffic-analyzer/shared/config";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import {
  describeDatabaseError,
  dropExpiredRawPackets,
  embeddedPglite,
  forgetRawPacketPartitions,
  ingestActivity,
  type Sql,
} from "@traffic-analyzer/shared/db";
import type { FlowTableOptions } from "@traffic-analyzer/shared/flow";
import { releasePassMemory } from "./release_pass_memory.ts";
import {
  type AggregationPassResult,
  type FlowScorer,
  type FlowTableCache,
  MAX_PASS_PACKETS,
  runAggregationPass,
} from "./aggregation_pass.ts";

const log = getLogger([LOG_ROOT, "aggregator"]);

/**
 * Target length of a pass on the embedded database. PGlite runs one session
 * on the server's own thread, so while a pass's transaction is open every
 * ingest request waits for it; the agent gives up on a server that does not
 * answer for 30 s. Measured on the shared 2-core machine: a 50,000-packet
 * pass of the bench capture takes 11 to 14 s on PGlite (load 9), so a pass
 * of 250,000 holds it for about a minute and the agent stopped. With passes
 * aimed at 2 s (1.3 to 2.1 s, 10,000 to 15,000 packets each), `/health`
 * answered within 1.9 s throughout an `agent --read` of the whole capture.
 */
export const PGLITE_MAX_PASS_MS = 2_000;

/** See `AggregatorServiceOptions.releaseMemoryMinPackets`. */
export const RELEASE_MEMORY_MIN_PACKETS = 50_000;

/**
 * On PGlite a due pass waits while ingest is busy: while a batch is being
 * stored (or waits for the session), or one ended less than this long ago
 * (the agent's next request is on its way). Batches arriving with gaps let
 * passes in at once; a burst keeps them out, for at most `yieldToIngestMs`.
 */
export const INGEST_QUIET_MS = 250;

/** How often a pass waiting for ingest to quiet down looks again. */
const INGEST_POLL_MS = 50;

/** Packets of the first pass when passes are timed (no measure yet). */
export const FIRST_TIMED_PASS_PACKETS = 5_000;

/** Fewest packets a timed pass takes, so a backlog always drains. */
export const MIN_TIMED_PASS_PACKETS = 1_000;

/**
 * Most packets of an untimed pass (PostgreSQL) that follows one which left
 * batches ready: while the aggregator is behind (issue 15). A pass has a cost
 * that does not depend on its packets (saving the flow table, whose context
 * window alone holds a minute of packet time's flows), so larger passes work
 * a backlog off faster; a pass reads its blocks compressed and decompresses
 * one batch at a time, so its memory does not grow with its packets as it did.
 */
export const BEHIND_PASS_PACKETS = 1_000_000;

/** What the last pass took: the measure {@link nextPassPackets} sizes the next one from. */
export interface PassMeasure {
  /** Packets it merged. */
  packets: number;
  /** Its wall time, ms. */
  durationMs: number;
  /** It left batches ready for the next pass: the aggregator is behind. */
  more?: boolean;
}

/** Options for {@link nextPassPackets}. */
export interface NextPassPacketsOptions {
  /** Target length of a pass, ms; null does not time passes. */
  maxPassMs: number | null;
  /** Most packets of any pass. @default MAX_PASS_PACKETS */
  maxPassPackets?: number;
  /**
   * Most packets of an untimed pass after one that left batches ready.
   * @default maxPassPackets
   */
  maxBehindPassPackets?: number;
}

/**
 * How many packets the next pass reads. Untimed: the most, or
 * `maxBehindPassPackets` after a pass that left batches ready. Timed: as
 * many as the last pass merged in `maxPassMs`, at most twice the last (a
 * short pass is mostly fixed cost, and overshooting would hold the database
 * far longer than the target), at least {@link MIN_TIMED_PASS_PACKETS};
 * {@link FIRST_TIMED_PASS_PACKETS} until a pass with packets has been timed.
 */
export function nextPassPackets(
  last: PassMeasure | null,
  options: NextPassPacketsOptions,
): number {
  const most = options.maxPassPackets ?? MAX_PASS_PACKETS;
  if (options.maxPassMs === null) {
    return last?.more === true ? options.maxBehindPassPackets ?? most : most;
  }
  if (last === null || last.packets <= 0 || !(last.durationMs > 0)) {
    return Math.min(most, FIRST_TIMED_PASS_PACKETS);
  }
  const fit = Math.round(last.packets * options.maxPassMs / last.durationMs);
  return Math.max(Math.min(MIN_TIMED_PASS_PACKETS, most), Math.min(most, fit, 2 * last.packets));
}

/** Options for {@link AggregatorService}. */
export interface AggregatorServiceOptions {
  /** The database. */
  sql: Sql;
  /** Scores flows' feature vectors. */
  scorer: FlowScorer;
  /** Time between the end of one pass and the start of the next. @default 30_000 */
  intervalMs?: number;
  /** Raw-packet retention in days. @default 7 */
  rawRetentionDays?: number;
  /** Cron schedule of retention (five fields). @default "17 * * * *" (hourly) */
  retentionSchedule?: string;
  /** Wall clock, epoch ms. @default Date.now */
  clock?: () => number;
  /** Flow timeouts and windows. */
  flowTableOptions?: FlowTableOptions;
  /**
   * REORDER_WAIT: see `AggregationPassOptions.reorderWaitMs`.
   * @default 4 × intervalMs
   */
  reorderWaitMs?: number;
  /**
   * Aim for passes no longer than this, ms: each pass reads as many packets
   * as the last one merged in this time (see {@link nextPassPackets}); null
   * reads up to `maxPassPackets` every pass. A pass is one transaction, and
   * on PGlite (one session) ingest waits for it.
   * @default PGLITE_MAX_PASS_MS on PGlite, null on PostgreSQL
   */
  maxPassMs?: number | null;
  /** Most packets one pass reads. @default MAX_PASS_PACKETS */
  maxPassPackets?: number;
  /**
   * Most packets an untimed pass reads while the aggregator is behind (the
   * last pass left batches ready; see {@link BEHIND_PASS_PACKETS}).
   * @default BEHIND_PASS_PACKETS, or maxPassPackets when that is given
   */
  maxBehindPassPackets?: number;
  /**
   * Longest a due pass of the loop waits for ingest on the same handle to
   * quiet down (see {@link INGEST_QUIET_MS}), ms; null never waits. On
   * PGlite one session (one thread) serves both, and a pass that starts
   * while the agent's batches queue holds them back for its whole length:
   * in a burst, ingest goes first, and the passes catch up after it (or
   * run once this long has passed, so they never stop for good).
   * @default intervalMs on PGlite, null on PostgreSQL
   */
  yieldToIngestMs?: number | null;
  /** See `AggregationPassOptions.copyNewFlows`. @default false */
  copyNewFlows?: boolean;
  /** See `AggregationPassOptions.alertMinScore` (ALERT_MIN_SCORE). @default its default in shared/config.ts */
  alertMinScore?: number;
  /** GeoIP/ASN of flow endpoints (see `AggregationPassOptions.enricher`). @default scopes only */
  enricher?: FlowEnricher;
  /**
   * This instance's name among the aggregators sharing the database. The
   * host name by default, so that an aggregator restarted on its host
   * resumes at once while one on another host stands by.
   * @default Deno.hostname()
   */
  instanceId?: string;
  /**
   * Stand by while another instance passed within this time (see
   * `AggregationPassOptions.standbyMs`); it takes over after.
   * @default 2.5 × intervalMs
   */
  standbyMs?: number;
  /**
   * Called after each pass that merged at least `releaseMemoryMinPackets`
   * packets, to give back the memory the pass needed only while it ran; null
   * leaves it to V8.
   * @default releasePassMemory (see release_pass_memory.ts)
   */
  releaseMemory?: (() => unknown) | null;
  /**
   * Only passes that merged at least this many packets call `releaseMemory`:
   * a full collection costs about 200 ms of CPU with the aggregator's heap
   * (86 MB alive, measured at load average 28), and a small pass leaves
   * little garbage. @default RELEASE_MEMORY_MIN_PACKETS
   */
  releaseMemoryMinPackets?: number;
  /**
   * Longest wait between passes while they keep failing: the wait starts at
   * one interval and doubles up to this (never below one interval).
   * @default 300_000
   */
  maxBackoffMs?: number;
}

/** How the pass loop is doing, for health reports and tests. */
export interface AggregatorLoopStatus {
  /** Passes failed in a row (0 after a pass that succeeded). */
  consecutiveFailures: number;
  /** The last failure, in one line; null after a pass that succeeded. */
  lastError: string | null;
  /** Passes run by the loop, failed or not. */
  passes: number;
}

/** The aggregation loop of one process. */
export class AggregatorService {
  readonly #options:
    & Required<
      Omit<AggregatorServiceOptions, "flowTableOptions" | "enricher" | "releaseMemory">
    >
    & {
      flowTableOptions?: FlowTableOptions;
      enricher?: FlowEnricher;
      releaseMemory: (() => unknown) | null;
    };
  #cache: FlowTableCache | null = null;
  #lastPass: PassMeasure | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Resolves the wait of a pass that yields to ingest (so `stop()` ends it at once). */
  #yieldResume: (() => void) | null = null;
  #running: Promise<unknown> | null = null;
  #stopped = true;
  #cronAbort: AbortController | null = null;
  #status: AggregatorLoopStatus = { consecutiveFailures: 0, lastError: null, passes: 0 };

  /** Creates the service; `start()` runs it. */
  constructor(options: AggregatorServiceOptions) {
    const intervalMs = options.intervalMs ?? 30_000;
    if (!(intervalMs >= 100)) {
      throw new RangeError(
        `Cannot run the aggregator as 'intervalMs' must be at least 100: current value is ${intervalMs}`,
      );
    }
    const maxPassMs = options.maxPassMs === undefined
      ? (embeddedPglite(options.sql) ? PGLITE_MAX_PASS_MS : null)
      : options.maxPassMs;
    if (maxPassMs !== null && !(maxPassMs > 0)) {
      throw new RangeError(
        `Cannot run the aggregator as 'maxPassMs' must be positive or null: current value is ${maxPassMs}`,
      );
    }
    const yieldToIngestMs = options.yieldToIngestMs === undefined
      ? (embeddedPglite(options.sql) ? intervalMs : null)
      : options.yieldToIngestMs;
    if (yieldToIngestMs !== null && !(yieldToIngestMs >= 0)) {
      throw new RangeError(
        `Cannot run the aggregator as 'yieldToIngestMs' must be at least 0 or null: current value is ${yieldToIngestMs}`,
      );
    }
    const maxPassPackets = options.maxPassPackets ?? MAX_PASS_PACKETS;
    if (!(Number.isInteger(maxPassPackets) && maxPassPackets > 0)) {
      throw new RangeError(
        `Cannot run the aggregator as 'maxPassPackets' must be a positive integer: current value is ${maxPassPackets}`,
      );
    }
    const maxBehindPassPackets = options.maxBehindPassPackets ??
      (options.maxPassPackets === undefined
        ? Math.max(maxPassPackets, BEHIND_PASS_PACKETS)
        : maxPassPackets);
    if (!(Number.isInteger(maxBehindPassPackets) && maxBehindPassPackets > 0)) {
      throw new RangeError(
        `Cannot run the aggregator as 'maxBehindPassPackets' must be a positive integer: current value is ${maxBehindPassPackets}`,
      );
    }
    this.#options = {
      intervalMs,
      maxPassMs,
      maxPassPackets,
      maxBehindPassPackets,
      yieldToIngestMs,
      rawRetentionDays: options.rawRetentionDays ?? configDefault("rawRetentionDays"),
      retentionSchedule: options.retentionSchedule ?? "17 * * * *",
      clock: options.clock ?? Date.now,
      copyNewFlows: options.copyNewFlows ?? false,
      alertMinScore: options.alertMinScore ?? configDefault("alertMinScore"),
      instanceId: options.instanceId ?? Deno.hostname(),
      standbyMs: options.standbyMs ?? intervalMs * 2.5,
      maxBackoffMs: Math.max(intervalMs, options.maxBackoffMs ?? 300_000),
      reorderWaitMs: options.reorderWaitMs ?? intervalMs * 4,
      sql: options.sql,
      scorer: options.scorer,
      flowTableOptions: options.flowTableOptions,
      enricher: options.enricher,
      releaseMemory: options.releaseMemory === undefined
        ? releasePassMemory
        : options.releaseMemory,
      releaseMemoryMinPackets: options.releaseMemoryMinPackets ?? RELEASE_MEMORY_MIN_PACKETS,
    };
  }

  /** Runs one pass now (waiting for a running one first). */
  async runOnce(): Promise<AggregationPassResult> {
    while (this.#running) await this.#running.catch(() => {});
    const pass = runAggregationPass({
      sql: this.#options.sql,
      scorer: this.#options.scorer,
      nowMs: this.#options.clock(),
      cache: this.#cache,
      maxPackets: nextPassPackets(this.#lastPass, this.#options),
      flowTableOptions: this.#options.flowTableOptions,
      copyNewFlows: this.#options.copyNewFlows,
      alertMinScore: this.#options.alertMinScore,
      enricher: this.#options.enricher,
      instanceId: this.#options.instanceId,
      standbyMs: this.#options.standbyMs,
      reorderWaitMs: this.#options.reorderWaitMs,
    });
    this.#running = pass;
    try {
      const result = await pass;
      this.#cache = result.cache;
      if (result.packets > 0) {
        this.#lastPass = {
          packets: result.packets,
          durationMs: result.durationMs,
          more: result.more,
        };
        // Before the log line below, so the heap it reports is what the pass left alive.
        if (result.packets >= this.#options.releaseMemoryMinPackets) {
          this.#options.releaseMemory?.();
        }
      }
      if (!result.skipped && (result.packets > 0 || result.flowsWritten > 0)) {
        // The memory after the pass tells a leak (heap used creeping up pass
        // after pass) from a larger working set (the soak prints it by minute).
        const memory = Deno.memoryUsage();
        log.info(
          "Pass: {packets} packets from {batches} batches, {flows} flows written in {ms} ms, " +
            "{incidents} incidents opened; heap {heapMb} MB used, {rssMb} MB resident",
          {
            packets: result.packets,
            batches: result.batches,
            flows: result.flowsWritten,
            incidents: result.incidentsOpened,
            ms: Math.round(result.durationMs),
            heapMb: Math.round(memory.heapUsed / 1e6),
            rssMb: Math.round(memory.rss / 1e6),
          },
        );
      }
      if (result.skippedGaps > 0 || result.lateBatches > 0) {
        // Merged out of capture order: the flows of those packets may differ
        // from an in-order merge (README, Guarantees).
        log.warn(
          "Pass merged out of capture order: stopped waiting for {gaps} missing batches " +
            "after {waitMs} ms (REORDER_WAIT), merged {late} batches late",
          {
            gaps: result.skippedGaps,
            late: result.lateBatches,
            waitMs: this.#options.reorderWaitMs,
          },
        );
      }
      return result;
    } catch (error) {
      // The table in memory may hold changes the failed transaction did not keep.
      this.#cache = null;
      throw error;
    } finally {
      this.#running = null;
    }
  }

  /** How the pass loop is doing. */
  get status(): Readonly<AggregatorLoopStatus> {
    return { ...this.#status };
  }

  /** Drops expired raw-packet partitions now. */
  async enforceRetention(): Promise<void> {
    const result = await dropExpiredRawPackets(this.#options.sql, {
      retentionDays: this.#options.rawRetentionDays,
      nowMs: this.#options.clock(),
    });
    if (result.dropped.length > 0) forgetRawPacketPartitions(this.#options.sql);
    for (const name of result.dropped) log.info("Retention dropped {name}", { name });
    for (const k of result.kept) {
      log.warn("Retention kept {name}: {reason}", { name: k.partition, reason: k.reason });
    }
  }

  /** Starts the pass loop and the retention schedule. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#cronAbort = new AbortController();
    Deno.cron(
      "traffic-analyzer raw-packet retention",
      this.#options.retentionSchedule,
      { signal: this.#cronAbort.signal },
      () =>
        this.enforceRetention().catch((error) =>
          log.error("Retention failed, trying again next hour: {reason}", {
            reason: describeDatabaseError(error),
          })
        ),
    );
    const loop = async () => {
      if (this.#stopped) return;
      const waitMs = await this.#loopOnce();
      if (!this.#stopped) this.#timer = setTimeout(loop, waitMs);
    };
    this.#timer = setTimeout(loop, 0);
  }

  /**
   * Runs one pass of the loop and returns how long to wait before the next.
   * A failure of any kind (the database restarting or gone, a statement
   * timeout, a full disk) is logged once, when the passes start failing, and
   * the wait doubles from one interval while they keep failing; the first
   * pass that succeeds again says so. Nothing here ever throws.
   */
  async #loopOnce(): Promise<number> {
    const { intervalMs, maxBackoffMs } = this.#options;
    await this.#yieldToIngest();
    if (this.#stopped) return 0;
    this.#status.passes++;
    try {
      const { more } = await this.runOnce();
      if (this.#status.consecutiveFailures > 0) {
        log.info("Aggregation passes work again after {failures} failed", {
          failures: this.#status.consecutiveFailures,
        });
      }
      this.#status.consecutiveFailures = 0;
      this.#status.lastError = null;
      // A backlog is worked off pass after pass, without waiting the interval.
      return more ? 0 : intervalMs;
    } catch (error) {
      const failures = ++this.#status.consecutiveFailures;
      const reason = describeDatabaseError(error);
      this.#status.lastError = reason;
      const waitMs = Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(failures - 1, 30));
      if (failures === 1) {
        log.error(
          "Aggregation pass failed: {reason}. Retrying in {sec} s, then less often " +
            "while passes keep failing (logged again once they work)",
          { reason, sec: waitMs / 1000 },
        );
        log.debug("Aggregation pass failure: {error}", { error });
      } else {
        log.debug("Aggregation pass failed again ({failures} in a row): {reason}", {
          failures,
          reason,
        });
      }
      return waitMs;
    }
  }

  /**
   * Waits while ingest on the same handle is busy (see
   * {@link INGEST_QUIET_MS}), for at most `yieldToIngestMs`, or until stopped.
   */
  async #yieldToIngest(): Promise<void> {
    const limitMs = this.#options.yieldToIngestMs;
    if (limitMs === null) return;
    const started = performance.now();
    const busy = () => {
      const { storing, lastEndedMs } = ingestActivity(this.#options.sql);
      return storing > 0 ||
        (lastEndedMs !== null && performance.now() - lastEndedMs < INGEST_QUIET_MS);
    };
    while (!this.#stopped && busy() && performance.now() - started < limitMs) {
      await new Promise<void>((resolve) => {
        this.#yieldResume = resolve;
        this.#timer = setTimeout(resolve, INGEST_POLL_MS);
      });
      this.#yieldResume = null;
    }
  }

  /** Stops the loop and waits for a running pass to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#yieldResume?.();
    this.#cronAbort?.abort();
    while (this.#running) await this.#running.catch(() => {});
  }
}
