/**
 * The ingest lock, which orders ingest commits against the aggregator's
 * watermark: ingest transactions hold it shared, and
 * {@link readIngestHorizon} takes it exclusively for an instant to learn the
 * highest batch id below which every batch has committed. Also the bound on
 * how long a transaction holding it may sit idle.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";

/**
 * How long a transaction that holds the ingest lock may sit idle (between
 * statements) before PostgreSQL ends its session, releasing the lock. Those
 * transactions send their statements back to back; one idle this long has
 * lost its client. That happens: after a PostgreSQL restart during ingest,
 * postgres.js can give up on a transaction as "connection closed" while its
 * new session stays open, idle in transaction with the lock held shared
 * (seen in fault step 4 under load). The aggregator's exclusive request then
 * waits for it, every later ingest queues behind that request, and without
 * this bound the server answered nothing until it was restarted.
 */
export const INGEST_LOCK_IDLE_LIMIT_MS = 30_000;

/**
 * The idle limit as a literal for `set_config`: at least 1 ms (0 would turn
 * the limit off). Written into the statement as digits, not sent as a
 * parameter: that is how fault step 4 passed. The hang that made it so (a
 * parameterized first statement left active on ClientRead after a restart)
 * turned out to be postgres.js's, a lost session's queued statement, since
 * patched in vendor/postgres (shared/db/socket_reset_test.ts); a parameter
 * would do now, but only the fault suite can show that.
 */
function idleLimitLiteral(tx: Sql, limitMs: number) {
  if (!Number.isFinite(limitMs)) throw new RangeError(`idle limit ${limitMs} ms is not finite`);
  return tx.unsafe(`'${Math.max(1, Math.trunc(limitMs))}ms'`);
}

/**
 * Bounds the idle time of the transaction `tx` (see
 * {@link INGEST_LOCK_IDLE_LIMIT_MS}): call it first in a transaction that
 * takes the ingest lock.
 */
export async function limitIdleInTransaction(
  tx: Sql,
  limitMs: number = INGEST_LOCK_IDLE_LIMIT_MS,
): Promise<void> {
  const limit = idleLimitLiteral(tx, limitMs);
  await tx`select set_config('idle_in_transaction_session_timeout', ${limit}, true)`;
}

/**
 * Advisory-lock key that orders ingest commits against the aggregator. Ingest
 * transactions hold it shared; {@link readIngestHorizon} takes it exclusively
 * for an instant. Scoped by schema, since advisory locks are per database.
 */
const INGEST_LOCK_KEY = "hashtext('traffic_analyzer_ingest:' || current_schema())";

/**
 * {@link limitIdleInTransaction} and the ingest lock, held shared until
 * commit, in one statement, so one round trip: what an ingest transaction
 * does first. The limit is set before the lock is asked for (the select list
 * is evaluated left to right), and neither lasts past the transaction.
 */
export async function limitIdleAndHoldIngestLockShared(
  tx: Sql,
  limitMs: number = INGEST_LOCK_IDLE_LIMIT_MS,
): Promise<void> {
  const limit = idleLimitLiteral(tx, limitMs);
  await tx`select set_config('idle_in_transaction_session_timeout', ${limit}, true),
    pg_advisory_xact_lock_shared(${tx.unsafe(INGEST_LOCK_KEY)})`;
}

/**
 * The highest batch id below which every batch has committed. It waits for
 * the ingest transactions in flight to finish (they hold the lock shared),
 * then reads the newest id in a transaction of its own, so ingest is held up
 * only for that instant. Any batch that commits later gets a higher id (its
 * id is drawn after it takes the lock), so a watermark at or below the
 * horizon never skips a batch that commits late. (A plain `id > watermark`
 * scan would: ids are drawn at insert, not at commit.)
 */
export async function readIngestHorizon(sql: Sql): Promise<number> {
  return await sql.begin(async (tx) => {
    await limitIdleInTransaction(tx as unknown as Sql);
    await tx`select pg_advisory_xact_lock(${tx.unsafe(INGEST_LOCK_KEY)})`;
    const [row]: [{ id: number }] =
      await tx`select coalesce(max(id), 0)::int8 as id from ingest_batches`;
    return row.id;
  }) as number;
}
