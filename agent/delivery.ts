/**
 * Delivery policy: sends closed batches through the uploader with bounded
 * concurrency, and puts each outcome where it belongs: counted as sent,
 * stored in the outbox for replay, or dead-lettered. It is also the outbox's
 * replay handler, so batches from the outbox go through the same uploader
 * and keep their idempotency keys.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import type { PacketBatch } from "./batcher.ts";
import { encodeBatch, type EncodedBatch } from "./batch_codec.ts";
import type { UploadOptions, UploadOutcome } from "./uploader.ts";
import type { AgentCounters, Outbox, StoredBatch } from "./outbox.ts";

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

/** Options for {@link Delivery}. */
export interface DeliveryOptions {
  /** Sends batches. */
  uploader: BatchUploader;
  /** Keeps what could not be sent. */
  outbox: Outbox;
  /** Uploads in flight at once. @default 2 */
  concurrency?: number;
  /** Encoded batches waiting for an upload slot before overflow applies. @default 32 */
  maxQueuedBatches?: number;
  /**
   * When the queue is full: `wait` makes `submit` wait for room (reading a
   * file), `store` puts the oldest waiting batch straight into the outbox so
   * live capture never stalls.
   * @default "store"
   */
  overflow?: "wait" | "store";
  /** Replays from the outbox in flight at once (the KV queue may hand over many together). @default 2 */
  replayConcurrency?: number;
  /** Least time between two alerts about a refused token. @default 60_000 */
  alertIntervalMs?: number;
  /** Clock in epoch ms. @default Date.now */
  clock?: () => number;
}

/** What became of one stored batch replayed by {@link Delivery.replay}. */
export type ReplayResult = "sent" | "stored" | "dead_lettered" | "gone";

/** Totals of {@link Delivery.replayAll}, in batches and records. */
export interface ReplaySummary {
  /** Delivered now. */
  sent: { batches: number; records: number };
  /** Still in the outbox (failed again, or not tried after the server failed). */
  stored: { batches: number; records: number };
  /** Refused for good, moved to the dead letters. */
  deadLettered: { batches: number; records: number };
}

/** Options for {@link Delivery.replayAll}. */
export interface ReplayAllOptions {
  /** Retries per batch. @default 0 */
  maxRetries?: number;
  /** Stop at the first batch that fails for a reason other than its own content. @default true */
  stopOnFailure?: boolean;
}

const log = getLogger([LOG_ROOT, "agent", "delivery"]);

/**
 * Sends batches and files every outcome.
 *
 * @example
 * ```ts
 * const delivery = new Delivery({ uploader, outbox });
 * outbox.listen((key) => delivery.replay(key).then(() => {}));
 * await delivery.submit(batch);
 * await delivery.close({ graceMs: 5000 }); // on shutdown
 * ```
 */
export class Delivery implements BatchSink {
  readonly #uploader: BatchUploader;
  readonly #outbox: Outbox;
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #overflow: "wait" | "store";
  readonly #alertIntervalMs: number;
  readonly #clock: () => number;
  readonly #abort = new AbortController();
  readonly #queue: EncodedBatch[] = [];
  readonly #tasks = new Set<Promise<void>>();
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  readonly #replayConcurrency: number;
  #replaysRunning = 0;
  #replayWaiters: (() => void)[] = [];
  #lastAlertMs = -Infinity;
  #outage = false;

