/**
 * One aggregation pass: read the batches ingested since the watermark (each
 * agent's in capture order, see batch_selection.ts; the rest in commit
 * order), merge their packets into the flow table, score every new or
 * changed flow, write them to `traffic_data`, store the flow table and move
 * the watermark, all in one transaction. A pass killed at any point leaves
 * nothing behind, and the next pass redoes it with the same result.
 *
 * @module
 */
import type { FlowEnricher } from "@traffic-analyzer/shared/enrich";
import { gunzipSync } from "node:zlib";
import { gzipText } from "./gzip_text.ts";
import { getLogger } from "@logtape/logtape";
import { configDefault } from "@traffic-analyzer/shared/config";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import {
  deleteBatchPacketColumns,
  embeddedPglite,
  markBatchesAggregated,
  readAggregatorProgress,
  readFlowTableState,
  readIngestHorizon,
  readPendingBatches,
  readStreamPositions,
  saveAggregatorProgress,
  saveStreamPositions,
  type Sql,
  tryLockAggregator,
} from "@traffic-analyzer/shared/db";
import {
  FlowTable,
  type FlowTableOptions,
  type FlowTableState,
} from "@traffic-analyzer/shared/flow";
import { type FlowScorer, type FlowVerdict, PassFlowWriter } from "./pass_flow_writer.ts";
import { readPassPackets } from "./read_pass_packets.ts";
import { INCIDENT_WINDOW_SEC, PassIncidents } from "./pass_incidents.ts";
import { selectPassBatches } from "./batch_selection.ts";
import { PassRollup } from "./pass_rollup.ts";

export type { FlowScorer, FlowVerdict };

const log = getLogger([LOG_ROOT, "aggregator"]);

/**
 * The flow table kept in memory between passes by one process. It is reused
 * only when the database says no other instance has run a pass since.
 */
export interface FlowTableCache {
  /** `aggregator_progress.state_version` the table was saved at. */
  stateVersion: number;
  /** The flow table as the last pass left it. */
  table: FlowTable;
}

/** Options for {@link runAggregationPass}. */
export interface AggregationPassOptions {
  /** Database handle. */
  sql: Sql;
  /** Scores flows; every written flow carries its label, score and model version. */
  scorer: FlowScorer;
  /** Wall clock, epoch ms: expires flows of live traffic once its packets stop. */
  nowMs: number;
  /** In-memory flow table from this process's previous pass. @default none */
  cache?: FlowTableCache | null;
  /**
   * Most packets read in one pass (whole batches). Bounds the pass's memory
   * (the rows are held at once); a backlog is worked off by several passes.
   * @default {@link MAX_PASS_PACKETS}
   */
  maxPackets?: number;
  /**
   * REORDER_WAIT: longest a missing batch of an agent's capture holds that
   * capture's later batches back (see batch_selection.ts); then they are
   * merged without it, and it is merged late if it comes. Also how long
   * after the last packets packet time starts to follow the wall clock.
   * @default 120_000
   */
  reorderWaitMs?: number;
  /** Flow timeouts and windows. @default the flow table's defaults */
  flowTableOptions?: FlowTableOptions;
  /** Flows scored per model call. @default 4096 */
  scoreBatchSize?: number;
  /**
   * Insert flows new to `traffic_data` with binary COPY instead of an
   * upsert statement: several times cheaper for PostgreSQL, and on PGlite
   * (through its own `COPY FROM '/dev/blob'`, see `openFlowCopy`).
   * @default false
   */
  copyNewFlows?: boolean;
  /**
   * Looks up GeoIP country and ASN of each written flow's endpoints, once
   * per flow (cached by address). @default scopes only, no database
   */
  enricher?: FlowEnricher;
  /**
   * Names this process among the aggregators sharing the database; stored
   * with each pass it runs. @default null
   */
  instanceId?: string | null;
  /**
   * Stand by when another instance ran a pass less than this long ago (and
   * this one's flow table is not the latest): that instance is alive and
   * keeps the table in memory, while taking turns would make every pass
   * load it from the database. Once the other stops passing for this long,
   * this instance takes over. 0 never stands by.
   * @default 0
   */
  standbyMs?: number;
  /**
   * Called after each step inside the transaction; a throw aborts the pass
   * there. Tests use it to kill a pass at every point.
   * @default none
   */
  onStep?: (step: PassStep) => void;
  /**
   * ALERT_MIN_SCORE: a flow of a non-benign class scored at least this joins
   * an incident (built in the pass's transaction); every flow scored at least
   * this is stored with its explanation.
   * @default the ALERT_MIN_SCORE default in shared/config.ts
   */
  alertMinScore?: number;
  /**
   * Most alerted flows explained per pass, the highest scores first (see
   * `MAX_EXPLAINED_FLOWS_PER_PASS`); null for no limit.
   * @default MAX_EXPLAINED_FLOWS_PER_PASS
   */
  maxExplainedFlows?: number | null;
  /**
   * Packet time after an incident's last flow within which a flow of the same
   * class and source (or target) still joins it.
   * @default 900
   */
  incidentWindowSec?: number;
}

