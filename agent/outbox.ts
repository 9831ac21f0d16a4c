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
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import type { EncodedBatch } from "./batch_codec.ts";
import { OutboxError } from "./outbox_error.ts";
import { backoffDelayMs } from "./_backoff.ts";
import { type AgentCounters, emptyCounters, TOTAL_COUNTER_NAMES } from "./agent_counters.ts";
import {
  ageKey,
  BODY,
  BY_AGE,
  DEAD_LETTER,
  PENDING,
  PENDING_LOST,
  targetOfPart,
  targetPart,
  UNTARGETED,
} from "./outbox_keys.ts";
import type {
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
} from "./outbox_types.ts";

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
};

/** Bytes per chunk entry: under KV's 65,536-byte value cap with room for encoding overhead. */
export const CHUNK_BYTES = 64_000;

const TOTALS = ["outbox", "totals"] as const;
const COUNTER = ["counters"] as const;
const DEAD_LEVEL = [...COUNTER, "dead_lettered"] as const;
/** Messages of stores older than targets carried no target; their batches were re-enqueued. */
const MESSAGE_TYPE = "traffic-analyzer/outbox-replay/2";
/** Optimistic-concurrency retries before giving up on a busy store. */
const MAX_COMMIT_ATTEMPTS = 100;
/**
 * Waits a random while after a lost optimistic commit. Every upload in flight
 * and the replay loop write the same totals entry; retried back to back on a
 * loaded machine, they kept invalidating each other until one gave up with
 * "the store stayed busy". Jitter spreads them out; the wait grows with the
 * attempt up to 100 ms.
 */
function contentionBackoff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(100, 2 ** Math.min(attempt, 7));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}

/** KV's own redelivery schedule when our handler throws (a KV error, not a failed upload). */
const QUEUE_BACKOFF_MS = [1_000, 5_000, 30_000];

interface Totals {
  batches: number;
  records: number;
  bytes: number;
}

/** A replay due: the batch `["pending", target, key]`, if its token is still `token`. */
export interface ReplayMessage {
  /** Marks the agent's own messages. */
  type: typeof MESSAGE_TYPE;
  /** The key part of the batch's target (see `outbox_keys.ts`). */
  target: string;
  /** The batch's key. */
  key: string;
  /** The batch's queue token when the message was sent. */
  token: string;
}

const log = getLogger([LOG_ROOT, "agent", "outbox"]);

function isReplayMessage(value: unknown): value is ReplayMessage {
  const message = value as ReplayMessage | null;
  return typeof message === "object" && message !== null && message.type === MESSAGE_TYPE &&
    typeof message.target === "string" && typeof message.key === "string" &&
    typeof message.token === "string";
}

/** The queue message that replays `info` (stored under `target`) when due. */
export function enqueueReplay(
  op: Deno.AtomicOperation,
  target: string,
  info: Pick<StoredBatchInfo, "key" | "queueToken">,
  delayMs: number,
): void {
  const message: ReplayMessage = {
    type: MESSAGE_TYPE,
    target,
    key: info.key,
    token: info.queueToken,
  };
  op.enqueue(message, {
    delay: Math.max(0, Math.round(delayMs)),
    keysIfUndelivered: [[PENDING_LOST, target, info.key]],
    backoffSchedule: QUEUE_BACKOFF_MS,
  });
}

/** Where a batch's (or dead letter's) body chunks are: `[...bodyPrefix, i]`. */
export function bodyPrefix(
  target: string,
  info: Pick<StoredBatchInfo, "key" | "bodyKey">,
): Deno.KvKey {
  return info.bodyKey ?? [BODY, target, info.key];
}

function chunkCount(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / CHUNK_BYTES));
}

