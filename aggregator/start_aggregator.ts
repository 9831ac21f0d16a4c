/**
 * Loads the model and starts the aggregation loop on an open database: what
 * `aggregator/main.ts` and the all-in-one `start.ts` share.
 *
 * @module
 */
import type { Config } from "@traffic-analyzer/shared";
import type { Sql } from "@traffic-analyzer/shared/db";
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";
import { loadFlowScorerInWorker, type OnnxFlowScorer } from "./scorer/mod.ts";
import { AggregatorService } from "./aggregator_service.ts";
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import {
  defaultEnrichmentData,
  type EnrichmentDatabase,
  FlowEnricher,
  loadEnrichmentDatabase,
} from "@traffic-analyzer/shared/enrich";

const log = getLogger([LOG_ROOT, "aggregator"]);

/** A running aggregator and what it holds open. */
export interface RunningAggregator {
  /** The running service (stop it with its `stop()`). */
  service: AggregatorService;
  /** The loaded model (close it after the service stops). */
  scorer: OnnxFlowScorer;
  /** Stops the loop, waits for a running pass and releases the model. */
  stop(): Promise<void>;
}

/** Options for {@link startAggregator}. */
export interface StartAggregatorOptions {
  /** Database handle (already migrated). */
  sql: Sql;
  /** Start the timer loop; false only loads (for `--once`). @default true */
  loop?: boolean;
  /** See `AggregatorServiceOptions.releaseMemory`. @default its default */
  releaseMemory?: (() => unknown) | null;
  /** See `AggregatorServiceOptions.maxBehindPassPackets` (bench/aggregator_memory.ts). @default its default */
  maxBehindPassPackets?: number;
}

/**
 * Loads the ONNX model (failing at once, with the reason, when it is missing
 * or was trained on other features) and starts passes every
 * AGGREGATE_INTERVAL plus hourly retention.
 */
export async function startAggregator(
  config: Config,
  options: StartAggregatorOptions,
): Promise<RunningAggregator> {
  // In a worker, so the model scores while the pass merges on (see worker_flow_scorer.ts).
  const scorer = await loadFlowScorerInWorker({
    modelPath: config.modelPath,
    expectedFeatureNames: FEATURE_NAMES,
    expectedFeatureVersion: FEATURE_VERSION,
  });
  // GeoIP country and ASN, shipped through npm (about 40 MB, seconds to
  // load): loaded while passes already run, so start-up does not wait.
  // Flows written before it is ready, or without it, get their addresses'
  // scopes; a later pass that rewrites them adds country and ASN.
  const enricher = new FlowEnricher({ database: null });
  const loading = loadEnrichmentDatabase(defaultEnrichmentData()).then(
    (database: EnrichmentDatabase) => enricher.useDatabase(database),
    (error) =>
      log.warn("GeoIP/ASN databases not loaded; flows get address scopes only: {error}", {
        error,
      }),
  );
  const service = new AggregatorService({
    sql: options.sql,
    scorer,
    enricher,
    intervalMs: config.aggregateIntervalMs,
    rawRetentionDays: config.rawRetentionDays,
    alertMinScore: config.alertMinScore,
    reorderWaitMs: config.reorderWaitMs,
    // On PGlite through its own COPY FROM '/dev/blob' (openFlowCopy): a pass
    // of 600k packets of the bench capture took half the CPU it did upserting.
    copyNewFlows: true,
    releaseMemory: options.releaseMemory,
    maxBehindPassPackets: options.maxBehindPassPackets,
  });
  if (options.loop !== false) service.start();
  return {
    service,
    scorer,
    async stop() {
      await loading;
      await service.stop();
      await scorer.close();
    },
  };
}
