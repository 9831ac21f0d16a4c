/**
 * What every part of the outbox shares: the KV handle and the options, the
 * keys of this target's entries, the store-wide totals and counters, and the
 * write steps each filing is made of (a pending batch's removal, counter
 * sums, a first filing's guard), plus the waits for room under the cap.
 * `outbox.ts` builds one {@link OutboxCore} and hands it to the parts.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import type { EncodedBatch } from "./batch_codec.ts";
import { OutboxError } from "./outbox_error.ts";
import { commitKv } from "./kv_commit.ts";
import { TOTAL_COUNTER_NAMES } from "./agent_counters.ts";
import { ageKey, DEAD_LETTER, PENDING, PENDING_LOST, targetPart } from "./outbox_keys.ts";
import type {
  CounterDeltas,
  FilingOptions,
  FilingResult,
  OutboxOptions,
  QueueMessageEvent,
  StoredBatchInfo,
} from "./outbox_types.ts";

/** `["outbox", "totals"]`: the store's pending batches, records and bytes, for the cap. */
export const TOTALS: Deno.KvKey = ["outbox", "totals"];
/** `["counters"]`: prefix of the counters (see `agent_counters.ts`). */
export const COUNTER = ["counters"] as const;
/** `["counters", "dead_lettered"]`: a level, lowered by wrapping addition on a requeue. */
export const DEAD_LEVEL: Deno.KvKey = [...COUNTER, "dead_lettered"];
/** Optimistic-concurrency retries before giving up on a busy store. */
export const MAX_COMMIT_ATTEMPTS = 100;

/** The value under {@link TOTALS}. */
export interface Totals {
  /** Pending batches. */
  batches: number;
  /** Records in them. */
  records: number;
  /** Their body bytes. */
  bytes: number;
}

/** Totals of an empty store (no totals entry yet). */
export function noTotals(): Totals {
  return { batches: 0, records: 0, bytes: 0 };
}

/**
 * Waits a random while after a lost optimistic commit. Every upload in flight
 * and the replay loop write the same totals entry; retried back to back on a
 * loaded machine, they kept invalidating each other until one gave up with
 * "the store stayed busy". Jitter spreads them out; the wait grows with the
 * attempt up to 100 ms.
 */
export function contentionBackoff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(100, 2 ** Math.min(attempt, 7));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}

/** `-n` as a KvU64 addend: sums wrap modulo 2^64, so adding it subtracts n. */
export function kvU64Minus(n: number): bigint {
  return BigInt.asUintN(64, -BigInt(n));
}

/** The outbox's logger. */
export const log = getLogger([LOG_ROOT, "agent", "outbox"]);

/** The outbox's handle, options and shared write steps (see the module doc). */
export class OutboxCore {
  /** The store. */
  readonly kv: Deno.Kv;
  /** OUTBOX_MAX_BYTES. */
  readonly maxBytes: number;
  /** First replay delay. */
  readonly replayDelayMs: number;
  /** Longest replay delay. */
  readonly maxReplayDelayMs: number;
  /** Sweep period. */
  readonly sweepIntervalMs: number;
  /** Grace past the due time before the sweep re-enqueues. */
  readonly lostAfterMs: number;
  /** Poll period of a wait for room. */
  readonly roomPollMs: number;
  /** Told about every replay-queue message. */
  readonly onQueueMessage: ((event: QueueMessageEvent) => void) | undefined;
  /** Clock in epoch ms. */
  readonly clock: () => number;
  /** The ingest URL (null: untargeted). */
  readonly target: string | null;
  /** The target's key part: every key this outbox reads or writes for a batch has it. */
  readonly part: string;
  #roomWaiters: (() => void)[] = [];

