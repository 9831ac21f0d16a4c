/**
 * The agent's Deno KV outbox: batches that could not be delivered wait here,
 * survive restarts and crashes, and come back through a KV queue with
 * backoff until the server takes them. Dead letters (batches the server
 * refused for good) and the agent's counters live in the same store.
 *
 * Layout (all under the KV handle passed in; see `outbox_keys.ts`):
 * - `["pending", target, key]`: metadata of a pending batch ({@link StoredBatchInfo})
 * - `["outbox", "by_age", createdAtMs, target, key]`: index, oldest made first, for the size cap
 * - `["pending_lost", target, key]`: where KV leaves a queue message it gave up on
 * - `["outbox", "totals"]`: pending batches, records and bytes, for the cap
 * - `["dead_letter", target, key]`: metadata of a dead letter ({@link DeadLetterInfo})
 * - `["body", target, key, i]`: the gzip body in pieces of at most 64,000 bytes (KV
 *   caps a value at 65,536), shared by a pending batch and its dead letter; a batch
 *   stored before this layout keeps its body where it was (`bodyKey` says where)
 * - `["counters", name]`: `Deno.KvU64` totals since the store was created
 *   (see `agent_counters.ts`); `["counters", "dead_lettered"]` is a level,
 *   lowered by wrapping addition when a dead letter is requeued
 * - a caller's guard key per filed batch (see {@link FilingOptions})
 *
 * `target` is the ingest URL a batch was made for. One store may hold batches
 * for several servers (a `deno task start` delivers to its own server, a
 * later `deno task agent` elsewhere); an outbox reads and writes only under
 * its own target's keys, so the key prefix alone decides where a batch goes,
 * and the others stay stored. The size cap and the counters are the store's.
 *
 * Every change to a batch is one atomic operation, so a batch is stored whole
 * or not at all, and a crash leaves it either pending or gone, never half.
 * Queue messages carry only the target, the key and a token; the token
 * changes whenever a batch is rescheduled, so a stale duplicate message does
 * nothing.
 *
 * The parts live in their own files, each on one seam: storing under the cap
 * and eviction (`outbox_storing.ts`), delivery bookkeeping
 * (`outbox_delivery.ts`), dead letters (`outbox_dead_letters.ts`), the
 * replay queue and sweep (`outbox_replay_queue.ts`), holdings by target and
 * adoption (`outbox_targets.ts`), status and counters (`outbox_report.ts`),
 * bodies (`outbox_body.ts`), queue messages (`outbox_replay_message.ts`),
 * and what they share (`outbox_core.ts`). This class puts them together.
 *
 * @module
 */
import type { EncodedBatch } from "./batch_codec.ts";
import type { AgentCounters } from "./agent_counters.ts";
import { noTotals, OutboxCore, TOTALS, type Totals } from "./outbox_core.ts";
import { OutboxDelivery } from "./outbox_delivery.ts";
import { OutboxStoring } from "./outbox_storing.ts";
import { OutboxDeadLetters } from "./outbox_dead_letters.ts";
import { OutboxReplayQueue } from "./outbox_replay_queue.ts";
import { OutboxTargets } from "./outbox_targets.ts";
import { OutboxReport } from "./outbox_report.ts";
import type {
  CounterDeltas,
  DeadLetterInfo,
  FilingOptions,
  FilingResult,
  OutboxOptions,
  OutboxStatus,
  StoredBatch,
  StoredBatchInfo,
  StoreOptions,
  StoreReason,
  StoreResult,
  TargetHolding,
} from "./outbox_types.ts";

/** Every type of the outbox's API (see `outbox_types.ts`). */
export type * from "./outbox_types.ts";
export { bodyPrefix, CHUNK_BYTES } from "./outbox_body.ts";
export { enqueueReplay, type ReplayMessage } from "./outbox_replay_message.ts";

/**
 * Durable store of undelivered batches with automatic replay.
 *
 * @example
 * ```ts
 * const kv = await Deno.openKv("./data/agent.kv");
 * const outbox = new Outbox({ kv, maxBytes: 1 << 30 });
 * outbox.listen((key) => delivery.replay(key));
 * await outbox.store(batch, { status: 503, reason: "database unavailable" });
 * // … on shutdown:
 * await outbox.stop();
 * kv.close();
 * ```
 */
