/**
 * One Deno KV atomic commit that outlasts another process's write: the
 * bundled agent of `deno task start` and a `deno task agent --read` beside it
 * share `DATA_DIR/agent.kv`, and SQLite answers a write that meets the other
 * connection's with "database is locked" at once (no busy wait in WAL mode when
 * the snapshot is stale). The write was not applied, so it is committed again.
 *
 * @module
 */

/** Attempts before a locked store's error is passed on. */
export const MAX_LOCKED_ATTEMPTS = 50;

/** Whether `error` is SQLite's "database is locked" (`SQLITE_BUSY`) from Deno KV. */
export function isKvLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked/i.test(error.message);
}

/**
 * `op.commit()`, committed again after a random wait (growing to 200 ms) while
 * the store is locked by another connection, up to {@link MAX_LOCKED_ATTEMPTS}
 * attempts (about 5 s); any other error, or the last one, is thrown.
 */
export async function commitKv(
  op: Deno.AtomicOperation,
  wait: (attempt: number) => Promise<void> = lockedBackoff,
): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  for (let attempt = 1;; attempt++) {
    try {
      return await op.commit();
    } catch (error) {
      if (!isKvLocked(error) || attempt >= MAX_LOCKED_ATTEMPTS) throw error;
      await wait(attempt);
    }
  }
}

function lockedBackoff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(200, 2 ** Math.min(attempt, 8));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}
