/**
 * One aggregation pass: read the batches ingested since the watermark (in
 * commit order), merge their packets into the flow table, score every new or
 * changed flow, write them to `traffic_data`, store the flow table and move
 * the watermark, all in one transaction. A pass killed at any point leaves
 * nothing behind, and the next pass redoes it with the same result.
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import {
  CopyInError,
  deleteBatchPacketColumns,
  type FlowUpsert,
  openFlowCopy,
  readAggregatorProgress,
  readIngestHorizon,
  readReadyBatches,
  saveAggregatorProgress,
  type Sql,
  type TransactionSql,
  tryLockAggregator,
  upsertFlows,
} from "@traffic-analyzer/shared/db";
import {
  FEATURE_VERSION,
  flowFeatureVector,
  type FlowRecord,
  FlowTable,
  type FlowTableOptions,
  type FlowTableState,
} from "@traffic-analyzer/shared/flow";
import { readPassPackets } from "./read_pass_packets.ts";

const log = getLogger([LOG_ROOT, "aggregator"]);

/** What scores flows: the ONNX scorer in production. */
export interface FlowScorer {
  /** Version of the model, stored with every flow. */
  readonly modelVersion: string;
  /** Scores feature vectors; one result per row, in order. */
  score(rows: Float32Array[]): Promise<{ label: string; score: number }[]>;
}

/**
 * The flow table kept in memory between passes by one process. It is reused
 * only when the database says no other instance has run a pass since.
 */
export interface FlowTableCache {
  stateVersion: number;
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
   * @default 250_000
   */
  maxPackets?: number;
  /** Flow timeouts and windows. @default the flow table's defaults */
  flowTableOptions?: FlowTableOptions;
  /** Flows scored per model call. @default 4096 */
  scoreBatchSize?: number;
  /**
   * Insert flows new to `traffic_data` with binary COPY instead of an
   * upsert statement: several times cheaper for PostgreSQL. Only on
   * PostgreSQL (PGlite's socket server does not carry COPY FROM STDIN).
   * @default false
   */
  copyNewFlows?: boolean;
  /**
   * Called after each step inside the transaction; a throw aborts the pass
   * there. Tests use it to kill a pass at every point.
   * @default none
   */
  onStep?: (step: PassStep) => void;
}

/** The points of a pass at which {@link AggregationPassOptions.onStep} is called. */
export type PassStep = "locked" | "read" | "merged" | "scored" | "written" | "saved";

/** What one pass did. */
export interface AggregationPassResult {
  /** Another instance held the pass lock, so this one did nothing. */
  skipped: boolean;
  batches: number;
  packets: number;
  flowsWritten: number;
  durationMs: number;
  /** More batches were ready than this pass took: run the next one at once. */
  more: boolean;
  /** The table to reuse next pass (null when skipped). */
  cache: FlowTableCache | null;
}

function toUpsert(
  flow: FlowRecord,
  vector: Float32Array,
  scored: { label: string; score: number },
  modelVersion: string,
): FlowUpsert {
  return {
    flow_uid: flow.uid,
    community_id: flow.community_id,
    interface: flow.interface,
    orig_ip: flow.orig_ip,
    orig_port: flow.orig_port,
    resp_ip: flow.resp_ip,
    resp_port: flow.resp_port,
    protocol: flow.protocol,
    ip_proto: flow.ip_proto,
    vlan: flow.vlan_id,
    vlan_inner: flow.vlan_inner_id,
    first_seen: flow.first_seen,
    last_seen: flow.last_seen,
    orig_packets: flow.orig_packets,
    resp_packets: flow.resp_packets,
    orig_bytes: flow.orig_bytes,
    resp_bytes: flow.resp_bytes,
    state: flow.state,
    close_reason: flow.close_reason,
    conn_state: flow.conn_state,
    // upsertFlows() stores it as float32 bytes, non-finite values as 0.
    features: vector,
    feature_version: FEATURE_VERSION,
    label: scored.label,
    score: scored.score,
    model_version: modelVersion,
  };
}

/**
 * Packets merged per `FlowTable.merge()` call. The table's result does not
 * depend on how the packets are split (tested); slices only bound memory.
 */
const MERGE_SLICE_PACKETS = 65_536;

/**
 * Scores flows new to `traffic_data` batch by batch and streams them into one
 * binary COPY, so the database stores one batch while the next is scored.
 * The COPY runs in a savepoint: should a flow be stored already after all
 * (COPY cannot update), it is undone and the flows are upserted instead.
 */
async function copyNewFlows(
  tx: TransactionSql,
  flows: FlowRecord[],
  options: { score: (slice: FlowRecord[]) => Promise<FlowUpsert[]>; batchSize: number },
): Promise<void> {
  if (flows.length === 0) return;
  const scored: FlowUpsert[] = [];
  try {
    await tx.savepoint(async (sp) => {
      const copy = await openFlowCopy(sp as unknown as Sql);
      try {
        for (let i = 0; i < flows.length; i += options.batchSize) {
          const upserts = await options.score(flows.slice(i, i + options.batchSize));
          for (const upsert of upserts) scored.push(upsert);
          await copy.write(upserts);
        }
      } catch (error) {
        await copy.abort(error as Error);
        throw error;
      }
      await copy.end();
    });
  } catch (error) {
    if (!(error instanceof CopyInError && error.code === "23505")) throw error;
    log.warn("A new flow was in traffic_data already; upserting this pass's new flows instead", {
      error,
    });
    for (let i = scored.length; i < flows.length; i += options.batchSize) {
      for (const upsert of await options.score(flows.slice(i, i + options.batchSize))) {
        scored.push(upsert);
      }
    }
    await upsertFlows(tx as unknown as Sql, scored);
  }
}

