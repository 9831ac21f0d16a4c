/**
 * Delivery policy: sends closed batches through the uploader, several at
 * once, and files each outcome where it belongs: counted as sent, stored in
 * the outbox for replay, or dead-lettered. Capture never waits for the
 * network: a failed upload goes to the outbox at once (the outbox's queue
 * retries it), and while the server is failing new batches go straight to
 * the outbox without an attempt. It is also the outbox's replay handler, so
 * batches from the outbox go through the same uploader and keep their keys.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import type { PacketBatch } from "./batcher.ts";
import { encodeBatch, type EncodedBatch, type WireFormat } from "./batch_codec.ts";
import type { BatchEncoder } from "./batch_encoder.ts";
import type { UploadOutcome } from "./uploader.ts";
import type { FilingOptions, Outbox, StoredBatch, StoreReason } from "./outbox.ts";
import { DeliveryTally, type FiledAs } from "./delivery_tally.ts";
import {
  type BatchSink,
  type BatchUploader,
  type DeliveryOptions,
  type FilingLedger,
  HOLD_RECHECK_MS,
  type ReplayAllOptions,
  type ReplayResult,
  type ReplaySummary,
} from "./delivery_types.ts";

// The contract, for importers of this module.
export type * from "./delivery_types.ts";

const log = getLogger([LOG_ROOT, "agent", "delivery"]);

type Reason = Pick<StoreReason, "status" | "reason" | "retryAfterMs">;

/**
 * True for an upload our own shutdown cut off before the server answered:
 * that is no server failure, so it is neither logged nor counted as one.
 */
function abortedByUs(outcome: UploadOutcome): boolean {
  return outcome.kind === "failed" && outcome.aborted === true;
}

const HOLD_REASON: Reason = {
  status: null,
  reason: "capture running behind: stored to be sent once it has caught up",
  retryAfterMs: null,
};

