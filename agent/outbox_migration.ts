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
 * An old entry whose key its server holds already in the new layout (pending
 * or dead-lettered: an older agent ran on the store again after it was
 * moved, and filed the same batch once more) is a second copy of one batch:
 * the same idempotency key for the same server. It is removed in one atomic
 * write with its share of the totals (or of `dead_lettered`) and of
 * `captured`, which counted it twice, and with its body unless an entry
 * still reads that body. So the batch is sent once, nothing is lost (the
 * copy in the new layout is sent), the cap counts only what can be
 * delivered, and `captured = sent + stored + dropped + dead_lettered` still
 * holds.
 *
 * A file read's progress (`["read", agentId, fileId, "progress"]`) recorded
 * no server at all; `FileReadSession` takes it over for the first server
 * that reads the file next.
 *
 * @module
 */
import { commitKv } from "./kv_commit.ts";
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import { enqueueReplay } from "./outbox_replay_message.ts";
import type { DeadLetterInfo, StoredBatchInfo } from "./outbox_types.ts";
import { ageKey, DEAD_LETTER, PENDING, PENDING_LOST, targetPart } from "./outbox_keys.ts";
import {
  contentionBackoff,
  COUNTER,
  DEAD_LEVEL,
  MAX_COMMIT_ATTEMPTS,
  noTotals,
  TOTALS,
  type Totals,
} from "./outbox_core.ts";

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
  /**
   * Old pending batches and dead letters removed as second copies of a batch
   * their server holds already under the same key (see the module doc).
   */
  duplicates: number;
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
  const moved: StoreMigration = { batches: 0, deadLetters: 0, duplicates: 0 };
  const readers = new ChunkReaders(kv);
  for await (const listed of kv.list<StoredBatchInfo>({ prefix: OLD_BATCH })) {
    const outcome = await settle(kv, listed.key, readers, (entry) => {
      const info = entry.value as StoredBatchInfo;
      const part = targetPart(info.target);
      const newKey = [PENDING, part, info.key];
      const next: StoredBatchInfo = {
        ...info,
        target: info.target ?? null,
        bodyKey: [OLD_CHUNK, info.key],
        queueToken: crypto.randomUUID(),
      };
      const op = kv.atomic()
        .delete(entry.key)
        .delete([...OLD_AGE, info.storedAtMs, info.key])
        .delete([...OLD_UNDELIVERED, info.key])
        .delete([PENDING_LOST, part, info.key])
        .set(ageKey(info, part), true)
        .set(newKey, next);
      // Its old message carries no target and is ignored: a new one keeps it due when it was.
      enqueueReplay(op, part, next, Math.max(0, info.nextAttemptAtMs - clock()));
      return op;
    });
    if (outcome === "moved") moved.batches++;
    if (outcome === "duplicate") moved.duplicates++;
  }
  for await (const listed of kv.list<DeadLetterInfo>({ prefix: OLD_DEAD })) {
    const outcome = await settle(kv, listed.key, readers, (entry) => {
      const info = entry.value as DeadLetterInfo;
      const next: DeadLetterInfo = {
        ...info,
        target: info.target ?? null,
        bodyKey: [OLD_CHUNK, info.key],
      };
      return kv.atomic().delete(entry.key)
        .set([DEAD_LETTER, targetPart(info.target), info.key], next);
    });
    if (outcome === "moved") moved.deadLetters++;
    if (outcome === "duplicate") moved.duplicates++;
  }
  // Index entries and markers whose batch moved went with it; any others point at nothing.
  for (const prefix of [OLD_AGE, OLD_UNDELIVERED]) {
    for await (const entry of kv.list({ prefix })) {
      const key = entry.key[entry.key.length - 1] as string;
      // One write with the check: an older agent storing the batch again meanwhile keeps it.
      await commitKv(
        kv.atomic().check(entry).check({ key: [...OLD_BATCH, key], versionstamp: null })
          .delete(entry.key),
      );
    }
  }
  if (moved.batches + moved.deadLetters > 0) {
    log.info(
      "Outbox moved to per-server keys: {batches} pending batches and {deadLetters} dead letters",
      { batches: moved.batches, deadLetters: moved.deadLetters },
    );
  }
  if (moved.duplicates > 0) {
    log.warn(
      "Outbox: removed {duplicates} batches of an older layout that its server holds already " +
        "under the same key (the same batch filed twice, by an older agent run on this store " +
        "again): each is sent once, from the copy kept",
      { duplicates: moved.duplicates },
    );
  }
  return moved;
}

/** What became of one old entry. */
type Settled = "moved" | "duplicate" | "gone" | "left";

/**
 * Moves the old entry at `oldKey`, or removes it as a duplicate, in one
 * atomic write checked against everything it read; retries when another
 * writer got in between.
 *
 * @param move The write that moves the entry (without its checks), made
 *   when its server holds no entry of its key in the new layout.
 */
