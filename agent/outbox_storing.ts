/**
 * Storing a batch in the outbox under OUTBOX_MAX_BYTES: one atomic write of
 * its metadata, age index entry, body, totals, filing and replay message.
 * When it does not fit, `whenFull` decides: evict the oldest batches made
 * (whatever their target: the cap is the store's), or wait for room. A
 * batch larger than the whole cap, or made before every stored one at the
 * cap, is dropped itself.
 *
 * @module
 */
import { commitKv } from "./kv_commit.ts";
import type { EncodedBatch } from "./batch_codec.ts";
import { OutboxError } from "./outbox_error.ts";
import { ageKey, BY_AGE, PENDING, targetOfPart } from "./outbox_keys.ts";
import { chunkCount, writeBody } from "./outbox_body.ts";
import {
  contentionBackoff,
  log,
  MAX_COMMIT_ATTEMPTS,
  noTotals,
  type OutboxCore,
  TOTALS,
  type Totals,
} from "./outbox_core.ts";
import type { OutboxDelivery } from "./outbox_delivery.ts";
import { enqueueReplay } from "./outbox_replay_message.ts";
import type {
  DeadLetterInfo,
  StoredBatch,
  StoredBatchInfo,
  StoreOptions,
  StoreResult,
} from "./outbox_types.ts";

/** Stores batches under the cap (see the module doc). */
export class OutboxStoring {
  readonly #core: OutboxCore;
  readonly #delivery: OutboxDelivery;

  /** Evicts through `delivery`'s completion, so an evicted batch is counted like a delivered one. */
  constructor(core: OutboxCore, delivery: OutboxDelivery) {
    this.#core = core;
    this.#delivery = delivery;
  }

