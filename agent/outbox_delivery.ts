/**
 * The outbox's delivery bookkeeping: a pending batch loaded for an attempt,
 * then completed (delivered, or replaced by its parts), rescheduled with
 * backoff, or counted as sent without ever being stored. Each is one atomic
 * write checked against the batch's version, so a batch someone else handled
 * first is left to them.
 *
 * @module
 */
import type { EncodedBatch } from "./batch_codec.ts";
import { backoffDelayMs } from "./_backoff.ts";
import { OutboxError } from "./outbox_error.ts";
import { PENDING } from "./outbox_keys.ts";
import { bodyPrefix, readBody } from "./outbox_body.ts";
import {
  contentionBackoff,
  MAX_COMMIT_ATTEMPTS,
  noTotals,
  type OutboxCore,
  TOTALS,
  type Totals,
} from "./outbox_core.ts";
import { enqueueReplay } from "./outbox_replay_message.ts";
import type {
  CounterDeltas,
  FilingOptions,
  FilingResult,
  StoredBatch,
  StoredBatchInfo,
  StoreReason,
} from "./outbox_types.ts";

/** Loads, completes and reschedules pending batches (see the module doc). */
export class OutboxDelivery {
  readonly #core: OutboxCore;

  /** Works on `core`'s store and target. */
  constructor(core: OutboxCore) {
    this.#core = core;
  }

  /** Counts a batch the server acknowledged, in one write with its filing. */
  async recordSent(
    batch: Pick<EncodedBatch, "key" | "records">,
    options: FilingOptions,
  ): Promise<FilingResult> {
    return await this.#core.fileCounted(batch, options, { sent: batch.records });
  }

  /** One of this target's pending batches with its body; null when not pending here. */
  async load(key: string): Promise<StoredBatch | null> {
    const core = this.#core;
    const entry = await core.kv.get<StoredBatchInfo>(core.pendingKey(key));
    if (entry.value === null) return null;
    const body = await readBody(core.kv, core.part, entry.value);
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

  /**
   * Removes a pending batch stored under `part` with its body, adding
   * `counters` in the same atomic write; false when someone else changed or
   * removed it first.
   */
  async complete(part: string, stored: StoredBatch, counters: CounterDeltas): Promise<boolean> {
    const core = this.#core;
    const { info } = stored;
    const metaKey = [PENDING, part, info.key];
    for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
      const totalsEntry = await core.kv.get<Totals>(TOTALS);
      const totals = totalsEntry.value ?? noTotals();
      const op = core.kv.atomic()
        .check({ key: metaKey, versionstamp: stored.versionstamp })
        .check(totalsEntry);
      core.deletePending(op, part, info, totals);
      const body = bodyPrefix(part, info);
      for (let i = 0; i < info.chunks; i++) op.delete([...body, i]);
      core.sumCounters(op, counters);
      if (await core.commit(op, info.key, "complete")) {
        core.roomMade();
        return true;
      }
      if (!await core.unchanged(metaKey, stored.versionstamp)) return false;
      await contentionBackoff(attempt);
    }
    throw new OutboxError(`Cannot remove batch ${info.key}: the store stayed busy`, {
      key: info.key,
    });
  }

  /** Records a failed replay and schedules the next; the delay, or null when the batch changed. */
  async reschedule(stored: StoredBatch, reason: StoreReason): Promise<number | null> {
    const core = this.#core;
    const { info } = stored;
    const attempts = info.attempts + 1;
    const delayMs = Math.min(
      Math.max(
        backoffDelayMs(attempts - 1, core.replayDelayMs, core.maxReplayDelayMs),
        reason.retryAfterMs ?? 0,
      ),
      core.maxReplayDelayMs,
    );
    const next: StoredBatchInfo = {
      ...info,
      attempts,
      nextAttemptAtMs: core.clock() + delayMs,
      queueToken: crypto.randomUUID(),
      lastStatus: reason.status,
      lastReason: reason.reason,
    };
    const metaKey = core.pendingKey(info.key);
    const op = core.kv.atomic()
      .check({ key: metaKey, versionstamp: stored.versionstamp })
      .set(metaKey, next);
    enqueueReplay(op, core.part, next, delayMs);
    return await core.commit(op, info.key, "reschedule") ? delayMs : null;
  }
}
