/**
 * The outbox's view by server: this target's pending batches, every
 * target's holdings, and the adoption of batches and dead letters an agent
 * older than targets stored without one (`deno task replay --untargeted`).
 * An adopted entry moves in one atomic write, its body staying where it is.
 *
 * @module
 */
import {
  ageKey,
  DEAD_LETTER,
  PENDING,
  PENDING_LOST,
  targetOfPart,
  targetPart,
  UNTARGETED,
} from "./outbox_keys.ts";
import { bodyPrefix } from "./outbox_body.ts";
import type { OutboxCore } from "./outbox_core.ts";
import { enqueueReplay } from "./outbox_replay_message.ts";
import type { DeadLetterInfo, StoredBatchInfo, TargetHolding } from "./outbox_types.ts";

/** Lists holdings by target and adopts untargeted entries (see the module doc). */
export class OutboxTargets {
  readonly #core: OutboxCore;

  /** Works on `core`'s store and target. */
  constructor(core: OutboxCore) {
    this.#core = core;
  }

  /** Files untargeted batches and dead letters as this target's; see `Outbox.adoptUntargeted`. */
  async adoptUntargeted(): Promise<{ batches: number; deadLetters: number }> {
    const core = this.#core;
    const moved = { batches: 0, deadLetters: 0 };
    if (core.part === UNTARGETED) return moved;
    for await (
      const entry of core.kv.list<StoredBatchInfo>({ prefix: [PENDING, UNTARGETED] })
    ) {
      if (await this.#rehome(entry, UNTARGETED)) moved.batches++;
    }
    for await (
      const entry of core.kv.list<DeadLetterInfo>({ prefix: [DEAD_LETTER, UNTARGETED] })
    ) {
      const info = entry.value;
      const next: DeadLetterInfo = {
        ...info,
        target: core.target,
        bodyKey: bodyPrefix(UNTARGETED, info),
      };
      const op = core.kv.atomic()
        .check(entry)
        .check({ key: core.deadKey(info.key), versionstamp: null })
        .delete(entry.key)
        .set(core.deadKey(info.key), next);
      if (await core.commit(op, info.key, "adopt")) moved.deadLetters++;
    }
    return moved;
  }

  /** Moves a pending batch from `fromPart` to this target, and enqueues its replay here. */
  async #rehome(entry: Deno.KvEntry<StoredBatchInfo>, fromPart: string): Promise<boolean> {
    const core = this.#core;
    const info = entry.value;
    const now = core.clock();
    const next: StoredBatchInfo = {
      ...info,
      target: core.target,
      bodyKey: bodyPrefix(fromPart, info),
      queueToken: crypto.randomUUID(),
    };
    const op = core.kv.atomic()
      .check(entry)
      .check({ key: core.pendingKey(info.key), versionstamp: null })
      .delete(entry.key)
      .delete([PENDING_LOST, fromPart, info.key])
      .delete(ageKey(info, fromPart))
      .set(ageKey(info, core.part), true)
      .set(core.pendingKey(info.key), next);
    enqueueReplay(op, core.part, next, Math.max(0, info.nextAttemptAtMs - now));
    return await core.commit(op, info.key, "adopt");
  }

  /** This target's pending batches, oldest stored first. */
  async *pending(): AsyncGenerator<StoredBatchInfo> {
    const core = this.#core;
    const all = await Array.fromAsync(
      core.kv.list<StoredBatchInfo>({ prefix: [PENDING, core.part] }),
      (entry) => entry.value,
    );
    all.sort((a, b) => a.storedAtMs - b.storedAtMs || (a.key < b.key ? -1 : 1));
    yield* all;
  }

  /** This target's pending batches: how many, their records and bytes. */
  async holding(): Promise<TargetHolding> {
    const core = this.#core;
    const holding: TargetHolding = { target: core.target, batches: 0, records: 0, bytes: 0 };
    for await (const entry of core.kv.list<StoredBatchInfo>({ prefix: [PENDING, core.part] })) {
      holding.batches++;
      holding.records += entry.value.records;
      holding.bytes += entry.value.bodyBytes;
    }
    return holding;
  }

  /** Pending batches by target, every target's, most batches first. */
  async targets(): Promise<TargetHolding[]> {
    const byPart = new Map<Deno.KvKeyPart, TargetHolding>();
    for await (const entry of this.#core.kv.list<StoredBatchInfo>({ prefix: [PENDING] })) {
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

  /** Pending batches of targets other than this one, most batches first. */
  async otherTargets(): Promise<TargetHolding[]> {
    return (await this.targets()).filter((h) => targetPart(h.target) !== this.#core.part);
  }
}