/** `-n` as a KvU64 addend: sums wrap modulo 2^64, so adding it subtracts n. */
function kvU64Minus(n: number): bigint {
  return BigInt.asUintN(64, -BigInt(n));
}

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
  readonly #kv: Deno.Kv;
  readonly #maxBytes: number;
  readonly #replayDelayMs: number;
  readonly #maxReplayDelayMs: number;
  readonly #sweepIntervalMs: number;
  readonly #lostAfterMs: number;
  readonly #roomPollMs: number;
  readonly #onQueueMessage: ((event: QueueMessageEvent) => void) | undefined;
  readonly #clock: () => number;
  readonly #target: string | null;
  /** The target's key part: every key this outbox reads or writes for a batch has it. */
  readonly #part: string;
  readonly #active = new Map<string, Promise<void>>();
  readonly #handling = new Set<Promise<void>>();
  #handler: ((key: string) => Promise<void>) | null = null;
  #listening: Promise<void> | null = null;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  #roomWaiters: (() => void)[] = [];

  /** Checks the options; nothing is read or written until a method is called. */
  constructor(options: OutboxOptions) {
    if (!(options.maxBytes > 0)) {
      throw new RangeError(
        `Cannot create outbox as 'maxBytes' must be positive: current value is ${options.maxBytes}`,
      );
    }
    this.#kv = options.kv;
    this.#maxBytes = options.maxBytes;
    this.#replayDelayMs = options.replayDelayMs ?? 5_000;
    this.#maxReplayDelayMs = options.maxReplayDelayMs ?? 300_000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.#lostAfterMs = options.lostAfterMs ?? 60_000;
    this.#roomPollMs = options.roomPollMs ?? 1_000;
    this.#onQueueMessage = options.onQueueMessage;
    this.#clock = options.clock ?? Date.now;
    this.#target = options.target ?? null;
    this.#part = targetPart(this.#target);
  }

  /** The ingest URL this outbox stores for and replays to (see {@link OutboxOptions.target}). */
  get target(): string | null {
    return this.#target;
  }

  /** OUTBOX_MAX_BYTES. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Stores in this process waiting for room (`whenFull: "wait"`). */
  get waitingForRoom(): number {
    return this.#roomWaiters.length;
  }

  /**
   * Stores a batch the uploader could not deliver and schedules its replay,
   * in one atomic write with its filing (see {@link FilingOptions}). When it
   * does not fit under the cap, `whenFull` decides: evict the oldest pending
   * batches (counted in `dropped` and logged), or wait for room. A batch
   * larger than the whole cap is dropped itself.
   */
  async store(batch: EncodedBatch, options: StoreOptions): Promise<StoreResult> {
    return await this.#store(batch, options, null, null);
  }

  /**
   * @param bodyKey Where the body is already stored (a requeued dead letter):
   *   no chunk is written. Null writes the chunks under this target.
   */
  async #store(
    batch: EncodedBatch,
    options: StoreOptions,
    extra: ((op: Deno.AtomicOperation) => void) | null,
    bodyKey: Deno.KvKey | null,
  ): Promise<StoreResult> {
    const evicted: string[] = [];
    const size = batch.body.length;
    if (size > this.#maxBytes) {
      const result = await this.#fileCounted(batch, options, { dropped: batch.records });
      if (result === "filed") {
        log.warn(
          "Outbox: dropped batch {key} ({records} records, {bytes} bytes): larger than OUTBOX_MAX_BYTES {max}",
          { key: batch.key, records: batch.records, bytes: size, max: this.#maxBytes },
        );
      }
      return { outcome: result === "filed" ? "dropped" : "already_filed", evicted };
    }
    const chunks = chunkCount(size);
    const metaKey = this.#pendingKey(batch.key);
    const deadKey = this.#deadKey(batch.key);
    const guardKey = options.guardKey ?? null;
    let pausedSince: number | null = null;
    try {
      for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS;) {
        const [totalsEntry, existing, guard, dead] = await this.#kv.getMany<
          [Totals, StoredBatchInfo, unknown, DeadLetterInfo]
        >([TOTALS as unknown as Deno.KvKey, metaKey, guardKey ?? metaKey, deadKey]);
        // Filed before (read again after a crash), or already pending: one copy is enough.
        // A dead letter of the same key holds the same batch, and its body lies where
        // this one's would: storing it again would overwrite that body and, once
        // delivered, delete it (a requeue moves the dead letter itself).
        if (
          guard.value !== null || existing.value !== null ||
          (bodyKey === null && dead.value !== null)
        ) {
          return { outcome: "already_filed", evicted };
        }
        const totals = totalsEntry.value ?? { batches: 0, records: 0, bytes: 0 };
        if (totals.bytes + size > this.#maxBytes && totals.batches > 0) {
          if (options.whenFull === "wait") {
            if (pausedSince === null) {
              pausedSince = this.#clock();
              log.warn(
                "Outbox full ({bytes} of OUTBOX_MAX_BYTES {max} bytes): waiting for replays to make " +
                  "room for batch {key}",
                { bytes: totals.bytes, max: this.#maxBytes, key: batch.key },
              );
            }
            if (!await this.#waitForRoom(options.signal)) return { outcome: "aborted", evicted };
            continue;
          }
          if (bodyKey === null && extra === null && await this.#olderThanAllStored(batch)) {
            // The cap drops the oldest captured packets, and that is this batch: it was
            // made before every stored one (its upload failed after theirs).
            const result = await this.#fileCounted(batch, options, { dropped: batch.records });
            if (result === "filed") {
              log.warn(
                "Outbox full (OUTBOX_MAX_BYTES {max}): dropped batch {key} ({records} records), " +
                  "older than every stored batch",
                { key: batch.key, records: batch.records, max: this.#maxBytes },
              );
            }
            return { outcome: result === "filed" ? "dropped" : "already_filed", evicted };
          }
          const gone = await this.#evictOldest();
          if (gone !== null) evicted.push(gone);
          else attempt++;
          continue;
        }
        attempt++;
        const now = this.#clock();
        const delayMs = Math.min(
          Math.max(this.#replayDelayMs, options.retryAfterMs ?? 0),
          this.#maxReplayDelayMs,
        );
        const info: StoredBatchInfo = {
          key: batch.key,
          records: batch.records,
          bodyBytes: size,
          chunks,
          createdAtMs: batch.createdAtMs,
          order: batch.order ?? null,
          target: this.#target,
          ...(bodyKey === null ? {} : { bodyKey }),
          storedAtMs: now,
          attempts: 0,
          nextAttemptAtMs: now + delayMs,
          queueToken: crypto.randomUUID(),
          lastStatus: options.status,
          lastReason: options.reason,
        };
        const op = this.#kv.atomic()
          .check(totalsEntry)
          .check({ key: metaKey, versionstamp: null })
          .check(dead)
          .set(metaKey, info)
          .set(ageKey(info, this.#part), true)
          .set(TOTALS as unknown as Deno.KvKey, {
            batches: totals.batches + 1,
            records: totals.records + batch.records,
            bytes: totals.bytes + size,
          });
        if (bodyKey === null) this.#setBody(op, batch);
        this.#applyFiling(op, batch.records, options);
        extra?.(op);
        enqueueReplay(op, this.#part, info, delayMs);
        if (await this.#commit(op, batch.key, "store")) return { outcome: "stored", evicted };
        await contentionBackoff(attempt);
      }
    } finally {
      if (pausedSince !== null) {
        log.info("Outbox had room again after {seconds} s", {
          seconds: ((this.#clock() - pausedSince) / 1000).toFixed(1),
        });
      }
    }
    throw new OutboxError(`Cannot store batch ${batch.key}: the store stayed busy`, {
      key: batch.key,
    });
  }

  /** Counts a batch the server acknowledged (201 or 200), in one write with its filing. */
  async recordSent(
    batch: Pick<EncodedBatch, "key" | "records">,
    options: FilingOptions = {},
  ): Promise<FilingResult> {
    return await this.#fileCounted(batch, options, { sent: batch.records });
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
    const deadKey = this.#deadKey(batch.key);
    const info: DeadLetterInfo = {
      key: batch.key,
      records: batch.records,
      bodyBytes: batch.body.length,
      chunks: chunkCount(batch.body.length),
      createdAtMs: batch.createdAtMs,
      order: batch.order ?? null,
      target: this.#target,
      deadAtMs: this.#clock(),
      status: reason.status,
      reason: reason.reason,
    };
    // A pending batch of the same key is this batch, stored earlier: it keeps the body
    // (its own delivery or dead-lettering files it), so this one is not written over it.
    const op = this.#kv.atomic()
      .check({ key: deadKey, versionstamp: null })
      .check({ key: this.#pendingKey(batch.key), versionstamp: null })
      .set(deadKey, info)
      .sum(DEAD_LEVEL as unknown as Deno.KvKey, BigInt(batch.records));
    this.#setBody(op, batch);
    this.#applyFiling(op, batch.records, options);
    if (await this.#commit(op, batch.key, "dead-letter")) return "filed";
    // A failed check means it is already a dead letter or pending, or was filed before.
    return "already_filed";
  }

  /**
   * Reads one of this target's pending batches with its body; null when it
   * is not (or no longer) pending here: what is loaded is sent.
   */
  async load(key: string): Promise<StoredBatch | null> {
    const entry = await this.#kv.get<StoredBatchInfo>(this.#pendingKey(key));
    if (entry.value === null) return null;
    const body = await this.#readBody(this.#part, entry.value);
    return {
      info: entry.value,
      versionstamp: entry.versionstamp,
      batch: {
        key,
        records: entry.value.records,
        body,
        createdAtMs: entry.value.createdAtMs,
        order: entry.value.order ?? null,
      },
    };
  }

  /** Reads one of this target's dead letters with its body (to inspect or resend it); null when there is none. */
  async loadDeadLetter(key: string): Promise<{ info: DeadLetterInfo; body: Uint8Array } | null> {
    const entry = await this.#kv.get<DeadLetterInfo>(this.#deadKey(key));
    if (entry.value === null) return null;
    return { info: entry.value, body: await this.#readBody(this.#part, entry.value) };
  }

  /**
   * Removes a pending batch of this target that was delivered (or replaced
   * by its parts), adding `counters` in the same atomic write. Returns false
   * when someone else changed or removed it first, and then counts nothing.
   */
  async complete(stored: StoredBatch, counters: CounterDeltas): Promise<boolean> {
    return await this.#complete(this.#part, stored, counters);
  }

  async #complete(part: string, stored: StoredBatch, counters: CounterDeltas): Promise<boolean> {
    const { info } = stored;
    const metaKey = [PENDING, part, info.key];
    for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
      const totalsEntry = await this.#kv.get<Totals>(TOTALS as unknown as Deno.KvKey);
      const totals = totalsEntry.value ?? { batches: 0, records: 0, bytes: 0 };
      const op = this.#kv.atomic()
        .check({ key: metaKey, versionstamp: stored.versionstamp })
        .check(totalsEntry);
      this.#deletePending(op, part, info, totals);
      const body = bodyPrefix(part, info);
      for (let i = 0; i < info.chunks; i++) op.delete([...body, i]);
      this.#sumCounters(op, counters);
      if (await this.#commit(op, info.key, "complete")) {
        this.#roomMade();
        return true;
      }
      if (!await this.#unchanged(metaKey, stored.versionstamp)) return false;
      await contentionBackoff(attempt);
    }
    throw new OutboxError(`Cannot remove batch ${info.key}: the store stayed busy`, {
      key: info.key,
    });
  }

  /**
   * Records a failed replay and schedules the next one with backoff (or the
   * server's `Retry-After`, capped). Returns the delay, or null when the
   * batch changed meanwhile (someone else handles it).
   */
  async reschedule(stored: StoredBatch, reason: StoreReason): Promise<number | null> {
    const { info } = stored;
    const attempts = info.attempts + 1;
    const delayMs = Math.min(
      Math.max(
        backoffDelayMs(attempts - 1, this.#replayDelayMs, this.#maxReplayDelayMs),
        reason.retryAfterMs ?? 0,
      ),
      this.#maxReplayDelayMs,
    );
    const next: StoredBatchInfo = {
      ...info,
      attempts,
      nextAttemptAtMs: this.#clock() + delayMs,
      queueToken: crypto.randomUUID(),
      lastStatus: reason.status,
      lastReason: reason.reason,
    };
    const metaKey = this.#pendingKey(info.key);
    const op = this.#kv.atomic()
      .check({ key: metaKey, versionstamp: stored.versionstamp })
      .set(metaKey, next);
    enqueueReplay(op, this.#part, next, delayMs);
    return await this.#commit(op, info.key, "reschedule") ? delayMs : null;
  }

  /** Moves a pending batch of this target to its dead letters (the server refused it for good). */
  async moveToDeadLetters(stored: StoredBatch, reason: StoreReason): Promise<boolean> {
    const { info } = stored;
    const metaKey = this.#pendingKey(info.key);
    for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
      const totalsEntry = await this.#kv.get<Totals>(TOTALS as unknown as Deno.KvKey);
      const totals = totalsEntry.value ?? { batches: 0, records: 0, bytes: 0 };
      const dead: DeadLetterInfo = {
        key: info.key,
        records: info.records,
        bodyBytes: info.bodyBytes,
        chunks: info.chunks,
        createdAtMs: info.createdAtMs,
        order: info.order ?? null,
        target: this.#target,
        // The body stays where it is.
        ...(info.bodyKey === undefined ? {} : { bodyKey: info.bodyKey }),
        deadAtMs: this.#clock(),
        status: reason.status,
        reason: reason.reason,
      };
      const op = this.#kv.atomic()
        .check({ key: metaKey, versionstamp: stored.versionstamp })
        .check(totalsEntry)
        .set(this.#deadKey(info.key), dead)
        .sum(DEAD_LEVEL as unknown as Deno.KvKey, BigInt(info.records));
      this.#deletePending(op, this.#part, info, totals);
      if (await this.#commit(op, info.key, "dead-letter")) {
        this.#roomMade();
        return true;
      }
      if (!await this.#unchanged(metaKey, stored.versionstamp)) return false;
      await contentionBackoff(attempt);
    }
    throw new OutboxError(`Cannot dead-letter batch ${info.key}: the store stayed busy`, {
      key: info.key,
    });
  }

  /**
   * Moves this target's dead letters back to the outbox for another delivery
   * (after the server was fixed): each leaves `dead_lettered` for `stored` in
   * one atomic write, its body staying where it is. Returns how many batches
   * moved.
   */
  async requeueDeadLetters(): Promise<number> {
    let moved = 0;
    for await (
      const entry of this.#kv.list<DeadLetterInfo>({ prefix: [DEAD_LETTER, this.#part] })
    ) {
      const info = entry.value;
      const body = await this.#readBody(this.#part, info);
      const batch = {
        key: info.key,
        records: info.records,
        body,
        createdAtMs: info.createdAtMs,
        order: info.order ?? null,
      };
      // The dead entry goes in the same write; the pending batch takes over its body.
      const result = await this.#store(batch, {
        status: info.status,
        reason: `requeued dead letter: ${info.reason}`,
        captured: false,
      }, (op) => {
        op.check(entry).delete(entry.key).sum(
          DEAD_LEVEL as unknown as Deno.KvKey,
          kvU64Minus(info.records),
        );
      }, bodyPrefix(this.#part, info));
      if (result.outcome === "stored") moved++;
    }
    return moved;
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
    const moved = { batches: 0, deadLetters: 0 };
    if (this.#part === UNTARGETED) return moved;
    for await (
      const entry of this.#kv.list<StoredBatchInfo>({ prefix: [PENDING, UNTARGETED] })
    ) {
      if (await this.#rehome(entry, UNTARGETED)) moved.batches++;
    }
    for await (
      const entry of this.#kv.list<DeadLetterInfo>({ prefix: [DEAD_LETTER, UNTARGETED] })
    ) {
      const info = entry.value;
      const next: DeadLetterInfo = {
        ...info,
        target: this.#target,
        bodyKey: bodyPrefix(UNTARGETED, info),
      };
      const op = this.#kv.atomic()
        .check(entry)
        .check({ key: this.#deadKey(info.key), versionstamp: null })
        .delete(entry.key)
        .set(this.#deadKey(info.key), next);
      if (await this.#commit(op, info.key, "adopt")) moved.deadLetters++;
    }
    return moved;
  }

  /** Moves a pending batch from `fromPart` to this target, and enqueues its replay here. */
  async #rehome(entry: Deno.KvEntry<StoredBatchInfo>, fromPart: string): Promise<boolean> {
    const info = entry.value;
    const now = this.#clock();
    const next: StoredBatchInfo = {
      ...info,
      target: this.#target,
      bodyKey: bodyPrefix(fromPart, info),
      queueToken: crypto.randomUUID(),
    };
    const op = this.#kv.atomic()
      .check(entry)
      .check({ key: this.#pendingKey(info.key), versionstamp: null })
      .delete(entry.key)
      .delete([PENDING_LOST, fromPart, info.key])
      .delete(ageKey(info, fromPart))
      .set(ageKey(info, this.#part), true)
      .set(this.#pendingKey(info.key), next);
    enqueueReplay(op, this.#part, next, Math.max(0, info.nextAttemptAtMs - now));
    return await this.#commit(op, info.key, "adopt");
  }

  /** This target's pending batches, oldest first. */
  async *pending(): AsyncGenerator<StoredBatchInfo> {
    const all = await Array.fromAsync(
      this.#kv.list<StoredBatchInfo>({ prefix: [PENDING, this.#part] }),
      (entry) => entry.value,
    );
    all.sort((a, b) => a.storedAtMs - b.storedAtMs || (a.key < b.key ? -1 : 1));
    yield* all;
  }

  /** This target's pending batches: how many, their records and bytes. */
  async holding(): Promise<TargetHolding> {
    const holding: TargetHolding = { target: this.#target, batches: 0, records: 0, bytes: 0 };
    for await (const entry of this.#kv.list<StoredBatchInfo>({ prefix: [PENDING, this.#part] })) {
      holding.batches++;
      holding.records += entry.value.records;
      holding.bytes += entry.value.bodyBytes;
    }
    return holding;
  }

  /**
   * Pending batches by the ingest URL they were recorded for, every target's
   * (this one's too), most batches first.
   */
  async targets(): Promise<TargetHolding[]> {
    const byPart = new Map<Deno.KvKeyPart, TargetHolding>();
    for await (const entry of this.#kv.list<StoredBatchInfo>({ prefix: [PENDING] })) {
      const part = entry.key[1];
      const holding = byPart.get(part) ??
        { target: targetOfPart(part), batches: 0, records: 0, bytes: 0 };
      holding.batches++;
      holding.records += entry.value.records;
      holding.bytes += entry.value.bodyBytes;
      byPart.set(part, holding);
    }
    return [...byPart.values()].sort((a, b) => b.batches - a.batches);
  }

  /** Pending batches recorded for targets other than this outbox's, most batches first. */
  async otherTargets(): Promise<TargetHolding[]> {
    return (await this.targets()).filter((holding) => targetPart(holding.target) !== this.#part);
  }

  /** Dead letters of every target, oldest first. */
  async deadLetters(): Promise<DeadLetterInfo[]> {
    const all: DeadLetterInfo[] = [];
    for await (const entry of this.#kv.list<DeadLetterInfo>({ prefix: [DEAD_LETTER] })) {
      all.push({ ...entry.value, target: targetOfPart(entry.key[1]) });
    }
    return all.sort((a, b) => a.deadAtMs - b.deadAtMs);
  }

  /** Adds to the counters that only grow, in one atomic write (e.g. `kernel_dropped`). */
  async addCounters(deltas: CounterDeltas): Promise<void> {
    const op = this.#kv.atomic();
    if (this.#sumCounters(op, deltas) === 0) return;
    await this.#commit(op, null, "count");
  }

  /**
   * The counters, read in one snapshot so that
   * `captured = sent + stored + dropped + dead_lettered` holds in what is returned.
   */
  async counters(): Promise<AgentCounters> {
    const entries = await this.#kv.getMany<unknown[]>([
      ...TOTAL_COUNTER_NAMES.map((name) => [...COUNTER, name]),
      DEAD_LEVEL as unknown as Deno.KvKey,
      TOTALS as unknown as Deno.KvKey,
    ]);
    const counters = emptyCounters();
    TOTAL_COUNTER_NAMES.forEach((name, i) => {
      counters[name] = Number((entries[i].value as Deno.KvU64 | null)?.value ?? 0n);
    });
    const dead = entries[TOTAL_COUNTER_NAMES.length].value as Deno.KvU64 | null;
    counters.dead_lettered = Number(dead?.value ?? 0n);
    const totals = entries[TOTAL_COUNTER_NAMES.length + 1].value as Totals | null;
    counters.stored = totals?.records ?? 0;
    return counters;
  }

  /** Queue depth, stored bytes, dead letters and counters, of the whole store. */
  async status(): Promise<OutboxStatus> {
    const totals = (await this.#kv.get<Totals>(TOTALS as unknown as Deno.KvKey)).value ??
      { batches: 0, records: 0, bytes: 0 };
    let oldestCreatedAtMs: number | null = null;
    for await (const entry of this.#kv.list({ prefix: BY_AGE }, { limit: 1 })) {
      oldestCreatedAtMs = entry.key[2] as number;
    }
    const deadLetters = await this.deadLetters();
    return {
      pendingBatches: totals.batches,
      pendingRecords: totals.records,
      pendingBytes: totals.bytes,
      maxBytes: this.#maxBytes,
      oldestCreatedAtMs,
      deadLetters,
      deadLetterBytes: deadLetters.reduce((sum, d) => sum + d.bodyBytes, 0),
      counters: await this.counters(),
      targets: await this.targets(),
    };
  }

  /**
   * Starts replaying: listens to the KV queue, hands each due batch's key to
   * `handler` (one call per batch at a time), and sweeps for batches whose
   * message was lost, once now and then every `sweepIntervalMs`. `handler`
   * must reschedule, complete or dead-letter the batch; if it throws, KV
   * redelivers the message, and after that the sweep re-enqueues the batch.
   */
  listen(handler: (key: string) => Promise<void>): void {
    if (this.#handler !== null) throw new Error("Outbox.listen() was already called");
    this.#handler = handler;
    this.#listening = this.#kv.listenQueue((message) => this.#onMessage(message));
    // At start nothing is in flight: everything already due is re-enqueued.
    this.#sweepSoon(0);
    this.#sweepTimer = setInterval(() => this.#sweepSoon(this.#lostAfterMs), this.#sweepIntervalMs);
  }

  /**
   * Re-enqueues this target's pending batches that are due for longer than
   * `lostAfterMs` without their message having come (KV gave up on it, or
   * the process died while handling it), and those KV left in
   * `keysIfUndelivered`. Returns how many were re-enqueued.
   *
   * @param lostAfterMs Grace past the due time. @default the option `lostAfterMs`
   */
  async sweep(lostAfterMs: number = this.#lostAfterMs): Promise<number> {
    let requeued = 0;
    for await (const entry of this.#kv.list({ prefix: [PENDING_LOST, this.#part] })) {
      const key = entry.key[2] as string;
      await this.#kv.atomic().check(entry).delete(entry.key).commit();
      if (await this.#requeue(key, 0, () => true)) requeued++;
    }
    const now = this.#clock();
    for await (const entry of this.#kv.list<StoredBatchInfo>({ prefix: [PENDING, this.#part] })) {
      const info = entry.value;
      if (this.#active.has(info.key) || info.nextAttemptAtMs + lostAfterMs > now) continue;
      if (await this.#requeue(info.key, 0, (current) => current.queueToken === info.queueToken)) {
        requeued++;
      }
    }
    if (requeued > 0) log.info("Outbox sweep re-enqueued {count} batches", { count: requeued });
    return requeued;
  }

  /**
   * Brings every pending batch of this target forward to be replayed now,
   * e.g. when a delivery just succeeded after an outage. Returns how many.
   */
  async replayAllNow(): Promise<number> {
    let requeued = 0;
    for await (const entry of this.#kv.list<StoredBatchInfo>({ prefix: [PENDING, this.#part] })) {
      if (this.#active.has(entry.value.key)) continue;
      if (await this.#requeue(entry.value.key, 0, () => true)) requeued++;
    }
    return requeued;
  }

  /**
   * Stops the sweep and waits for replays in progress. Queue messages that
   * arrive later are left for the next run. The caller then closes the KV.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#roomMade();
    await Promise.allSettled([...this.#active.values(), ...this.#handling]);
  }

  /** Resolves when the queue listener ended (after the KV handle is closed). */
  get listening(): Promise<void> {
    return this.#listening ?? Promise.resolve();
  }

  #pendingKey(key: string): Deno.KvKey {
    return [PENDING, this.#part, key];
  }

  #deadKey(key: string): Deno.KvKey {
    return [DEAD_LETTER, this.#part, key];
  }

  #sweepSoon(lostAfterMs: number): void {
    if (this.#stopped) return;
    this.sweep(lostAfterMs).catch((error) => {
      if (!this.#stopped) log.error("Outbox sweep failed: {error}", { error });
    });
  }

  /** Handles a queue message; `stop()` waits for it from its first KV read on. */
  #onMessage(message: unknown): Promise<void> {
    const handling = this.#handleMessage(message);
    this.#handling.add(handling);
    return handling.finally(() => this.#handling.delete(handling));
  }

  async #handleMessage(message: unknown): Promise<void> {
    if (this.#handler === null) return;
    if (!isReplayMessage(message)) {
      // A message of a store older than targets: its batch got a new one when the store moved.
      const key = (message as { key?: unknown } | null)?.key;
      if (typeof key === "string") this.#onQueueMessage?.({ key, action: "stale" });
      return;
    }
    const tell = (action: QueueMessageEvent["action"]) =>
      this.#onQueueMessage?.({ key: message.key, action });
    if (this.#stopped) {
      // Left for the next run: its start-up sweep re-enqueues what is due.
      tell("stopped");
      return;
    }
    if (message.target !== this.#part) {
      // Made for another server: left stored, with this message spent. Its due time has
      // passed, so the start-up sweep of a run delivering there enqueues it again.
      tell("other_target");
      return;
    }
    const current = await this.#kv.get<StoredBatchInfo>(this.#pendingKey(message.key));
    if (current.value === null || current.value.queueToken !== message.token) {
      tell("stale");
      return;
    }
    if (this.#active.has(message.key)) {
      tell("busy");
      return;
    }
    const running = this.#handler(message.key);
    this.#active.set(message.key, running.catch(() => {}));
    try {
      await running;
    } finally {
      this.#active.delete(message.key);
      tell("handled");
    }
  }

  async #requeue(
    key: string,
    delayMs: number,
    stillValid: (info: StoredBatchInfo) => boolean,
  ): Promise<boolean> {
    const entry = await this.#kv.get<StoredBatchInfo>(this.#pendingKey(key));
    if (entry.value === null || !stillValid(entry.value)) return false;
    const next = {
      ...entry.value,
      nextAttemptAtMs: this.#clock() + delayMs,
      queueToken: crypto.randomUUID(),
    };
    const op = this.#kv.atomic().check(entry).set(entry.key, next);
    enqueueReplay(op, this.#part, next, delayMs);
    return await this.#commit(op, key, "requeue");
  }

  #deletePending(
    op: Deno.AtomicOperation,
    part: string,
    info: StoredBatchInfo,
    totals: Totals,
  ): void {
    op.delete([PENDING, part, info.key])
      .delete(ageKey(info, part))
      .delete([PENDING_LOST, part, info.key])
      .set(TOTALS as unknown as Deno.KvKey, {
        batches: Math.max(0, totals.batches - 1),
        records: Math.max(0, totals.records - info.records),
        bytes: Math.max(0, totals.bytes - info.bodyBytes),
      });
  }

  /** Writes a fresh body under this target: `["body", target, key, i]`. */
  #setBody(op: Deno.AtomicOperation, batch: EncodedBatch): void {
    const chunks = chunkCount(batch.body.length);
    for (let i = 0; i < chunks; i++) {
      op.set(
        [BODY, this.#part, batch.key, i],
        batch.body.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
      );
    }
  }

  #sumCounters(op: Deno.AtomicOperation, deltas: CounterDeltas): number {
    let added = 0;
    for (const name of TOTAL_COUNTER_NAMES) {
      const delta = deltas[name] ?? 0;
      if (delta <= 0) continue;
      op.sum([...COUNTER, name], BigInt(Math.round(delta)));
      added++;
    }
    return added;
  }

  /** Adds a first filing to `op`: the guard key (checked absent, then set) and `captured`. */
  #applyFiling(op: Deno.AtomicOperation, records: number, filing: FilingOptions): void {
    const guardKey = filing.guardKey ?? null;
    if (guardKey !== null) {
      op.check({ key: guardKey, versionstamp: null }).set(guardKey, records);
    }
    if (filing.captured !== false) op.sum([...COUNTER, "captured"], BigInt(records));
  }

  /** Files a batch that leaves no body behind (sent, or dropped for size): counters only. */
  async #fileCounted(
    batch: Pick<EncodedBatch, "key" | "records">,
    filing: FilingOptions,
    counters: CounterDeltas,
  ): Promise<FilingResult> {
    const op = this.#kv.atomic();
    this.#applyFiling(op, batch.records, filing);
    this.#sumCounters(op, counters);
    // Only the guard is checked: a failed commit means the batch was filed before.
    return await this.#commit(op, batch.key, "count") ? "filed" : "already_filed";
  }

  /** Wakes the waits for room (a replay in this process removed a pending batch). */
  #roomMade(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Waits until a replay in this process frees room, `roomPollMs` passes
   * (another process, such as `deno task replay`, may have), or `signal`
   * aborts. Returns false when aborted.
   */
  async #waitForRoom(signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return false;
    let wake = () => {};
    const woken = new Promise<void>((resolve) => wake = resolve);
    this.#roomWaiters.push(wake);
    const timer = setTimeout(wake, this.#roomPollMs);
    signal?.addEventListener("abort", wake, { once: true });
    await woken;
    clearTimeout(timer);
    signal?.removeEventListener("abort", wake);
    this.#roomWaiters = this.#roomWaiters.filter((w) => w !== wake);
    return !signal?.aborted;
  }

  /** Drops the oldest pending batch of the store, whatever its target (the cap is the store's). */
  /** Whether `batch` was made before every pending batch of the store (false when none is). */
  async #olderThanAllStored(batch: Pick<EncodedBatch, "createdAtMs">): Promise<boolean> {
    for await (const entry of this.#kv.list({ prefix: BY_AGE }, { limit: 1 })) {
      return batch.createdAtMs < (entry.key[2] as number);
    }
    return false;
  }

  async #evictOldest(): Promise<string | null> {
    for await (const ageEntry of this.#kv.list({ prefix: BY_AGE }, { limit: 1 })) {
      const part = ageEntry.key[3] as string;
      const key = ageEntry.key[4] as string;
      const meta = await this.#kv.get<StoredBatchInfo>([PENDING, part, key]);
      if (meta.value === null) {
        // An index entry without its batch cannot happen through this class; clean it anyway.
        await this.#kv.delete(ageEntry.key);
        return null;
      }
      const stored: StoredBatch = {
        info: meta.value,
        versionstamp: meta.versionstamp,
        batch: { key, records: meta.value.records, body: new Uint8Array(), createdAtMs: 0 },
      };
      if (await this.#complete(part, stored, { dropped: meta.value.records })) {
        log.warn(
          "Outbox full (OUTBOX_MAX_BYTES {max}): dropped the oldest batch {key} " +
            "({records} records, {bytes} bytes, stored at {storedAt}, for {target})",
          {
            max: this.#maxBytes,
            key,
            records: meta.value.records,
            bytes: meta.value.bodyBytes,
            storedAt: new Date(meta.value.storedAtMs).toISOString(),
            target: targetOfPart(part) ?? "no recorded server",
          },
        );
        return key;
      }
      return null;
    }
    return null;
  }

  async #unchanged(metaKey: Deno.KvKey, versionstamp: string): Promise<boolean> {
    const entry = await this.#kv.get(metaKey);
    return entry.versionstamp === versionstamp;
  }

  async #readBody(
    part: string,
    info: Pick<StoredBatchInfo, "key" | "bodyKey" | "chunks" | "bodyBytes">,
  ): Promise<Uint8Array> {
    const { key, chunks, bodyBytes } = info;
    const parts: Uint8Array[] = [];
    for await (const entry of this.#kv.list<Uint8Array>({ prefix: bodyPrefix(part, info) })) {
      parts.push(entry.value);
    }
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    if (parts.length !== chunks || total !== bodyBytes) {
      throw new OutboxError(
        `Stored batch ${key} is damaged: ${parts.length} of ${chunks} chunks, ${total} of ${bodyBytes} bytes`,
        { key },
      );
    }
    const body = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      body.set(part, offset);
      offset += part.length;
    }
    return body;
  }

  async #commit(op: Deno.AtomicOperation, key: string | null, what: string): Promise<boolean> {
    try {
      return (await op.commit()).ok;
    } catch (cause) {
      throw new OutboxError(
        `Cannot ${what}${key === null ? "" : ` batch ${key}`} in the outbox: ${
          (cause as Error).message
        }`,
        { key: key ?? undefined, cause },
      );
    }
  }
}