  /**
   * Stores `batch` and schedules its replay.
   *
   * @param extra Adds to the same atomic write (a requeued dead letter's removal).
   * @param bodyKey Where the body is already stored (a requeued dead letter):
   *   no chunk is written. Null writes the chunks under this target.
   */
  async store(
    batch: EncodedBatch,
    options: StoreOptions,
    extra: ((op: Deno.AtomicOperation) => void) | null = null,
    bodyKey: Deno.KvKey | null = null,
  ): Promise<StoreResult> {
    const core = this.#core;
    const evicted: string[] = [];
    const size = batch.body.length;
    if (size > core.maxBytes) {
      const result = await core.fileCounted(batch, options, { dropped: batch.records });
      if (result === "filed") {
        log.warn(
          "Outbox: dropped batch {key} ({records} records, {bytes} bytes): larger than OUTBOX_MAX_BYTES {max}",
          { key: batch.key, records: batch.records, bytes: size, max: core.maxBytes },
        );
      }
      return { outcome: result === "filed" ? "dropped" : "already_filed", evicted };
    }
    const chunks = chunkCount(size);
    const metaKey = core.pendingKey(batch.key);
    const deadKey = core.deadKey(batch.key);
    const guardKey = options.guardKey ?? null;
    let pausedSince: number | null = null;
    try {
      for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS;) {
        const [totalsEntry, existing, guard, dead] = await core.kv.getMany<
          [Totals, StoredBatchInfo, unknown, DeadLetterInfo]
        >([TOTALS, metaKey, guardKey ?? metaKey, deadKey]);
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
        const totals = totalsEntry.value ?? noTotals();
        if (totals.bytes + size > core.maxBytes && totals.batches > 0) {
          if (options.whenFull === "wait") {
            if (pausedSince === null) {
              pausedSince = core.clock();
              log.warn(
                "Outbox full ({bytes} of OUTBOX_MAX_BYTES {max} bytes): waiting for replays to make " +
                  "room for batch {key}",
                { bytes: totals.bytes, max: core.maxBytes, key: batch.key },
              );
            }
            if (!await core.waitForRoom(options.signal)) return { outcome: "aborted", evicted };
            continue;
          }
          if (bodyKey === null && extra === null && await this.#olderThanAllStored(batch)) {
            // The cap drops the oldest captured packets, and that is this batch: it was
            // made before every stored one (its upload failed after theirs).
            const result = await core.fileCounted(batch, options, { dropped: batch.records });
            if (result === "filed") {
              log.warn(
                "Outbox full (OUTBOX_MAX_BYTES {max}): dropped batch {key} ({records} records), " +
                  "older than every stored batch",
                { key: batch.key, records: batch.records, max: core.maxBytes },
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
        const now = core.clock();
        const delayMs = Math.min(
          Math.max(core.replayDelayMs, options.retryAfterMs ?? 0),
          core.maxReplayDelayMs,
        );
        const info: StoredBatchInfo = {
          key: batch.key,
          records: batch.records,
          bodyBytes: size,
          chunks,
          createdAtMs: batch.createdAtMs,
          order: batch.order ?? null,
          target: core.target,
          ...(bodyKey === null ? {} : { bodyKey }),
          storedAtMs: now,
          attempts: 0,
          nextAttemptAtMs: now + delayMs,
          queueToken: crypto.randomUUID(),
          lastStatus: options.status,
          lastReason: options.reason,
        };
        const op = core.kv.atomic()
          .check(totalsEntry)
          .check({ key: metaKey, versionstamp: null })
          .check(dead)
          .set(metaKey, info)
          .set(ageKey(info, core.part), true)
          .set(TOTALS, {
            batches: totals.batches + 1,
            records: totals.records + batch.records,
            bytes: totals.bytes + size,
          });
        if (bodyKey === null) writeBody(op, core.part, batch);
        core.applyFiling(op, batch.records, options);
        extra?.(op);
        enqueueReplay(op, core.part, info, delayMs);
        if (await core.commit(op, batch.key, "store")) return { outcome: "stored", evicted };
        await contentionBackoff(attempt);
      }
    } finally {
      if (pausedSince !== null) {
        log.info("Outbox had room again after {seconds} s", {
          seconds: ((core.clock() - pausedSince) / 1000).toFixed(1),
        });
      }
    }
    throw new OutboxError(`Cannot store batch ${batch.key}: the store stayed busy`, {
      key: batch.key,
    });
  }

  /** Whether `batch` was made before every pending batch of the store (false when none is). */
  async #olderThanAllStored(batch: Pick<EncodedBatch, "createdAtMs">): Promise<boolean> {
    for await (const entry of this.#core.kv.list({ prefix: BY_AGE }, { limit: 1 })) {
      return batch.createdAtMs < (entry.key[2] as number);
    }
    return false;
  }

  /** Drops the oldest pending batch of the store, whatever its target (the cap is the store's). */
  async #evictOldest(): Promise<string | null> {
    const core = this.#core;
    for await (const ageEntry of core.kv.list({ prefix: BY_AGE }, { limit: 1 })) {
      const part = ageEntry.key[3] as string;
      const key = ageEntry.key[4] as string;
      const meta = await core.kv.get<StoredBatchInfo>([PENDING, part, key]);
      if (meta.value === null) {
        // An index entry without its batch cannot happen through this class; clean it anyway,
        // in one write checking both are as read: a store of the same batch in between writes
        // this very index entry again, and deleting that would hide its batch from the cap.
        await commitKv(core.kv.atomic().check(ageEntry).check(meta).delete(ageEntry.key));
        return null;
      }
      const stored: StoredBatch = {
        info: meta.value,
        versionstamp: meta.versionstamp,
        batch: { key, records: meta.value.records, body: new Uint8Array(), createdAtMs: 0 },
      };
      if (await this.#delivery.complete(part, stored, { dropped: meta.value.records })) {
        log.warn(
          "Outbox full (OUTBOX_MAX_BYTES {max}): dropped the oldest batch {key} " +
            "({records} records, {bytes} bytes, stored at {storedAt}, for {target})",
          {
            max: core.maxBytes,
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
}
