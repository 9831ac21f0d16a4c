/**
 * The contract of delivery: where closed batches go ({@linkcode BatchSink}),
 * what sends one ({@linkcode BatchUploader}), what records each filing
 * ({@linkcode FilingLedger}), and the options and results of a
 * `Delivery`. Apart from delivery.ts, which implements it, so that
 * a sink (the dry run's counter) or a test needs only these types.
 *
 * @module
 */
import type { PacketBatch } from "./batcher.ts";
import type { EncodedBatch, WireFormat } from "./batch_codec.ts";
import type { BatchEncoder } from "./batch_encoder.ts";
import type { UploadOptions, UploadOutcome } from "./uploader.ts";
import type { Outbox } from "./outbox.ts";

/** Where closed batches go: the delivery, or a dry-run counter. */
export interface BatchSink {
  /**
   * Takes a batch. Resolves once the batch is accepted for delivery (at
   * once, unless the sink applies back-pressure); never rejects.
   */
  submit(batch: PacketBatch): Promise<void>;
}

/** What the delivery needs of the uploader. */
export interface BatchUploader {
  /** Sends a batch; one outcome per part. */
  upload(batch: EncodedBatch, options?: UploadOptions): Promise<UploadOutcome[]>;
}

/**
 * Told of every batch (or part) filed, so a file read can record its
 * progress; see `FileReadSession`.
 */
export interface FilingLedger {
  /** The KV key marking the part as filed, or null when keys never repeat. */
  guardKey(key: string): Deno.KvKey | null;
  /** The part (or a part it was split into) is sent, stored, dropped or dead-lettered. */
  filed(key: string, records: number): void;
}

/** Options for `Delivery`. */
export interface DeliveryOptions {
  /** Sends batches. */
  uploader: BatchUploader;
  /** Keeps what could not be sent. */
  outbox: Outbox;
  /** MAX_IN_FLIGHT: uploads at once; batches are acknowledged in any order. @default 4 */
  maxInFlight?: number;
  /** Encoded batches waiting for an upload slot. @default 32 */
  maxQueuedBatches?: number;
  /**
   * When the upload queue is full: `wait` makes `submit` wait for a slot
   * (reading a file from a healthy but slower server), `store` puts the
   * oldest waiting batch straight into the outbox so live capture never
   * stalls. Either way, while the server is failing (or an upload has been
   * stuck for `stallMs`) batches go to the outbox instead of waiting.
   * @default "store"
   */
  overflow?: "wait" | "store";
  /**
   * When the outbox is full: `drop-oldest` (live capture) or `wait`, which
   * pauses `submit` until replays make room (reading a file: nothing is
   * dropped). See `Outbox.store`.
   * @default "drop-oldest"
   */
  whenOutboxFull?: "drop-oldest" | "wait";
  /**
   * After a failed upload, new batches go straight to the outbox for this
   * long; the next batch after it probes the server. RETRY_DELAY.
   * @default 5_000
   */
  outageProbeMs?: number;
  /**
   * An upload in flight this long, with no upload answered meanwhile, counts
   * as a failing server for `overflow: "wait"`. A server that answers, however
   * slowly its queue moves (large batches, MAX_IN_FLIGHT of them waiting on
   * one another), is not failing.
   * @default 5_000
   */
  stallMs?: number;
  /** Progress of a file read; null for live capture. @default null */
  ledger?: FilingLedger | null;
  /** Ends waits for room in the outbox (a stop); such a batch is not filed. */
  signal?: AbortSignal;
  /** WIRE_FORMAT of new batches. @default "arrow" */
  wireFormat?: WireFormat;
  /**
   * Encodes batches off the calling thread (live capture: a
   * `WorkerBatchEncoder`). `submit` then resolves once the batch before it
   * is queued or filed, so encoding one batch overlaps reading the next;
   * `drain` and `close` wait for every batch. @default null (encoded in
   * `submit`, before it returns)
   */
  encoder?: BatchEncoder | null;
  /** Replays from the outbox in flight at once (the KV queue may hand over many together). @default 4 */
  replayConcurrency?: number;
  /**
   * Capture first: while this returns true (live capture runs behind, see
   * `CaptureLag`), no upload or replay starts. New batches wait in the
   * queue, and past `maxQueuedBatches` in the outbox; the uploads in flight
   * finish. It is asked again as batches arrive and every
   * {@link HOLD_RECHECK_MS} while any wait. `close` ends the hold.
   * @default never
   */
  holdUploads?: (() => boolean) | null;
  /** Least time between two alerts about a refused token. @default 60_000 */
  alertIntervalMs?: number;
  /** Clock in epoch ms. @default Date.now */
  clock?: () => number;
}

/** What became of one stored batch replayed by `Delivery.replay`. */
export type ReplayResult = "sent" | "stored" | "dead_lettered" | "gone";

/** Totals of `Delivery.replayAll`, in batches and records. */
export interface ReplaySummary {
  /** Delivered now. */
  sent: { batches: number; records: number };
  /** Still in the outbox (failed again, or not tried after the server failed). */
  stored: { batches: number; records: number };
  /** Refused for good, moved to the dead letters. */
  deadLettered: { batches: number; records: number };
}

/** Options for `Delivery.replayAll`. */
export interface ReplayAllOptions {
  /** Retries per batch. @default 0 */
  maxRetries?: number;
  /** Stop at the first batch that fails for a reason other than its own content. @default true */
  stopOnFailure?: boolean;
}

/** How often a delivery holding its uploads asks `holdUploads` again. */
export const HOLD_RECHECK_MS = 250;
