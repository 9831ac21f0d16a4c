/**
 * The outbox's dead letters: batches the server refused for good, kept with
 * their body and reason for the operator, outside the cap. A batch is filed
 * as one directly, or moved from pending; `deno task replay --dead-letters`
 * moves them back. One key is never both pending and dead-lettered for a
 * server, since both keep their body under `["body", target, key]`.
 *
 * @module
 */
import type { EncodedBatch } from "./batch_codec.ts";
import { OutboxError } from "./outbox_error.ts";
import { DEAD_LETTER, targetOfPart } from "./outbox_keys.ts";
import { bodyPrefix, chunkCount, readBody, writeBody } from "./outbox_body.ts";
import {
  contentionBackoff,
  DEAD_LEVEL,
  kvU64Minus,
  MAX_COMMIT_ATTEMPTS,
  noTotals,
  type OutboxCore,
  TOTALS,
  type Totals,
} from "./outbox_core.ts";
import type { OutboxStoring } from "./outbox_storing.ts";
import type {
  DeadLetterInfo,
  FilingOptions,
  FilingResult,
  StoredBatch,
  StoreReason,
} from "./outbox_types.ts";

/** Files, lists, loads and requeues dead letters (see the module doc). */
export class OutboxDeadLetters {
  readonly #core: OutboxCore;
  readonly #storing: OutboxStoring;

  /** Requeues through `storing`, so a requeued dead letter obeys the cap like any batch. */
  constructor(core: OutboxCore, storing: OutboxStoring) {
    this.#core = core;
    this.#storing = storing;
  }

  /** Files `batch` as a dead letter of this target, in one write with its filing. */
  async deadLetter(
    batch: EncodedBatch,
    reason: StoreReason,
    options: FilingOptions,
  ): Promise<FilingResult> {
    const core = this.#core;
    const deadKey = core.deadKey(batch.key);
    const info: DeadLetterInfo = {
      key: batch.key,
      records: batch.records,
      bodyBytes: batch.body.length,
      chunks: chunkCount(batch.body.length),
      createdAtMs: batch.createdAtMs,
      order: batch.order ?? null,
      target: core.target,
      deadAtMs: core.clock(),
      status: reason.status,
      reason: reason.reason,
    };
    // A pending batch of the same key is this batch, stored earlier: it keeps the body
    // (its own delivery or dead-lettering files it), so this one is not written over it.
    const op = core.kv.atomic()
      .check({ key: deadKey, versionstamp: null })
      .check({ key: core.pendingKey(batch.key), versionstamp: null })
      .set(deadKey, info)
      .sum(DEAD_LEVEL, BigInt(batch.records));
    writeBody(op, core.part, batch);
    core.applyFiling(op, batch.records, options);
    if (await core.commit(op, batch.key, "dead-letter")) return "filed";
    // A failed check means it is already a dead letter or pending, or was filed before.
    return "already_filed";
  }

  /** One of this target's dead letters with its body; null when there is none. */
  async load(key: string): Promise<{ info: DeadLetterInfo; body: Uint8Array } | null> {
    const core = this.#core;
    const entry = await core.kv.get<DeadLetterInfo>(core.deadKey(key));
    if (entry.value === null) return null;
    return { info: entry.value, body: await readBody(core.kv, core.part, entry.value) };
  }

  /** Moves a pending batch of this target to its dead letters; false when it changed first. */
  async moveFromPending(stored: StoredBatch, reason: StoreReason): Promise<boolean> {
    const core = this.#core;
    const { info } = stored;
    const metaKey = core.pendingKey(info.key);
    for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
      const totalsEntry = await core.kv.get<Totals>(TOTALS);
      const totals = totalsEntry.value ?? noTotals();
      const dead: DeadLetterInfo = {
        key: info.key,
        records: info.records,
        bodyBytes: info.bodyBytes,
        chunks: info.chunks,
        createdAtMs: info.createdAtMs,
        order: info.order ?? null,
        target: core.target,
        // The body stays where it is.
        ...(info.bodyKey === undefined ? {} : { bodyKey: info.bodyKey }),
        deadAtMs: core.clock(),
        status: reason.status,
        reason: reason.reason,
      };
      const op = core.kv.atomic()
        .check({ key: metaKey, versionstamp: stored.versionstamp })
        .check(totalsEntry)
        .set(core.deadKey(info.key), dead)
        .sum(DEAD_LEVEL, BigInt(info.records));
      core.deletePending(op, core.part, info, totals);
      if (await core.commit(op, info.key, "dead-letter")) {
        core.roomMade();
        return true;
      }
      if (!await core.unchanged(metaKey, stored.versionstamp)) return false;
      await contentionBackoff(attempt);
    }
    throw new OutboxError(`Cannot dead-letter batch ${info.key}: the store stayed busy`, {
      key: info.key,
    });
  }

  /** Moves this target's dead letters back to pending, each in one write; how many moved. */
  async requeue(): Promise<number> {
    const core = this.#core;
    let moved = 0;
    for await (
      const entry of core.kv.list<DeadLetterInfo>({ prefix: [DEAD_LETTER, core.part] })
    ) {
      const info = entry.value;
      const body = await readBody(core.kv, core.part, info);
      const batch = {
        key: info.key,
        records: info.records,
        body,
        createdAtMs: info.createdAtMs,
        order: info.order ?? null,
      };
      // The dead entry goes in the same write; the pending batch takes over its body.
      const result = await this.#storing.store(batch, {
        status: info.status,
        reason: `requeued dead letter: ${info.reason}`,
        captured: false,
      }, (op) => {
        op.check(entry).delete(entry.key).sum(DEAD_LEVEL, kvU64Minus(info.records));
      }, bodyPrefix(core.part, info));
      if (result.outcome === "stored") moved++;
    }
    return moved;
  }

  /** Dead letters of every target, oldest first. */
  async list(): Promise<DeadLetterInfo[]> {
    const all: DeadLetterInfo[] = [];
    for await (const entry of this.#core.kv.list<DeadLetterInfo>({ prefix: [DEAD_LETTER] })) {
      all.push({ ...entry.value, target: targetOfPart(entry.key[1]) });
    }
    return all.sort((a, b) => a.deadAtMs - b.deadAtMs);
  }
}