  /** Checks the options; nothing is sent until a batch is submitted. */
  constructor(options: DeliveryOptions) {
    this.#uploader = options.uploader;
    this.#outbox = options.outbox;
    this.#concurrency = options.concurrency ?? 2;
    this.#maxQueued = options.maxQueuedBatches ?? 32;
    this.#overflow = options.overflow ?? "store";
    this.#alertIntervalMs = options.alertIntervalMs ?? 60_000;
    this.#replayConcurrency = options.replayConcurrency ?? 2;
    this.#clock = options.clock ?? Date.now;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new RangeError(
        `Cannot create delivery as 'concurrency' must be an integer >= 1: current value is ${this.#concurrency}`,
      );
    }
    if (!Number.isInteger(this.#maxQueued) || this.#maxQueued < 1) {
      throw new RangeError(
        `Cannot create delivery as 'maxQueuedBatches' must be an integer >= 1: current value is ${this.#maxQueued}`,
      );
    }
  }

  /** Batches waiting for an upload slot, and uploads in flight. */
  get backlog(): { queued: number; inFlight: number } {
    return { queued: this.#queue.length, inFlight: this.#inFlight };
  }

  /** Encodes, counts as captured and queues a batch for upload. */
  async submit(batch: PacketBatch): Promise<void> {
    let parts: EncodedBatch[];
    try {
      parts = encodeBatch(batch);
      await this.#outbox.addCounters({ captured: batch.records.length });
    } catch (error) {
      log.error("Cannot take batch {key} ({records} records): {error}", {
        key: batch.key,
        records: batch.records.length,
        error,
      });
      return;
    }
    this.#queue.push(...parts);
    this.#pump();
    if (this.#overflow === "wait") {
      while (this.#queue.length >= this.#maxQueued) await this.#changed();
      return;
    }
    while (this.#queue.length > this.#maxQueued) {
      const spilled = this.#queue.shift()!;
      this.#track(this.#keep(spilled, {
        status: null,
        reason: `upload backlog over ${this.#maxQueued} batches (server slow or down)`,
        retryAfterMs: null,
      }, "failed"));
    }
  }

  /** Resolves when nothing is queued, in flight or being filed. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight > 0 || this.#tasks.size > 0) {
      await this.#changed();
    }
  }

  /**
   * Waits up to `graceMs` for uploads to finish, then cancels the rest
   * (they are stored in the outbox), and resolves when all is filed.
   */
  async close(options: { graceMs: number }): Promise<void> {
    if (!Number.isFinite(options.graceMs)) {
      await this.drain();
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.graceMs);
    });
    await Promise.race([this.drain(), grace]);
    clearTimeout(timer);
    this.#abort.abort();
    await this.drain();
  }

  /**
   * Replays one stored batch (the outbox queue's handler): one attempt
   * (or `maxRetries`), then completes, reschedules or dead-letters it.
   */
  async replay(key: string, options: { maxRetries?: number } = {}): Promise<ReplayResult> {
    while (this.#replaysRunning >= this.#replayConcurrency) {
      await new Promise<void>((resolve) => this.#replayWaiters.push(resolve));
    }
    this.#replaysRunning++;
    try {
      return await this.#replayOne(key, options.maxRetries ?? 0);
    } finally {
      this.#replaysRunning--;
      this.#replayWaiters.shift()?.();
    }
  }

  async #replayOne(key: string, maxRetries: number): Promise<ReplayResult> {
    const stored = await this.#outbox.load(key);
    if (stored === null) return "gone";
    const outcomes = await this.#uploader.upload(stored.batch, {
      signal: this.#abort.signal,
      maxRetries,
    });
    if (outcomes.length === 1 && outcomes[0].batch.key === key) {
      return await this.#fileReplayed(stored, outcomes[0]);
    }
    // A 413 split it: file each part like a fresh one, then drop the parent.
    let sent = 0;
    for (const outcome of outcomes) {
      if (outcome.kind === "delivered") sent += outcome.batch.records;
      else await this.#fileUndelivered(outcome, false);
    }
    await this.#outbox.complete(stored, { sent, replayed: sent });
    this.#noteHealth(outcomes);
    return sent === stored.batch.records ? "sent" : "stored";
  }

  /** Replays every stored batch now, oldest first (`deno task replay`). */
  async replayAll(options: ReplayAllOptions = {}): Promise<ReplaySummary> {
    const summary: ReplaySummary = {
      sent: { batches: 0, records: 0 },
      stored: { batches: 0, records: 0 },
      deadLettered: { batches: 0, records: 0 },
    };
    const pending = [];
    for await (const info of this.#outbox.pending()) pending.push(info);
    let stop = false;
    for (const info of pending) {
      const target = stop ? "stored" : await this.replay(info.key, {
        maxRetries: options.maxRetries ?? 0,
      });
      if (target === "gone") continue;
      const bucket = target === "sent"
        ? summary.sent
        : target === "dead_lettered"
        ? summary.deadLettered
        : summary.stored;
      bucket.batches++;
      bucket.records += info.records;
      if (target === "stored" && options.stopOnFailure !== false) stop = true;
    }
    return summary;
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => {
      this.#tasks.delete(task);
      this.#notify();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#concurrency && this.#queue.length > 0) {
      const batch = this.#queue.shift()!;
      this.#inFlight++;
      this.#notify();
      this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
        this.#notify();
      });
    }
  }

  async #send(batch: EncodedBatch): Promise<void> {
    try {
      const outcomes = await this.#uploader.upload(batch, { signal: this.#abort.signal });
      let sent = 0;
      for (const outcome of outcomes) {
        if (outcome.kind === "delivered") sent += outcome.batch.records;
        else await this.#fileUndelivered(outcome, true);
      }
      if (sent > 0) await this.#outbox.addCounters({ sent });
      this.#noteHealth(outcomes);
    } catch (error) {
      log.error("Batch {key} ({records} records) was lost: {error}", {
        key: batch.key,
        records: batch.records,
        error,
      });
    }
  }

  async #fileReplayed(stored: StoredBatch, outcome: UploadOutcome): Promise<ReplayResult> {
    const { key, records } = stored.batch;
    this.#noteHealth([outcome]);
    if (outcome.kind === "delivered") {
      const counters: Partial<AgentCounters> = { sent: records, replayed: records };
      if (await this.#outbox.complete(stored, counters)) {
        log.info("Replayed batch {key} ({records} records) from the outbox: HTTP {status}", {
          key,
          records,
          status: outcome.status,
        });
      }
      return "sent";
    }
    if (outcome.kind === "rejected") {
      await this.#outbox.moveToDeadLetters(stored, outcome);
      this.#logRejected(outcome);
      return "dead_lettered";
    }
    if (outcome.kind === "unauthorized") this.#alertUnauthorized(outcome);
    const delayMs = await this.#outbox.reschedule(stored, outcome);
    if (delayMs !== null) {
      log.info("Batch {key} stays in the outbox ({reason}); next try in {delaySec} s", {
        key,
        reason: outcome.reason,
        delaySec: Math.round(delayMs / 100) / 10,
      });
    }
    return "stored";
  }

  async #fileUndelivered(outcome: UploadOutcome, countStored: boolean): Promise<void> {
    if (outcome.kind === "delivered") return;
    if (outcome.kind === "rejected") {
      await this.#outbox.deadLetter(outcome.batch, outcome);
      this.#logRejected(outcome);
      return;
    }
    if (outcome.kind === "unauthorized") this.#alertUnauthorized(outcome);
    await this.#keep(outcome.batch, outcome, outcome.kind, countStored);
  }

  async #keep(
    batch: EncodedBatch,
    reason: { status: number | null; reason: string; retryAfterMs: number | null },
    kind: "failed" | "unauthorized",
    countStored = true,
  ): Promise<void> {
    await this.#outbox.store(batch, { ...reason, countStored });
    if (kind === "failed") {
      log.warn("Stored batch {key} ({records} records) in the outbox: {reason}", {
        key: batch.key,
        records: batch.records,
        reason: reason.reason,
      });
    }
  }

  #logRejected(outcome: UploadOutcome & { kind: "rejected" }): void {
    if (outcome.status === 409) {
      log.error(
        "Server holds a different batch under key {key} (HTTP 409); kept as a dead letter: {reason}",
        { key: outcome.batch.key, reason: outcome.reason },
      );
      return;
    }
    log.error(
      "Server refused batch {key} ({records} records) for good; kept as a dead letter: {reason}",
      {
        key: outcome.batch.key,
        records: outcome.batch.records,
        reason: outcome.reason,
      },
    );
  }

  #alertUnauthorized(outcome: UploadOutcome & { kind: "unauthorized" }): void {
    const now = this.#clock();
    if (now - this.#lastAlertMs < this.#alertIntervalMs) return;
    this.#lastAlertMs = now;
    log.error(
      "ALERT: the server does not accept the agent's token ({reason}); batches are kept in the " +
        "outbox and sent once AGENT_TOKEN (or DATA_DIR/ingest_token) matches the server's INGEST_TOKENS",
      { reason: outcome.reason },
    );
  }

  /** After an outage, the first success brings every stored batch forward. */
  #noteHealth(outcomes: UploadOutcome[]): void {
    if (outcomes.some((o) => o.kind === "failed" || o.kind === "unauthorized")) {
      this.#outage = true;
      return;
    }
    if (this.#outage && outcomes.some((o) => o.kind === "delivered")) {
      this.#outage = false;
      this.#track(
        this.#outbox.replayAllNow().then((count) => {
          if (count > 0) {
            log.info("Server reachable again: replaying {count} stored batches now", { count });
          }
        }, (error) => log.error("Cannot bring stored batches forward: {error}", { error })),
      );
    }
  }
}
