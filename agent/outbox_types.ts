/**
 * The types of the agent's outbox (`outbox.ts`): what it stores for a
 * pending batch and a dead letter, what its methods take and return.
 *
 * @module
 */
import type { BatchOrder, EncodedBatch } from "./batch_codec.ts";
import type { AgentCounters, TotalCounterName } from "./agent_counters.ts";

/** Additions to the counters that only grow. */
export type CounterDeltas = Partial<Record<TotalCounterName, number>>;

/** A pending batch as stored. */
export interface StoredBatchInfo {
  /** Idempotency key; also the batch's id in the store. */
  key: string;
  /** Records in the body. */
  records: number;
  /** Size of the gzip body. */
  bodyBytes: number;
  /** Chunk entries holding the body. */
  chunks: number;
  /** When the batch was made, epoch ms. */
  createdAtMs: number;
  /** Its place in the capture (absent when stored by an older agent). */
  order?: BatchOrder | null;
  /**
   * The ingest URL it was stored for, for people: the key it is stored under
   * decides where it is sent (see `outbox_keys.ts`). Null for a batch an
   * agent older than targets stored (see `Outbox.adoptUntargeted`).
   */
  target?: string | null;
  /**
   * Where its body chunks are, when not under `["body", target, key]`: a
   * batch stored before per-target keys, or adopted, keeps its body where it
   * was.
   */
  bodyKey?: Deno.KvKey;
  /** When it entered the outbox, epoch ms. */
  storedAtMs: number;
  /** Delivery attempts from the outbox so far. */
  attempts: number;
  /** When the queue is due to bring it back, epoch ms. */
  nextAttemptAtMs: number;
  /** Token of the one queue message that may act on it. */
  queueToken: string;
  /** Status of the last failed attempt, null when no answer came. */
  lastStatus: number | null;
  /** Why the last attempt failed. */
  lastReason: string;
}

/** A batch the server refused for good, kept with its body for the operator. */
export interface DeadLetterInfo {
  /** Idempotency key. */
  key: string;
  /** Records in the body. */
  records: number;
  /** Size of the gzip body. */
  bodyBytes: number;
  /** Chunk entries holding the body. */
  chunks: number;
  /** When the batch was made, epoch ms. */
  createdAtMs: number;
  /** Its place in the capture (absent when stored by an older agent). */
  order?: BatchOrder | null;
  /** The ingest URL it was recorded for (null when stored by an older agent); its key decides. */
  target?: string | null;
  /** Where its body chunks are, when not under `["body", target, key]` (see {@link StoredBatchInfo.bodyKey}). */
  bodyKey?: Deno.KvKey;
  /** When it was dead-lettered, epoch ms. */
  deadAtMs: number;
  /** The refusing HTTP status. */
  status: number | null;
  /** The server's reason (for a 400 it names the record and field). */
  reason: string;
}

/** A pending batch with its body, as read for a delivery attempt. */
export interface StoredBatch {
  /** Its metadata. */
  info: StoredBatchInfo;
  /** The batch as it was first encoded: same key, same body bytes. */
  batch: EncodedBatch;
  /** Version of the metadata read; changes by others make this copy stale. */
  versionstamp: string;
}

/** What the outbox holds, for `--status`. */
export interface OutboxStatus {
  /** Batches waiting for delivery (the queue depth). */
  pendingBatches: number;
  /** Records in them. */
  pendingRecords: number;
  /** Their compressed bytes, which OUTBOX_MAX_BYTES caps. */
  pendingBytes: number;
  /** The cap. */
  maxBytes: number;
  /** When the oldest pending batch was made (its packets' batch closed), epoch ms. */
  oldestCreatedAtMs: number | null;
  /** Dead letters, oldest first. */
  deadLetters: DeadLetterInfo[];
  /** Their compressed bytes (not capped: they are kept for inspection). */
  deadLetterBytes: number;
  /** The persisted counters. */
  counters: AgentCounters;
  /**
   * Pending batches by the ingest URL they were recorded for (null: stored
   * by an older agent without one), most batches first; included in the
   * totals above.
   */
  targets: TargetHolding[];
}

/** Pending batches recorded for one ingest URL. */
export interface TargetHolding {
  /** The ingest URL, or null for batches stored by an agent older than targets. */
  target: string | null;
  /** Batches. */
  batches: number;
  /** Records in them. */
  records: number;
  /** Their compressed bytes (counted against OUTBOX_MAX_BYTES like every pending batch). */
  bytes: number;
}