/**
 * The points of a pass at which {@link AggregationPassOptions.onStep} is
 * called: lock taken; packets read; packets merged (flows that ended are
 * scored and sent meanwhile); every flow scored and stored; written (the
 * flows' incidents too); progress saved.
 */
export type PassStep = "locked" | "read" | "merged" | "scored" | "written" | "saved";

/** What one pass did. */
export interface AggregationPassResult {
  /**
   * This instance did nothing: another held the pass lock, or (`standby`)
   * ran the last pass recently and keeps going.
   */
  skipped: boolean;
  /** Skipped because another instance is active (see `standbyMs`). */
  standby: boolean;
  /** Ingest batches taken. */
  batches: number;
  /** Packets merged. */
  packets: number;
  /** Flows written to `traffic_data` (new or changed). */
  flowsWritten: number;
  /** Incidents this pass opened. */
  incidentsOpened: number;
  /** Batches merged after a later batch of their stream (see batch_selection.ts). */
  lateBatches: number;
  /** Gaps in a stream this pass stopped waiting for. */
  skippedGaps: number;
  /** Batches held back behind a missing earlier batch of their stream. */
  heldBatches: number;
  /** Wall time of the pass, ms. */
  durationMs: number;
  /** More batches were ready than this pass took: run the next one at once. */
  more: boolean;
  /** The table to reuse next pass (null when skipped). */
  cache: FlowTableCache | null;
}

/**
 * Packets merged per `FlowTable.mergeEnded()` call. The table's result does
 * not depend on how the packets are split (tested); slices bound memory, and
 * the flows that end in one are sent before the next merges.
 */
const MERGE_SLICE_PACKETS = 8192;

/** Most batches one pass merges (their ids travel in a few statements). */
const MAX_PASS_BATCHES = 10_000;

/**
 * Pending batches a pass looks at, in commit order: more than it takes, so a
 * stream held back behind a gap does not hide the batches after it.
 */
const PENDING_BATCHES_READ = 50_000;

/**
 * Alerted flows explained per pass. Measured with `deno task bench --only
 * flows` on the shared 2-core machine: exact TreeSHAP over the 100 trees
 * costs 0.8 to 2.5 ms per flow, 30 to 250 times an ONNX score. At the alert
 * rate issue 11 aims for (1 %) that is a small share of a pass; with a model
 * that flags most flows (87 % of the bench capture with the model of
 * 2026-12-02) it made a 100k-packet pass take 71 s instead of seconds. 1000
 * bounds that at a few seconds; `deno task rescore` explains the rest.
 */
export const MAX_EXPLAINED_FLOWS_PER_PASS = 1000;

/** Most packets one pass reads unless told otherwise (`AggregationPassOptions.maxPackets`). */
export const MAX_PASS_PACKETS = 250_000;