export class Outbox {
  readonly #core: OutboxCore;
  readonly #delivery: OutboxDelivery;
  readonly #storing: OutboxStoring;
  readonly #deadLetters: OutboxDeadLetters;
  readonly #queue: OutboxReplayQueue;
  readonly #targets: OutboxTargets;
  readonly #report: OutboxReport;

  /** Checks the options; nothing is read or written until a method is called. */
  constructor(options: OutboxOptions) {
    if (!(options.maxBytes > 0)) {
      throw new RangeError(
        `Cannot create outbox as 'maxBytes' must be positive: current value is ${options.maxBytes}`,
      );
    }
    this.#core = new OutboxCore(options);
    this.#delivery = new OutboxDelivery(this.#core);
    this.#storing = new OutboxStoring(this.#core, this.#delivery);
    this.#deadLetters = new OutboxDeadLetters(this.#core, this.#storing);
    this.#queue = new OutboxReplayQueue(this.#core);
    this.#targets = new OutboxTargets(this.#core);
    this.#report = new OutboxReport(this.#core, this.#deadLetters, this.#targets);
  }

  /** The ingest URL this outbox stores for and replays to (see {@link OutboxOptions.target}). */
  get target(): string | null {
    return this.#core.target;
  }

  /** OUTBOX_MAX_BYTES. */
  get maxBytes(): number {
    return this.#core.maxBytes;
  }

  /** Body bytes pending in the whole store (every target's), which the cap counts. */
  async storedBytes(): Promise<number> {
    const entry = await this.#core.kv.get<Totals>(TOTALS);
    return (entry.value ?? noTotals()).bytes;
  }

  /** Stores in this process waiting for room (`whenFull: "wait"`). */
  get waitingForRoom(): number {
    return this.#core.waitingForRoom;
  }

  /**
   * Stores a batch the uploader could not deliver and schedules its replay,
   * in one atomic write with its filing (see {@link FilingOptions}). When it
   * does not fit under the cap, `whenFull` decides: evict the oldest pending
   * batches (counted in `dropped` and logged), or wait for room. A batch
   * larger than the whole cap is dropped itself.
   */
  async store(batch: EncodedBatch, options: StoreOptions): Promise<StoreResult> {
    return await this.#storing.store(batch, options);
  }

  /** Counts a batch the server acknowledged (201 or 200), in one write with its filing. */
  async recordSent(
    batch: Pick<EncodedBatch, "key" | "records">,
    options: FilingOptions = {},
  ): Promise<FilingResult> {
    return await this.#delivery.recordSent(batch, options);
  }

  /**
   * Keeps a batch the server refused for good, with its reason, for the
   * operator, in one write with its filing.
   */
  async deadLetter(
    batch: EncodedBatch,
    reason: StoreReason,
    options: FilingOptions = {},
  ): Promise<FilingResult> {
    return await this.#deadLetters.deadLetter(batch, reason, options);
  }

  /**
   * Reads one of this target's pending batches with its body; null when it
   * is not (or no longer) pending here: what is loaded is sent.
   */
  async load(key: string): Promise<StoredBatch | null> {
    return await this.#delivery.load(key);
  }

  /** Reads one of this target's dead letters with its body (to inspect or resend it); null when there is none. */
  async loadDeadLetter(key: string): Promise<{ info: DeadLetterInfo; body: Uint8Array } | null> {
    return await this.#deadLetters.load(key);
  }

  /**
   * Removes a pending batch of this target that was delivered (or replaced
   * by its parts), adding `counters` in the same atomic write. Returns false
   * when someone else changed or removed it first, and then counts nothing.
   */
  async complete(stored: StoredBatch, counters: CounterDeltas): Promise<boolean> {
    return await this.#delivery.complete(this.#core.part, stored, counters);
  }

  /**
   * Records a failed replay and schedules the next one with backoff (or the
   * server's `Retry-After`, capped). Returns the delay, or null when the
   * batch changed meanwhile (someone else handles it).
   */
  async reschedule(stored: StoredBatch, reason: StoreReason): Promise<number | null> {
    return await this.#delivery.reschedule(stored, reason);
  }