  /** Takes the options as checked by `Outbox`, with their defaults. */
  constructor(options: OutboxOptions) {
    this.kv = options.kv;
    this.maxBytes = options.maxBytes;
    this.replayDelayMs = options.replayDelayMs ?? 5_000;
    this.maxReplayDelayMs = options.maxReplayDelayMs ?? 300_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.lostAfterMs = options.lostAfterMs ?? 60_000;
    this.roomPollMs = options.roomPollMs ?? 1_000;
    this.onQueueMessage = options.onQueueMessage;
    this.clock = options.clock ?? Date.now;
    this.target = options.target ?? null;
    this.part = targetPart(this.target);
  }

  /** `["pending", part, key]` of this target. */
  pendingKey(key: string): Deno.KvKey {
    return [PENDING, this.part, key];
  }

  /** `["dead_letter", part, key]` of this target. */
  deadKey(key: string): Deno.KvKey {
    return [DEAD_LETTER, this.part, key];
  }

  /** Stores in this process waiting for room. */
  get waitingForRoom(): number {
    return this.#roomWaiters.length;
  }

  /** Commits `op`: false when a check failed; a KV error becomes an {@link OutboxError}. */
  async commit(op: Deno.AtomicOperation, key: string | null, what: string): Promise<boolean> {
    try {
      return (await commitKv(op)).ok;
    } catch (cause) {
      throw new OutboxError(
        `Cannot ${what}${key === null ? "" : ` batch ${key}`} in the outbox: ${
          (cause as Error).message
        }`,
        { key: key ?? undefined, cause },
      );
    }
  }

  /** Whether the entry at `metaKey` still has `versionstamp`. */
  async unchanged(metaKey: Deno.KvKey, versionstamp: string): Promise<boolean> {
    const entry = await this.kv.get(metaKey);
    return entry.versionstamp === versionstamp;
  }

  /** Adds to `op` the removal of a pending batch's metadata, index, marker and totals share. */
  deletePending(
    op: Deno.AtomicOperation,
    part: string,
    info: StoredBatchInfo,
    totals: Totals,
  ): void {
    op.delete([PENDING, part, info.key])
      .delete(ageKey(info, part))
      .delete([PENDING_LOST, part, info.key])
      .set(TOTALS, {
        batches: Math.max(0, totals.batches - 1),
        records: Math.max(0, totals.records - info.records),
        bytes: Math.max(0, totals.bytes - info.bodyBytes),
      });
  }

  /** Adds the positive counter deltas to `op`; returns how many. */
  sumCounters(op: Deno.AtomicOperation, deltas: CounterDeltas): number {
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
  applyFiling(op: Deno.AtomicOperation, records: number, filing: FilingOptions): void {
    const guardKey = filing.guardKey ?? null;
    if (guardKey !== null) {
      op.check({ key: guardKey, versionstamp: null }).set(guardKey, records);
    }
    if (filing.captured !== false) op.sum([...COUNTER, "captured"], BigInt(records));
  }

  /** Files a batch that leaves no body behind (sent, or dropped for size): counters only. */
  async fileCounted(
    batch: Pick<EncodedBatch, "key" | "records">,
    filing: FilingOptions,
    counters: CounterDeltas,
  ): Promise<FilingResult> {
    const op = this.kv.atomic();
    this.applyFiling(op, batch.records, filing);
    this.sumCounters(op, counters);
    // Only the guard is checked: a failed commit means the batch was filed before.
    return await this.commit(op, batch.key, "count") ? "filed" : "already_filed";
  }

  /** Wakes the waits for room (a replay in this process removed a pending batch). */
  roomMade(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Waits until a replay in this process frees room, `roomPollMs` passes
   * (another process, such as `deno task replay`, may have), or `signal`
   * aborts. Returns false when aborted.
   */
  async waitForRoom(signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return false;
    let wake = () => {};
    const woken = new Promise<void>((resolve) => wake = resolve);
    this.#roomWaiters.push(wake);
    const timer = setTimeout(wake, this.roomPollMs);
    signal?.addEventListener("abort", wake, { once: true });
    await woken;
    clearTimeout(timer);
    signal?.removeEventListener("abort", wake);
    this.#roomWaiters = this.#roomWaiters.filter((w) => w !== wake);
    return !signal?.aborted;
  }
}