/** Runs one pass. Safe to call from several processes at once. */
export async function runAggregationPass(
  options: AggregationPassOptions,
): Promise<AggregationPassResult> {
  const started = performance.now();
  const maxPackets = options.maxPackets ?? MAX_PASS_PACKETS;
  const scoreBatchSize = options.scoreBatchSize ?? 4096;
  const { sql, scorer } = options;
  const reorderWaitMs = options.reorderWaitMs ?? 120_000;

  const horizon = await readIngestHorizon(sql);
  return await sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    const skipped = (standby: boolean): AggregationPassResult => ({
      skipped: true,
      standby,
      batches: 0,
      packets: 0,
      flowsWritten: 0,
      incidentsOpened: 0,
      lateBatches: 0,
      skippedGaps: 0,
      heldBatches: 0,
      durationMs: performance.now() - started,
      more: false,
      cache: null,
    });
    if (!await tryLockAggregator(tx)) return skipped(false);
    const step = options.onStep ?? (() => {});
    step("locked");
    const progress = await readAggregatorProgress(tx);
    const instanceId = options.instanceId ?? null;
    const cached = options.cache && options.cache.stateVersion === progress.stateVersion
      ? options.cache.table
      : null;
    if (
      cached === null && (options.standbyMs ?? 0) > 0 && progress.lastPassBy !== null &&
      progress.lastPassBy !== instanceId && progress.lastPassAgeMs !== null &&
      progress.lastPassAgeMs < options.standbyMs!
    ) {
      return skipped(true);
    }
    let table = cached;
    if (table === null) {
      const saved = await readFlowTableState(tx);
      if (saved) {
        const state = JSON.parse(new TextDecoder().decode(gunzipSync(saved))) as FlowTableState;
        const unscoped = state.flows.filter((flow) => flow.agent === undefined).length;
        if (unscoped > 0) {
          log.info(
            "The saved flow table predates flows per agent: its {count} live flows continue " +
              "without an agent until they end; new packets start flows of their own agent",
            { count: unscoped },
          );
        }
        table = FlowTable.fromJSON(state);
      } else {
        table = new FlowTable(options.flowTableOptions);
      }
    }

    // Flows the table holds now may be in traffic_data already; any other
    // flow this pass reports is new there, and can go in by COPY.
    const maybeStored = options.copyNewFlows ? table.uids() : null;

    const pending = await readPendingBatches(tx, {
      afterBatchId: progress.lastBatchId,
      horizon,
      limit: PENDING_BATCHES_READ,
    });
    const streams = new Map<string, { agentId: string; stream: string }>();
    for (const batch of pending) {
      if (batch.stream !== null) {
        streams.set(`${batch.agentId}\u0000${batch.stream}`, {
          agentId: batch.agentId,
          stream: batch.stream,
        });
      }
    }
    const selection = selectPassBatches(
      pending,
      await readStreamPositions(tx, [...streams.values()]),
      {
        afterBatchId: progress.lastBatchId,
        horizon,
        maxRecords: maxPackets,
        maxBatches: MAX_PASS_BATCHES,
        reorderWaitMs,
      },
    );
    const { batches } = selection;
    const packets = await readPassPackets(tx, { batches });
    step("read");

    const alertMinScore = options.alertMinScore ?? configDefault("alertMinScore");
    const incidents = new PassIncidents({
      benignLabel: scorer.benignLabel ?? "benign",
      minScore: alertMinScore,
      windowSec: options.incidentWindowSec ?? INCIDENT_WINDOW_SEC,
      // Where every flow is upserted, the table says which may have been flagged.
      storedBefore: maybeStored === null ? table.uids() : null,
      pglite: embeddedPglite(sql),
    });
    // The dashboard's roll-ups follow every flow written, in this transaction.
    const rollup = new PassRollup();
    const writer = new PassFlowWriter({
      tx,
      pglite: embeddedPglite(sql),
      scorer,
      batchSize: scoreBatchSize,
      explainMinScore: alertMinScore,
      maxExplainedFlows: options.maxExplainedFlows === undefined
        ? MAX_EXPLAINED_FLOWS_PER_PASS
        : options.maxExplainedFlows,
      maybeStored,
      onScored: (flows, mayBeStored) => {
        incidents.add(flows, mayBeStored);
        rollup.add(flows, mayBeStored);
      },
      onCopyUndone: () => {
        rollup.dropCopied();
        incidents.copyUndone();
      },
      beforeUpsert: (uids) => rollup.subtractStored(tx, uids),
      enricher: options.enricher,
    });
    let flowClock = progress.flowClock;
    let flowClockWall = progress.flowClockWall;
    let flowsWritten: number;
    try {
      if (packets.count > 0) {
        // A slice at a time: each slice's records are built just before they
        // merge and dropped after (the table keeps no packet records). Flows
        // that end are final: they are scored and sent while later slices
        // merge. Live flows are reported once, at the end.
        for (const slice of packets.slices(MERGE_SLICE_PACKETS)) {
          await writer.add(table.mergeEnded(slice));
        }
        // Idle flows are swept every few seconds of packet time; sweeping at
        // the last packet too makes what the pass writes independent of where
        // the slices happened to end. Each agent's at its own last packet: an
        // agent ahead in packet time must not end another's flows early.
        await writer.add(table.sweep());
        flowClock = table.nowSec;
        flowClockWall = new Date(options.nowMs);
      } else if (flowClock !== null && flowClockWall !== null && selection.held === 0) {
        // No new packets: let packet time follow the wall clock, so live flows
        // end once their traffic stops, while a replayed old capture still
        // expires by its own timestamps. It follows from REORDER_WAIT after
        // the last packets came, not at once: until then more of the same
        // capture may still come (an agent restarting, an upload in flight),
        // and ending flows or fixing their context early would make them
        // differ from an uninterrupted run. Not at all while batches are held
        // back: their packets exist, and carry the time on. The last pass
        // with packets stays the anchor (flowClock, flowClockWall).
        const followSec = (options.nowMs - flowClockWall.getTime() - reorderWaitMs) / 1000;
        const target = flowClock + followSec;
        if (followSec > 0 && target > table.nowSec) await writer.add(table.expire(target));
      }
      await writer.add(table.takeChanged());
      step("merged");
      flowsWritten = await writer.finish();
      step("scored");
    } catch (error) {
      await writer.abort(error as Error);
      throw error;
    }
    await rollup.record(tx);
    // After the flows: an incident's numbers are computed from them as stored.
    const { opened: incidentsOpened } = await incidents.record(tx);
    step("written");

    const stateVersion = progress.stateVersion + 1;
    const durationMs = performance.now() - started;
    await saveAggregatorProgress(tx, {
      lastBatchId: selection.watermark,
      stateVersion,
      flowClock,
      flowClockWall,
      // In pieces: the whole state as objects and one string was most of
      // what a large pass's save added to its peak (issue 15).
      flowTableState: await gzipText(table.toJSONText(), 1),
      passDurationMs: durationMs,
      passPackets: packets.count,
      passFlows: flowsWritten,
      instanceId,
      lateBatches: selection.lateBatches,
      skippedGaps: selection.skippedGaps,
    });
    await markBatchesAggregated(tx, selection.markAggregated);
    await saveStreamPositions(tx, selection.positions);
    await deleteBatchPacketColumns(tx, batches.map((batch) => batch.id));
    step("saved");
    return {
      skipped: false,
      standby: false,
      batches: batches.length,
      packets: packets.count,
      flowsWritten,
      incidentsOpened,
      lateBatches: selection.lateBatches,
      skippedGaps: selection.skippedGaps,
      heldBatches: selection.held,
      durationMs,
      more: selection.more,
      cache: { stateVersion, table },
    };
  }) as AggregationPassResult;
}