  /** Moves a pending batch of this target to its dead letters (the server refused it for good). */
  async moveToDeadLetters(stored: StoredBatch, reason: StoreReason): Promise<boolean> {
    return await this.#deadLetters.moveFromPending(stored, reason);
  }

  /**
   * Moves this target's dead letters back to the outbox for another delivery
   * (after the server was fixed): each leaves `dead_lettered` for `stored` in
   * one atomic write, its body staying where it is. Returns how many batches
   * moved.
   */
  async requeueDeadLetters(): Promise<number> {
    return await this.#deadLetters.requeue();
  }

  /**
   * Files the batches and dead letters an agent older than targets stored
   * without recording their server as this target's (`deno task replay
   * --untargeted`: the operator says where they belong). Each moves in one
   * atomic write, its body staying where it is, and is then sent like any
   * of this target's. A key this target holds already stays untargeted.
   * Returns how many batches and dead letters moved.
   */
  async adoptUntargeted(): Promise<{ batches: number; deadLetters: number }> {
    return await this.#targets.adoptUntargeted();
  }

  /** This target's pending batches, oldest first. */
  pending(): AsyncGenerator<StoredBatchInfo> {
    return this.#targets.pending();
  }

  /** This target's pending batches: how many, their records and bytes. */
  async holding(): Promise<TargetHolding> {
    return await this.#targets.holding();
  }

  /**
   * Pending batches by the ingest URL they were recorded for, every target's
   * (this one's too), most batches first.
   */
  async targets(): Promise<TargetHolding[]> {
    return await this.#targets.targets();
  }

  /** Pending batches recorded for targets other than this outbox's, most batches first. */
  async otherTargets(): Promise<TargetHolding[]> {
    return await this.#targets.otherTargets();
  }

  /** Dead letters of every target, oldest first. */
  async deadLetters(): Promise<DeadLetterInfo[]> {
    return await this.#deadLetters.list();
  }

  /** Adds to the counters that only grow, in one atomic write (e.g. `kernel_dropped`). */
  async addCounters(deltas: CounterDeltas): Promise<void> {
    await this.#report.addCounters(deltas);
  }

  /**
   * The counters, read in one snapshot so that
   * `captured = sent + stored + dropped + dead_lettered` holds in what is returned.
   */
  async counters(): Promise<AgentCounters> {
    return await this.#report.counters();
  }

  /** Queue depth, stored bytes, dead letters and counters, of the whole store. */
  async status(): Promise<OutboxStatus> {
    return await this.#report.status();
  }

  /**
   * Starts replaying: listens to the KV queue, hands each due batch's key to
   * `handler` (one call per batch at a time), and sweeps for batches whose
   * message was lost, once now and then every `sweepIntervalMs`. `handler`
   * must reschedule, complete or dead-letter the batch; if it throws, KV
   * redelivers the message, and after that the sweep re-enqueues the batch.
   */
  listen(handler: (key: string) => Promise<void>): void {
    this.#queue.listen(handler);
  }

  /**
   * Re-enqueues this target's pending batches that are due for longer than
   * `lostAfterMs` without their message having come (KV gave up on it, or
   * the process died while handling it), and those KV left in
   * `keysIfUndelivered`. Returns how many were re-enqueued.
   *
   * @param lostAfterMs Grace past the due time. @default the option `lostAfterMs`
   */
  async sweep(lostAfterMs: number = this.#core.lostAfterMs): Promise<number> {
    return await this.#queue.sweep(lostAfterMs);
  }

  /**
   * Brings every pending batch of this target forward to be replayed now,
   * e.g. when a delivery just succeeded after an outage. Returns how many.
   */
  async replayAllNow(): Promise<number> {
    return await this.#queue.replayAllNow();
  }

  /**
   * Stops the sweep and waits for replays in progress. Queue messages that
   * arrive later are left for the next run. The caller then closes the KV.
   */
  async stop(): Promise<void> {
    await this.#queue.stop();
  }

  /** Resolves when the queue listener ended (after the KV handle is closed). */
  get listening(): Promise<void> {
    return this.#queue.listening;
  }
}
