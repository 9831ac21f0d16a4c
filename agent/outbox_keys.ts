/**
 * Where the agent's KV store keeps what belongs to one server. Everything
 * made for an ingest URL (its pending batches, their bodies, their lost
 * queue messages, its dead letters, and the progress of files read into it)
 * lies under keys whose second part is that URL: `[kind, target, …]`. A
 * reader lists or loads only under its own target, so the key prefix alone
 * decides which server a batch goes to; nothing else compares targets.
 *
 * Layout (the outbox's parts in `outbox.ts`, a file read's in
 * `file_read_session.ts`):
 * - `["pending", target, key]`: a pending batch's metadata
 * - `["pending_lost", target, key]`: where KV leaves a queue message it gave up on
 * - `["dead_letter", target, key]`: a dead letter's metadata
 * - `["body", target, key, i]`: the gzip body in chunks (pending batch or dead letter)
 * - `["progress", target, agentId, fileId]`: a file read's progress into `target`
 * - `["filed", target, agentId, fileId, firstIndex, key]`: a filed batch of that read
 * - `["outbox", "by_age", createdAtMs, target, key]`: every pending batch, oldest
 *   made first, whatever its target (`OUTBOX_MAX_BYTES` caps the whole store)
 * - `["outbox", "totals"]`, `["counters", name]`: the whole store's totals and counters
 *
 * `target` is the ingest URL as the uploader sends to it, or
 * {@link UNTARGETED} for batches an agent older than targets stored without
 * recording one. Stores written before this layout are moved into it when
 * they are opened (`outbox_migration.ts`).
 *
 * @module
 */

/**
 * The target part of keys for batches whose server is unknown (stored by an
 * agent older than targets). An ingest URL is never empty, so it cannot clash.
 */
export const UNTARGETED = "";

/** Key kinds that hold one target's entries under `[kind, target]`. */
export const PENDING = "pending";
/** See {@link PENDING}. */
export const PENDING_LOST = "pending_lost";
/** See {@link PENDING}. */
export const DEAD_LETTER = "dead_letter";
/** See {@link PENDING}. */
export const BODY = "body";
/** See {@link PENDING}. */
export const PROGRESS = "progress";
/** See {@link PENDING}. */
export const FILED = "filed";

/** The whole store's index of pending batches, oldest first: `[...BY_AGE, createdAtMs, target, key]`. */
export const BY_AGE = ["outbox", "by_age"] as const;

/**
 * A pending batch's entry in the {@link BY_AGE} index. Batches are ordered by
 * when they were made, not stored: uploads that fail together store their
 * batches in any order, and live capture stores the oldest waiting batch when
 * the upload slots are full, so store order is not capture order, and the cap
 * is to drop the oldest captured packets.
 */
export function ageKey(
  info: { createdAtMs: number; key: string },
  target: string,
): Deno.KvKey {
  return [...BY_AGE, info.createdAtMs, target, info.key];
}

/** The key part for a target: the ingest URL, or {@link UNTARGETED} for null. */
export function targetPart(target: string | null | undefined): string {
  return target ?? UNTARGETED;
}

/** The target a key part names: null for {@link UNTARGETED}. */
export function targetOfPart(part: Deno.KvKeyPart): string | null {
  return part === UNTARGETED ? null : String(part);
}

/**
 * The ingest URL as the uploader sends to it (`new URL(SERVER_URL).href`),
 * so that two spellings of one URL name one target.
 */
export function ingestTarget(serverUrl: string): string {
  return new URL(serverUrl).href;
}