async function settle(
  kv: Deno.Kv,
  oldKey: Deno.KvKey,
  readers: ChunkReaders,
  move: (entry: Deno.KvEntry<StoredBatchInfo | DeadLetterInfo>) => Deno.AtomicOperation,
): Promise<Settled> {
  const pending = oldKey[0] === OLD_BATCH[0] && oldKey[1] === OLD_BATCH[1];
  for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
    const entry = await kv.get<StoredBatchInfo | DeadLetterInfo>(oldKey);
    if (entry.value === null) return "gone";
    const info = entry.value;
    const part = targetPart(info.target);
    // Pending or dead-lettered, the server's copy holds the batch: a key is never both.
    const [newPending, newDead] = await kv.getMany([
      [PENDING, part, info.key],
      [DEAD_LETTER, part, info.key],
    ]);
    const held = newPending.value !== null ? newPending : newDead.value !== null ? newDead : null;
    const op = held === null ? move(entry) : kv.atomic();
    if (held !== null) await removeDuplicate(kv, op, entry, pending, readers);
    op.check(entry).check(newPending).check(newDead);
    if ((await commitKv(op)).ok) {
      if (held === null) readers.add(info.key);
      return held === null ? "moved" : "duplicate";
    }
    await contentionBackoff(attempt);
  }
  log.warn("Outbox: {key} of an older layout was left where it is: the store stayed busy", {
    key: String(oldKey.at(-1)),
  });
  return "left";
}

/**
 * Adds to `op` the removal of a second copy of a batch: the old entry, its index
 * entry and marker, its share of the totals (pending) or of `dead_lettered`,
 * its share of `captured` (each copy was counted when filed), and its body
 * when no entry reads it. Every level it lowers is checked, and clamped at 0.
 */
async function removeDuplicate(
  kv: Deno.Kv,
  op: Deno.AtomicOperation,
  entry: Deno.KvEntry<StoredBatchInfo | DeadLetterInfo>,
  pending: boolean,
  readers: ChunkReaders,
): Promise<void> {
  const info = entry.value;
  const capturedKey = [...COUNTER, "captured"];
  const [totalsEntry, levelEntry, captured, otherOld] = await kv.getMany<
    [Totals, Deno.KvU64, Deno.KvU64, unknown]
  >([
    TOTALS,
    DEAD_LEVEL,
    capturedKey,
    pending ? [...OLD_DEAD, info.key] : [...OLD_BATCH, info.key],
  ]);
  op.check(captured).check(otherOld).delete(entry.key)
    .set(capturedKey, minus(captured.value, info.records));
  if (pending) {
    const totals = totalsEntry.value ?? noTotals();
    op.check(totalsEntry)
      .delete([...OLD_AGE, (info as StoredBatchInfo).storedAtMs, info.key])
      .delete([...OLD_UNDELIVERED, info.key])
      .set(TOTALS, {
        batches: Math.max(0, totals.batches - 1),
        records: Math.max(0, totals.records - info.records),
        bytes: Math.max(0, totals.bytes - info.bodyBytes),
      });
  } else {
    op.check(levelEntry).set(DEAD_LEVEL, minus(levelEntry.value, info.records));
  }
  // The other old entry of the key (checked above) shares the body too.
  if (otherOld.value === null && !await readers.reads(info.key)) {
    for (let i = 0; i < info.chunks; i++) op.delete([OLD_CHUNK, info.key, i]);
  }
}

/** `counter - n`, at least 0, as a KvU64. */
function minus(counter: Deno.KvU64 | null, n: number): Deno.KvU64 {
  const value = (counter?.value ?? 0n) - BigInt(n);
  return new Deno.KvU64(value < 0n ? 0n : value);
}

/**
 * The keys whose old body (`["chunk", key, i]`) an entry of the new layout
 * reads (moved there, by this run or an earlier one). Listed once, on the
 * first duplicate, then kept up to date as this run moves entries.
 */
class ChunkReaders {
  readonly #kv: Deno.Kv;
  #keys: Set<string> | null = null;
  readonly #added = new Set<string>();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Records that an entry moved by this run reads `key`'s old body. */
  add(key: string): void {
    this.#added.add(key);
    this.#keys?.add(key);
  }

  /** Whether some entry of the new layout reads `key`'s old body. */
  async reads(key: string): Promise<boolean> {
    if (this.#keys === null) {
      const keys = new Set(this.#added);
      for (const kind of [PENDING, DEAD_LETTER]) {
        for await (const entry of this.#kv.list<{ bodyKey?: Deno.KvKey }>({ prefix: [kind] })) {
          const bodyKey = entry.value.bodyKey;
          if (bodyKey?.length === 2 && bodyKey[0] === OLD_CHUNK) keys.add(String(bodyKey[1]));
        }
      }
      this.#keys = keys;
    }
    return this.#keys.has(key);
  }
}
