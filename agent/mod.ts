/**
 * The capture agent: live capture or capture files → decode → batches →
 * gzip JSON uploads to the server, with retries, a Deno KV outbox replayed
 * through a KV queue, dead letters and persisted counters.
 *
 * `main.ts` (`deno task agent`) and `replay_main.ts` (`deno task replay`)
 * are the programs; this module is the library they are built from.
 *
 * @example
 * ```ts
 * import {
 *   AgentToken,
 *   Delivery,
 *   migrateAgentStore,
 *   Outbox,
 *   runPipeline,
 *   Uploader,
 * } from "@traffic-analyzer/agent";
 * import { readCaptureBatches } from "@traffic-analyzer/shared/pcap";
 *
 * const kv = await Deno.openKv("./data/agent.kv");
 * await migrateAgentStore(kv); // what an older agent stored, under per-server keys
 * const uploader = new Uploader({
 *   serverUrl: "http://127.0.0.1:8000/ingest_packets",
 *   agentId: "sensor-1",
 *   token: new AgentToken({ configured: null, dataDir: "./data" }),
 *   maxRetries: 3,
 *   retryDelayMs: 5000,
 * });
 * const outbox = new Outbox({ kv, maxBytes: 1 << 30, target: uploader.url });
 * const delivery = new Delivery({ uploader, outbox, overflow: "wait", whenOutboxFull: "wait" });
 * await runPipeline({
 *   frames: readCaptureBatches("capture.pcap"),
 *   sink: delivery,
 *   batchSize: 100,
 *   batchTimeoutMs: 30_000,
 *   agentId: "sensor-1",
 *   payloadCapture: "headers",
 * });
 * await delivery.close({ graceMs: Infinity });
 * kv.close();
 * ```
 *
 * @module
 */
export { Batcher, MAX_AGENT_ID_LENGTH } from "./batcher.ts";
export type { BatcherOptions, PacketBatch, Scheduler } from "./batcher.ts";
export {
  decodeBatchBody,
  encodeBatch,
  MAX_BATCH_BODY_BYTES,
  splitEncodedBatch,
} from "./batch_codec.ts";
export type { BatchOrder, EncodeBatchOptions, EncodedBatch, WireFormat } from "./batch_codec.ts";
export { AgentToken, INGEST_TOKEN_FILE_NAME } from "./agent_token.ts";
export type { AgentTokenOptions } from "./agent_token.ts";
export { Uploader } from "./uploader.ts";
export type { Sleep } from "./_backoff.ts";
export type {
  TokenSource,
  UndeliveredOutcome,
  UploaderOptions,
  UploadOptions,
  UploadOutcome,
} from "./uploader.ts";
export { CHUNK_BYTES, Outbox } from "./outbox.ts";
export { migrateAgentStore } from "./outbox_migration.ts";
export type { MigrateAgentStoreOptions, StoreMigration } from "./outbox_migration.ts";
export { ingestTarget, UNTARGETED } from "./outbox_keys.ts";
export {
  COUNTER_NAMES,
  emptyCounters,
  TOTAL_COUNTER_NAMES,
  unaccountedRecords,
} from "./agent_counters.ts";
export type { AgentCounters, CounterName, TotalCounterName } from "./agent_counters.ts";
export type {
  CounterDeltas,
  DeadLetterInfo,
  FilingOptions,
  FilingResult,
  OutboxOptions,
  OutboxStatus,
  QueueMessageEvent,
  StoredBatch,
  StoredBatchInfo,
  StoreOptions,
  StoreReason,
  StoreResult,
  TargetHolding,
} from "./outbox.ts";
export { OutboxError } from "./outbox_error.ts";
export type { OutboxErrorOptions } from "./outbox_error.ts";
export { Delivery } from "./delivery.ts";
export { DeliveryTally } from "./delivery_tally.ts";
export type { BatchCount, FiledAs, TallyKind } from "./delivery_tally.ts";
export { FILE_ID_HEX_DIGITS, identifyFile } from "./file_identity.ts";
export type { FileIdentity, IdentifyFileOptions } from "./file_identity.ts";
export { FileReadError, FileReadSession } from "./file_read_session.ts";
export type { FileReadSessionOptions, ReadProgress } from "./file_read_session.ts";
export { summarizeRun } from "./run_summary.ts";
export type { RunFacts, RunOutcome } from "./run_summary.ts";
export type {
  BatchSink,
  BatchUploader,
  DeliveryOptions,
  FilingLedger,
  ReplayAllOptions,
  ReplayResult,
  ReplaySummary,
} from "./delivery.ts";
export { runPipeline } from "./pipeline.ts";
export type { PipelineFrame, PipelineResult, RunPipelineOptions } from "./pipeline.ts";
export { CaptureLag, type CaptureLagOptions } from "./capture_lag.ts";
export { DryRunSink } from "./dry_run_sink.ts";
export { copyColumns, encodeInline, WorkerBatchEncoder } from "./batch_encoder.ts";
export type {
  BatchEncoder,
  BatchToEncode,
  EncodeRequest,
  EncodeResponse,
} from "./batch_encoder.ts";
export { KernelDropTracker } from "./kernel_drop_tracker.ts";
export type { DropStats } from "./kernel_drop_tracker.ts";
export { AGENT_KV_FILE_NAME, openAgentKv, openAgentServices } from "./agent_services.ts";
export type { AgentServices, OpenAgentServicesOptions } from "./agent_services.ts";
export { formatAgentStatus } from "./agent_status.ts";