const BYPASS_REASON: Reason = {
  status: null,
  reason: "server failing: stored without an attempt",
  retryAfterMs: null,
};

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
  /** What this delivery did since it was made (for the summary line). */
  readonly tally: DeliveryTally = new DeliveryTally();
  readonly #uploader: BatchUploader;
  readonly #outbox: Outbox;
  readonly #maxInFlight: number;
  readonly #maxQueued: number;
  readonly #overflow: "wait" | "store";
  readonly #whenOutboxFull: "drop-oldest" | "wait";
  readonly #outageProbeMs: number;
  readonly #stallMs: number;
  readonly #ledger: FilingLedger | null;
  readonly #wireFormat: WireFormat;
  readonly #encoder: BatchEncoder | null;
  /** The last batch given to the encoder, queued or filed (with an encoder). */
  #accepted: Promise<void> = Promise.resolve();
  readonly #signal: AbortSignal | undefined;
  readonly #alertIntervalMs: number;
  readonly #clock: () => number;
  readonly #abort = new AbortController();
  readonly #queue: EncodedBatch[] = [];
  readonly #tasks = new Set<Promise<void>>();
  /** Start times of the uploads in flight. */
  readonly #inFlight = new Set<{ startedAtMs: number }>();
  /** When an upload last ended (answered or given up), epoch ms. */
  #lastAnsweredMs = -Infinity;
  #waiters: (() => void)[] = [];
  readonly #replayConcurrency: number;
  #replaysRunning = 0;
  #replayWaiters: (() => void)[] = [];
  #lastAlertMs = -Infinity;
  /** The server is failing: stored batches wait for it to come back. */
  #outage = false;
  /** When the outage began, epoch ms. */
  #outageSinceMs = 0;
  /** Until then, new batches go straight to the outbox. */
  #bypassUntilMs = -Infinity;
  readonly #holdUploads: (() => boolean) | null;
  /** Set by `close`: a hold no longer applies. */
  #closing = false;
  /** The outbox was half full or more when last asked: no hold (see `#holding`). */
  #outboxHalfFull = false;
  #roomCheckedAtMs = -Infinity;
  #recheck: ReturnType<typeof setTimeout> | undefined;

  /** Checks the options; nothing is sent until a batch is submitted. */
  constructor(options: DeliveryOptions) {
    this.#uploader = options.uploader;
    this.#outbox = options.outbox;
    this.#maxInFlight = options.maxInFlight ?? 4;
    this.#maxQueued = options.maxQueuedBatches ?? 32;
    this.#overflow = options.overflow ?? "store";
    this.#whenOutboxFull = options.whenOutboxFull ?? "drop-oldest";
    this.#outageProbeMs = options.outageProbeMs ?? 5_000;
    this.#stallMs = options.stallMs ?? 5_000;
    this.#ledger = options.ledger ?? null;
    this.#wireFormat = options.wireFormat ?? "arrow";
    this.#encoder = options.encoder ?? null;
    this.#signal = options.signal;
    this.#alertIntervalMs = options.alertIntervalMs ?? 60_000;
    this.#replayConcurrency = options.replayConcurrency ?? 4;
    this.#clock = options.clock ?? Date.now;
    this.#holdUploads = options.holdUploads ?? null;
    const checkCount = (name: string, value: number) => {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot create delivery as '${name}' must be an integer >= 1: current value is ${value}`,
        );
      }
    };
    checkCount("maxInFlight", this.#maxInFlight);
    checkCount("maxQueuedBatches", this.#maxQueued);
    checkCount("replayConcurrency", this.#replayConcurrency);
  }

  /** Batches waiting for an upload slot, and uploads in flight. */
  get backlog(): { queued: number; inFlight: number } {
    return { queued: this.#queue.length, inFlight: this.#inFlight.size };
  }

  /**
   * Encodes a batch and queues it for upload, or stores it at once while the
   * server is failing. Resolves when the batch is queued or filed; with
   * `overflow: "wait"` it waits for a slot, with `whenOutboxFull: "wait"`
   * for room in the outbox.
   */
  async submit(batch: PacketBatch): Promise<void> {
    if (this.#encoder !== null) return await this.#submitEncoding(batch, this.#encoder);
    let parts: EncodedBatch[];
    try {
      parts = encodeBatch(batch, { format: this.#wireFormat });
    } catch (error) {
      this.#logEncodeError(batch.key, batch.count, error);
      return;
    }
    await this.#accept(parts);
  }

  #logEncodeError(key: string, records: number, error: unknown): void {
    log.error("Cannot encode batch {key} ({records} records): {error}", { key, records, error });
  }

  /**
   * Hands the batch to the encoder (which takes or copies its columns now) and waits
   * for the previous batch only: batches are accepted one after another in
   * the order submitted, and this one's encoding overlaps the caller's work.
   */
  async #submitEncoding(batch: PacketBatch, encoder: BatchEncoder): Promise<void> {
    const encoding = encoder.encode(batch, { format: this.#wireFormat });
    const { key, count } = batch;
    const previous = this.#accepted;
    // A failed predecessor (reported to its caller's successor) does not stop this batch.
    this.#accepted = previous.catch(() => {}).then(() =>
      encoding.then(
        (parts) => this.#accept(parts),
        (error) => this.#logEncodeError(key, count, error),
      )
    );
    await previous;
  }

  /** Queues the parts of a batch, or files them (see `submit`). */
  async #accept(parts: EncodedBatch[]): Promise<void> {
    for (const part of parts) {
      if (this.#bypassing()) {
        // The server is failing: no attempt, no wait for a slot.
        await this.#file(part, BYPASS_REASON);
      } else {
        this.#queue.push(part);
      }
    }
    this.#pump();
    if (this.#overflow === "wait") {
      while (this.#queue.length >= this.#maxQueued) {
        if (this.#bypassing() || this.#stalled()) {
          // Waiting would make the read wait for the network: store the backlog instead.
          this.#noteOutage(`an upload has been in flight for over ${this.#stallMs} ms`);
          await this.#spill(this.#queue.length);
          break;
        }
        await this.#changed(Math.max(50, this.#stallMs / 4));
      }
      return;
    }
    if (this.#queue.length > this.#maxQueued) {
      await this.#spill(this.#queue.length - this.#maxQueued);
    }
  }

  /** Resolves when nothing is queued, in flight or being filed. */
  async drain(): Promise<void> {
    // A failure here was already thrown to the next batch's submit, if there was one.
    const accepted = this.#accepted;
    await accepted.catch((error) => log.error("Cannot queue a batch: {error}", { error }));
    // Reported once: close() drains twice.
    if (this.#accepted === accepted) this.#accepted = Promise.resolve();
    while (this.#queue.length > 0 || this.#inFlight.size > 0 || this.#tasks.size > 0) {
      await this.#changed();
    }
  }

  /**
   * Waits up to `graceMs` for uploads to finish, then cancels the rest
   * (they are stored in the outbox), and resolves when all is filed.
   */
  async close(options: { graceMs: number }): Promise<void> {
    // What waited for capture is sent now (or stored, after the grace).
    this.#closing = true;
    clearTimeout(this.#recheck);
    this.#pump();
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
    // Capture first: a stored batch waits as long as new ones do.
    while (this.#holding() && !this.#abort.signal.aborted) await this.#changed(HOLD_RECHECK_MS);
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
    // A 413 split it: file each part like a fresh one (already counted as captured),
    // then drop the parent.
    let sent = 0;
    for (const outcome of outcomes) {
      if (outcome.kind === "delivered") sent += outcome.batch.records;
      else await this.#fileUndelivered(outcome, { captured: false });
    }
    if (await this.#outbox.complete(stored, { sent, replayed: sent })) {
      this.tally.add("replayed", outcomes.filter((o) => o.kind === "delivered").length, sent);
    }
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

  /** True while new batches should go straight to the outbox. */
  #bypassing(): boolean {
    return this.#clock() < this.#bypassUntilMs;
  }

  /**
   * True when an upload has been in flight for `stallMs` or more and no
   * upload ended in that time: the server makes no progress.
   */
  #stalled(): boolean {
    const now = this.#clock();
    if (now - this.#lastAnsweredMs < this.#stallMs) return false;
    for (const upload of this.#inFlight) {
      if (now - upload.startedAtMs >= this.#stallMs) return true;
    }
    return false;
  }

  /** Waits for a change in the queue or in flight (or `timeoutMs`). */
  #changed(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      if (timeoutMs !== undefined) timer = setTimeout(wake, timeoutMs);
      this.#waiters.push(wake);
    });
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

  /** Stores the `count` oldest queued batches without an attempt. */
  async #spill(count: number): Promise<void> {
    const spilled = this.#queue.splice(0, count);
    const reason: Reason = this.#bypassing() ? BYPASS_REASON : this.#holding() ? HOLD_REASON : {
      status: null,
      reason:
        `upload backlog over ${this.#maxQueued} batches (server slow): stored without an attempt`,
      retryAfterMs: null,
    };
    for (const part of spilled) await this.#file(part, reason);
    this.#notify();
  }

  /**
   * True while uploads wait for capture (see `DeliveryOptions.holdUploads`),
   * unless the outbox was half full when last read: a capture that cannot
   * keep up even with uploads held must not fill the outbox until it drops
   * its oldest batches. While a hold is asked for, it also has that size
   * read again, at most once a second ({@link Delivery.#rereadOutboxSize}).
   */
  #holding(): boolean {
    if (this.#closing || this.#holdUploads === null || !this.#holdUploads()) return false;
    this.#rereadOutboxSize();
    return !this.#outboxHalfFull;
  }

  /**
   * Starts a read of the outbox's size unless one started less than a second
   * ago; its answer sets `#outboxHalfFull` for the next `#holding()`. Only
   * while a hold is asked for, and throttled: each read is a Deno KV get (of
   * the outbox's totals) on the thread that captures.
   */
  #rereadOutboxSize(): void {
    const now = this.#clock();
    if (now - this.#roomCheckedAtMs < 1_000) return;
    this.#roomCheckedAtMs = now;
    this.#track(
      this.#outbox.storedBytes().then(
        (bytes) => {
          this.#outboxHalfFull = bytes * 2 >= this.#outbox.maxBytes;
        },
        (error) => log.warn("Cannot read the outbox's size: {error}", { error }),
      ),
    );
  }

  #pump(): void {
    if (this.#queue.length > 0 && this.#holding()) {
      // Asked again soon: the hold can end while no batch arrives.
      this.#recheck ??= setTimeout(() => {
        this.#recheck = undefined;
        this.#pump();
      }, HOLD_RECHECK_MS);
      return;
    }
    while (this.#inFlight.size < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.shift()!;
      const upload = { startedAtMs: this.#clock() };
      this.#inFlight.add(upload);
      this.#notify();
      this.#send(batch).finally(() => {
        this.#inFlight.delete(upload);
        this.#lastAnsweredMs = this.#clock();
        this.#pump();
        this.#notify();
      });
    }
  }

  async #send(batch: EncodedBatch): Promise<void> {
    try {
      if (this.#bypassing()) {
        // Queued before the server started failing: no attempt now either.
        await this.#file(batch, BYPASS_REASON);
        return;
      }
      const outcomes = await this.#uploader.upload(batch, { signal: this.#abort.signal });
      for (const outcome of outcomes) {
        if (outcome.kind === "delivered") {
          const result = await this.#outbox.recordSent(outcome.batch, this.#filing(outcome.batch));
          this.#filed(outcome.batch, result === "filed" ? "sent" : "already_filed");
        } else {
          await this.#fileUndelivered(outcome, {});
        }
      }
      this.#noteHealth(outcomes);
    } catch (error) {
      log.error("Batch {key} ({records} records) was not filed: {error}", {
        key: batch.key,
        records: batch.records,
        error,
      });
    }
  }

  /** The filing of a fresh batch carries its ledger guard; a part of a stored one, none. */
  #filing(batch: EncodedBatch, extra: FilingOptions = {}): FilingOptions {
    const guardKey = extra.captured === false ? null : this.#ledger?.guardKey(batch.key) ?? null;
    return { ...extra, guardKey };
  }

  /** A fresh batch (or part) reached its place: tally it and tell the ledger. */
  #filed(batch: EncodedBatch, what: FiledAs): void {
    this.tally.add(what, 1, batch.records);
    this.#ledger?.filed(batch.key, batch.records);
  }

  /**
   * Stores a batch that had no successful attempt (or none at all). With
   * `captured: false` it is a part of a batch already in the outbox, which
   * was tallied when that was stored.
   */
  async #file(batch: EncodedBatch, reason: Reason, filing: FilingOptions = {}): Promise<void> {
    // A long outage is likely to go on: the first replay waits as long as it has lasted
    // (the first success brings everything forward), so stored batches do not all probe
    // a server that is down.
    const outageMs = this.#outage ? this.#clock() - this.#outageSinceMs : 0;
    const result = await this.#outbox.store(batch, {
      ...reason,
      retryAfterMs: Math.max(reason.retryAfterMs ?? 0, outageMs),
      ...this.#filing(batch, filing),
      whenFull: this.#whenOutboxFull,
      signal: this.#signal,
    });
    if (result.outcome === "aborted") {
      log.warn("Stopped while waiting for room in the outbox: batch {key} was not stored", {
        key: batch.key,
      });
      this.tally.add("unfiled", 1, batch.records);
      return;
    }
    if (result.outcome === "stored") {
      log.debug("Stored batch {key} ({records} records) in the outbox: {reason}", {
        key: batch.key,
        records: batch.records,
        reason: reason.reason,
      });
    }
    if (filing.captured !== false) this.#filed(batch, result.outcome);
  }

  async #fileReplayed(stored: StoredBatch, outcome: UploadOutcome): Promise<ReplayResult> {
    const { key, records } = stored.batch;
    if (abortedByUs(outcome)) {
      // Not an attempt: the batch stays as it was, due, and the next run's start-up sweep
      // brings it back without a backoff it did not earn.
      return "stored";
    }
    this.#noteHealth([outcome]);
    if (outcome.kind === "delivered") {
      if (await this.#outbox.complete(stored, { sent: records, replayed: records })) {
        this.tally.add("replayed", 1, records);
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
      log.debug("Batch {key} stays in the outbox ({reason}); next try in {delaySec} s", {
        key,
        reason: outcome.reason,
        delaySec: Math.round(delayMs / 100) / 10,
      });
    }
    return "stored";
  }

  async #fileUndelivered(outcome: UploadOutcome, filing: FilingOptions): Promise<void> {
    if (outcome.kind === "delivered") return;
    if (outcome.kind === "rejected") {
      const result = await this.#outbox.deadLetter(
        outcome.batch,
        outcome,
        this.#filing(outcome.batch, filing),
      );
      if (filing.captured !== false) {
        this.#filed(outcome.batch, result === "filed" ? "dead_lettered" : "already_filed");
      }
      this.#logRejected(outcome);
      return;
    }
    if (outcome.kind === "unauthorized") {
      this.tally.refused(outcome.reason);
      this.#alertUnauthorized(outcome);
    }
    if (!abortedByUs(outcome)) this.#noteOutage(outcome.reason);
    await this.#file(outcome.batch, outcome, filing);
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

  /** The server failed: new batches go straight to the outbox for `outageProbeMs`. */
  #noteOutage(reason: string): void {
    this.tally.failed(reason);
    if (!this.#outage) {
      this.#outageSinceMs = this.#clock();
      log.warn(
        "Server failing ({reason}): batches go to the outbox, and are replayed from there once " +
          "it answers again",
        { reason },
      );
    }
    this.#outage = true;
    this.#bypassUntilMs = this.#clock() + this.#outageProbeMs;
  }

  /** After an outage, the first success brings every stored batch forward. */
  #noteHealth(outcomes: UploadOutcome[]): void {
    const failed = outcomes.find((o) =>
      (o.kind === "failed" && !abortedByUs(o)) || o.kind === "unauthorized"
    );
    if (failed !== undefined) {
      this.#noteOutage((failed as { reason: string }).reason);
      return;
    }
    if (this.#outage && outcomes.some((o) => o.kind === "delivered")) {
      this.#outage = false;
      this.#bypassUntilMs = -Infinity;
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
