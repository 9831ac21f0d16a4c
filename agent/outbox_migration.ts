/**
 * Moves an agent store written before per-target keys into the layout of
 * `outbox_keys.ts`, when it is opened. Two older layouts exist:
 *
 * - `["outbox", "batch", key]`, `["outbox", "age", storedAtMs, key]`,
 *   `["outbox", "undelivered", key]` and `["dead", key]`, each value
 *   recording its ingest URL in `target`;
 * - the same keys from an agent older than targets, with no `target`: those
 *   go under {@link UNTARGETED}, where no run sends them until `deno task
 *   replay --untargeted` files them for a server.
 *
 * Each batch moves in one atomic write (its metadata, its age index entry,
 * a lost-message marker, and a fresh queue message under its target), and
 * each dead letter likewise, so a crash half-way leaves every batch in one
 * layout or the other and the next open goes on. Bodies stay where they are
 * (`["chunk", key, i]`), named by the metadata's `bodyKey`: a full outbox
 * moves in metadata writes only. Totals and counters keep their keys.
 *
 * A file read's progress (`["read", agentId, fileId, "progress"]`) recorded
 * no server at all; `FileReadSession` takes it over for the first server
 * that reads the file next.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import { enqueueReplay } from "./outbox.ts";
import type { DeadLetterInfo, StoredBatchInfo } from "./outbox_types.ts";
import { ageKey, DEAD_LETTER, PENDING, PENDING_LOST, targetPart } from "./outbox_keys.ts";

/** Keys of the layout before per-target keys. */
const OLD_BATCH = ["outbox", "batch"] as const;
const OLD_AGE = ["outbox", "age"] as const;
const OLD_UNDELIVERED = ["outbox", "undelivered"] as const;
const OLD_DEAD = ["dead"] as const;
const OLD_CHUNK = "chunk";

/** What {@link migrateAgentStore} moved. */
export interface StoreMigration {
  /** Pending batches moved under their target's keys. */
  batches: number;
  /** Dead letters moved. */
  deadLetters: number;
  /** Entries left where they were: their key is taken under the target already (see the log). */
  conflicts: number;
}

/** Options for {@link migrateAgentStore}. */
export interface MigrateAgentStoreOptions {
  /** Clock in epoch ms (a moved batch's replay stays due when it was). @default Date.now */
  clock?: () => number;
}

const log = getLogger([LOG_ROOT, "agent", "outbox"]);

/**
 * Moves the entries of older layouts under their target's keys; does
 * nothing (one empty list per old kind) on a store in the current layout.
 *
 * @example
 * ```ts
 * const kv = await Deno.openKv("./data/agent.kv");
 * await migrateAgentStore(kv);
 * const outbox = new Outbox({ kv, maxBytes: 1 << 30, target: "http://127.0.0.1:8000/ingest_packets" });
 * ```
 */
export async function migrateAgentStore(
  kv: Deno.Kv,
  options: MigrateAgentStoreOptions = {},
): Promise<StoreMigration> {
  const clock = options.clock ?? Date.now;
  const moved: StoreMigration = { batches: 0, deadLetters: 0, conflicts: 0 };
  for await (const entry of kv.list<StoredBatchInfo>({ prefix: OLD_BATCH })) {
    const info = entry.value;
    const part = targetPart(info.target);
    const newKey = [PENDING, part, info.key];
    const next: StoredBatchInfo = {
      ...info,
      target: info.target ?? null,
      bodyKey: [OLD_CHUNK, info.key],
      queueToken: crypto.randomUUID(),
    };
    const op = kv.atomic()
      .check(entry)
      .check({ key: newKey, versionstamp: null })
      .delete(entry.key)
      .delete([...OLD_AGE, info.storedAtMs, info.key])
      .delete([...OLD_UNDELIVERED, info.key])
      .delete([PENDING_LOST, part, info.key])
      .set(ageKey(info, part), true)
      .set(newKey, next);
    // Its old message carries no target and is ignored: a new one keeps it due when it was.
    enqueueReplay(op, part, next, Math.max(0, info.nextAttemptAtMs - clock()));
    if ((await op.commit()).ok) moved.batches++;
    else if ((await kv.get(newKey)).versionstamp !== null) moved.conflicts++;
  }
  for await (const entry of kv.list<DeadLetterInfo>({ prefix: OLD_DEAD })) {
    const info = entry.value;
    const newKey = [DEAD_LETTER, targetPart(info.target), info.key];
    const next: DeadLetterInfo = {
      ...info,
      target: info.target ?? null,
      bodyKey: [OLD_CHUNK, info.key],
    };
    const op = kv.atomic().check(entry).check({ key: newKey, versionstamp: null })
      .delete(entry.key).set(newKey, next);
    if ((await op.commit()).ok) moved.deadLetters++;
    else if ((await kv.get(newKey)).versionstamp !== null) moved.conflicts++;
  }
  // Index entries and markers whose batch moved went with it; any others point at nothing.
  for (const prefix of [OLD_AGE, OLD_UNDELIVERED]) {
    for await (const entry of kv.list({ prefix })) {
      const key = entry.key[entry.key.length - 1] as string;
      if ((await kv.get([...OLD_BATCH, key])).versionstamp === null) await kv.delete(entry.key);
    }
  }
  if (moved.batches + moved.deadLetters > 0) {
    log.info(
      "Outbox moved to per-server keys: {batches} pending batches and {deadLetters} dead letters",
      { batches: moved.batches, deadLetters: moved.deadLetters },
    );
  }
  if (moved.conflicts > 0) {
    log.warn(
      "Outbox: {conflicts} batches of an older layout were left where they are, as their key is " +
        "taken under the same server already (the same batch stored twice); `--status` does not " +
        "list them",
      { conflicts: moved.conflicts },
    );
  }
  return moved;
}