/** Why a batch is stored, for its metadata and the logs. */
export interface StoreReason {
  /** HTTP status of the failed attempt, null when no answer came. */
  status: number | null;
  /** One line. */
  reason: string;
  /** The server's `Retry-After` in ms, when it sent one. */
  retryAfterMs?: number | null;
}

/**
 * How a batch is filed (sent, stored, dropped or dead-lettered) the first
 * time, in the same atomic write as the filing itself.
 */
export interface FilingOptions {
  /**
   * Count the records as `captured`. Off for the parts of a batch already in
   * the outbox, which were counted when it was stored.
   * @default true
   */
  captured?: boolean;
  /**
   * A KV key that marks the batch as filed. When it exists already, the
   * batch was filed before (read again after a crash) and nothing is written
   * or counted: the result is `already_filed`. Null for batches whose keys
   * never repeat (live capture).
   * @default null
   */
  guardKey?: Deno.KvKey | null;
}

/** What a filing did: `filed`, or nothing because the guard key says it was filed before. */
export type FilingResult = "filed" | "already_filed";

/** Options for {@link Outbox.store}. */
export interface StoreOptions extends StoreReason, FilingOptions {
  /**
   * When the batch does not fit under OUTBOX_MAX_BYTES: `drop-oldest` evicts
   * the oldest pending batches (live capture: newest data wins), `wait`
   * waits until replays make room (reading a file: nothing is dropped, the
   * read pauses).
   * @default "drop-oldest"
   */
  whenFull?: "drop-oldest" | "wait";
  /** Ends a `wait` for room; the batch is then not stored (`aborted`). */
  signal?: AbortSignal;
}

/** What {@link Outbox.store} did with the batch. */
export interface StoreResult {
  /**
   * `stored`; `already_filed` (guard key present, or the same key pending);
   * `dropped` (larger than the whole cap: counted in `dropped`); `aborted`
   * (the signal ended a wait for room: nothing written).
   */
  outcome: "stored" | "already_filed" | "dropped" | "aborted";
  /** Keys of the oldest batches evicted to make room. */
  evicted: string[];
}

/** What the replay queue did with one message, for {@link OutboxOptions.onQueueMessage}. */
export interface QueueMessageEvent {
  /** The batch's key. */
  key: string;
  /**
   * `handled` by the handler, `stale` (token replaced or batch gone), `busy`
   * (already being handled), `stopped`, or `other_target` (recorded for
   * another ingest URL: left alone; a run for that URL sweeps it up).
   */
  action: "handled" | "stale" | "busy" | "stopped" | "other_target";
}

/** Options for {@link Outbox}. */
export interface OutboxOptions {
  /** An open KV store; the caller owns it and closes it after {@link Outbox.stop}. */
  kv: Deno.Kv;
  /** OUTBOX_MAX_BYTES: cap on pending bodies; the oldest are dropped above it. */
  maxBytes: number;
  /**
   * The ingest URL this process delivers to. Every batch and dead letter it
   * stores, loads, lists, sweeps or replays lies under this URL's keys (see
   * `outbox_keys.ts`), so a batch is never sent to a server other than the
   * one it was made for. Batches under other URLs stay stored (and count
   * against `maxBytes`). Null works on the batches an agent older than
   * targets stored without one: only where nothing is sent (`--status`) and
   * in tests.
   * @default null
   */
  target?: string | null;
  /** First replay delay; it doubles per failed replay. @default 5_000 */
  replayDelayMs?: number;
  /** Longest replay delay. @default 300_000 */
  maxReplayDelayMs?: number;
  /** How often the sweep looks for batches whose queue message was lost. @default 60_000 */
  sweepIntervalMs?: number;
  /** How long past its due time a batch may stay untouched before the sweep re-enqueues it. @default 60_000 */
  lostAfterMs?: number;
  /** How often a `wait` for room looks again when no replay in this process freed any. @default 1_000 */
  roomPollMs?: number;
  /** Told about every replay-queue message (tests wait on it; nothing else needs it). */
  onQueueMessage?: (event: QueueMessageEvent) => void;
  /** Clock in epoch ms. @default Date.now */
  clock?: () => number;
}
