/**
 * The outbox's replay loop: listens to the KV queue and hands each due batch
 * of this target to the handler (one call per batch at a time), sweeps for
 * batches whose message was lost, and brings batches forward on demand.
 * Messages of other targets, stale tokens and an older store's messages do
 * nothing; a batch is re-enqueued with a fresh token in the write that checks
 * its version.
 *
 * @module
 */
import { commitKv } from "./kv_commit.ts";
import { PENDING, PENDING_LOST } from "./outbox_keys.ts";
import { log, type OutboxCore } from "./outbox_core.ts";
import { enqueueReplay, isReplayMessage } from "./outbox_replay_message.ts";
import type { QueueMessageEvent, StoredBatchInfo } from "./outbox_types.ts";

/** Listens, sweeps and requeues (see the module doc). */
export class OutboxReplayQueue {
  readonly #core: OutboxCore;
  readonly #active = new Map<string, Promise<void>>();
  readonly #handling = new Set<Promise<void>>();
  #handler: ((key: string) => Promise<void>) | null = null;
  #listening: Promise<void> | null = null;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  /** Works on `core`'s store and target. */
  constructor(core: OutboxCore) {
    this.#core = core;
  }

  /** Starts listening and sweeping; see `Outbox.listen`. */
  listen(handler: (key: string) => Promise<void>): void {
    if (this.#handler !== null) throw new Error("Outbox.listen() was already called");
    this.#handler = handler;
    this.#listening = this.#core.kv.listenQueue((message) => this.#onMessage(message));
    // At start nothing is in flight: everything already due is re-enqueued.
    this.#sweepSoon(0);
    this.#sweepTimer = setInterval(
      () => this.#sweepSoon(this.#core.lostAfterMs),
      this.#core.sweepIntervalMs,
    );
  }

  /** Re-enqueues this target's lost batches; see `Outbox.sweep`. */
  async sweep(lostAfterMs: number): Promise<number> {
    const core = this.#core;
    let requeued = 0;
    for await (const entry of core.kv.list({ prefix: [PENDING_LOST, core.part] })) {
      const key = entry.key[2] as string;
      // A failed check means KV gave up on a later message meanwhile: its marker stays for
      // the next sweep, and the requeue below is due either way (a new token makes any
      // extra requeue a no-op for the older messages).
      await commitKv(core.kv.atomic().check(entry).delete(entry.key));
      if (await this.#requeue(key, 0, () => true)) requeued++;
    }
    const now = core.clock();
    for await (const entry of core.kv.list<StoredBatchInfo>({ prefix: [PENDING, core.part] })) {
      const info = entry.value;
      if (this.#active.has(info.key) || info.nextAttemptAtMs + lostAfterMs > now) continue;
      if (await this.#requeue(info.key, 0, (current) => current.queueToken === info.queueToken)) {
        requeued++;
      }
    }
    if (requeued > 0) log.info("Outbox sweep re-enqueued {count} batches", { count: requeued });
    return requeued;
  }

  /** Brings every pending batch of this target forward; how many. */
  async replayAllNow(): Promise<number> {
    const core = this.#core;
    let requeued = 0;
    for await (const entry of core.kv.list<StoredBatchInfo>({ prefix: [PENDING, core.part] })) {
      if (this.#active.has(entry.value.key)) continue;
      if (await this.#requeue(entry.value.key, 0, () => true)) requeued++;
    }
    return requeued;
  }

  /** Stops the sweep, wakes waits for room, and waits for replays in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#core.roomMade();
    await Promise.allSettled([...this.#active.values(), ...this.#handling]);
  }

  /** Resolves when the queue listener ended (after the KV handle is closed). */
  get listening(): Promise<void> {
    return this.#listening ?? Promise.resolve();
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
    const core = this.#core;
    if (this.#handler === null) return;
    if (!isReplayMessage(message)) {
      // A message of a store older than targets: its batch got a new one when the store moved.
      const key = (message as { key?: unknown } | null)?.key;
      if (typeof key === "string") core.onQueueMessage?.({ key, action: "stale" });
      return;
    }
    const tell = (action: QueueMessageEvent["action"]) =>
      core.onQueueMessage?.({ key: message.key, action });
    if (this.#stopped) {
      // Left for the next run: its start-up sweep re-enqueues what is due.
      tell("stopped");
      return;
    }
    if (message.target !== core.part) {
      // Made for another server: left stored, with this message spent. Its due time has
      // passed, so the start-up sweep of a run delivering there enqueues it again.
      tell("other_target");
      return;
    }
    const current = await core.kv.get<StoredBatchInfo>(core.pendingKey(message.key));
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
    const core = this.#core;
    const entry = await core.kv.get<StoredBatchInfo>(core.pendingKey(key));
    if (entry.value === null || !stillValid(entry.value)) return false;
    const next = {
      ...entry.value,
      nextAttemptAtMs: core.clock() + delayMs,
      queueToken: crypto.randomUUID(),
    };
    const op = core.kv.atomic().check(entry).set(entry.key, next);
    enqueueReplay(op, core.part, next, delayMs);
    return await core.commit(op, key, "requeue");
  }
}