/** Runs one pass. Safe to call from several processes at once. */
export async function runAggregationPass(
  options: AggregationPassOptions,
): Promise<AggregationPassResult> {
  const started = performance.now();
  const maxPackets = options.maxPackets ?? 250_000;
  const scoreBatchSize = options.scoreBatchSize ?? 4096;
  const { sql, scorer } = options;

  const horizon = await readIngestHorizon(sql);
  return await sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    if (!await tryLockAggregator(tx)) {
      return {
        skipped: true,
        batches: 0,
        packets: 0,
        flowsWritten: 0,
        durationMs: performance.now() - started,
        more: false,
        cache: null,
      };
    }
    const step = options.onStep ?? (() => {});
    step("locked");
    const progress = await readAggregatorProgress(tx);
    const table = options.cache && options.cache.stateVersion === progress.stateVersion
      ? options.cache.table
      : progress.flowTableState
      ? FlowTable.fromJSON(
        JSON.parse(new TextDecoder().decode(gunzipSync(progress.flowTableState))) as FlowTableState,
      )
      : new FlowTable(options.flowTableOptions);

    // Flows the table holds now may be in traffic_data already; any other
    // flow this pass reports is new there, and can go in by COPY.
    const maybeStored = options.copyNewFlows ? table.uids() : null;

    const batches = await readReadyBatches(tx, {
      afterBatchId: progress.lastBatchId,
      horizon,
      maxRecords: maxPackets,
    });
    const packets = await readPassPackets(tx, {
      afterBatchId: progress.lastBatchId,
      batches,
    });
    step("read");

    const touched = new Map<string, FlowRecord>();
    const remember = (flows: FlowRecord[]) => {
      for (const flow of flows) touched.set(flow.uid, flow);
    };
    let flowClock = progress.flowClock;
    let flowClockWall = progress.flowClockWall;
    if (packets.count > 0) {
      // A slice at a time: each slice's records are built just before they
      // merge and dropped after (the table keeps no packet records).
      for (const slice of packets.slices(MERGE_SLICE_PACKETS)) {
        const merged = table.merge(slice);
        remember(merged.changed);
        remember(merged.ended);
      }
      flowClock = table.nowSec;
      flowClockWall = new Date(options.nowMs);
    } else if (flowClock !== null && flowClockWall !== null) {
      // No new packets: let packet time follow the wall clock from the last
      // packet on, so live flows end once their traffic stops, while a
      // replayed old capture still expires by its own timestamps.
      const elapsedSec = Math.max(0, (options.nowMs - flowClockWall.getTime()) / 1000);
      if (elapsedSec > 0) {
        remember(table.expire(flowClock + elapsedSec));
        flowClock = table.nowSec;
        flowClockWall = new Date(options.nowMs);
      }
    }

    step("merged");
    const flows = [...touched.values()];
    const score = async (slice: FlowRecord[]): Promise<FlowUpsert[]> => {
      const vectors = slice.map((f) => flowFeatureVector(f, f.context));
      const scores = await scorer.score(vectors);
      return slice.map((flow, j) => toUpsert(flow, vectors[j], scores[j], scorer.modelVersion));
    };
    // Each scored batch is written at once and not awaited until all are
    // scored: the database inserts one batch while the model scores the next.
    // A failed write aborts the transaction; the first failure is reported.
    const writes: Promise<number>[] = [];
    const upsertScored = async (list: FlowRecord[]) => {
      for (let i = 0; i < list.length; i += scoreBatchSize) {
        const writing = upsertFlows(tx, await score(list.slice(i, i + scoreBatchSize)));
        writing.catch(() => {});
        writes.push(writing);
      }
    };
    if (maybeStored === null) {
      await upsertScored(flows);
    } else {
      await upsertScored(flows.filter((f) => maybeStored.has(f.uid)));
      await copyNewFlows(
        txRaw as unknown as TransactionSql,
        flows.filter((f) => !maybeStored.has(f.uid)),
        {
          score,
          batchSize: scoreBatchSize,
        },
      );
    }
    step("scored");
    for (const writing of writes) await writing;
    step("written");

    const last = batches.at(-1);
    const stateVersion = progress.stateVersion + 1;
    const durationMs = performance.now() - started;
    await saveAggregatorProgress(tx, {
      lastBatchId: last?.id ?? progress.lastBatchId,
      stateVersion,
      flowClock,
      flowClockWall,
      flowTableState: gzipSync(JSON.stringify(table.toJSON()), { level: 1 }),
      passDurationMs: durationMs,
      passPackets: packets.count,
      passFlows: flows.length,
    });
    if (last !== undefined) await deleteBatchPacketColumns(tx, last.id);
    step("saved");
    return {
      skipped: false,
      batches: batches.length,
      packets: packets.count,
      flowsWritten: flows.length,
      durationMs,
      more: batches.more,
      cache: { stateVersion, table },
    };
  }) as AggregationPassResult;
}
