/**
 * The agent's counters: what they count, and the invariant that ties them.
 *
 * Every record the agent takes into a batch ends up in exactly one place: the
 * server, the outbox, the dropped or the dead letters. Each counter changes in
 * the same Deno KV atomic write that puts a batch in its place, so
 *
 *     captured = sent + stored + dropped + dead_lettered
 *
 * holds in every committed state of the store, whatever happens between two
 * writes (a crash, a kill -9). Records in memory (a batch being uploaded or
 * waiting for an upload slot) are in none of them yet: a batch counts as
 * captured when it is filed, once.
 *
 * @module
 */

/** Names of the counters, in the order `--status` prints them (all count packet records). */
export const COUNTER_NAMES = [
  "captured",
  "kernel_dropped",
  "sent",
  "stored",
  "replayed",
  "dropped",
  "dead_lettered",
] as const;

/** One of {@link COUNTER_NAMES}. */
export type CounterName = typeof COUNTER_NAMES[number];

/**
 * The agent's counters, in packet records, since its KV store was created:
 * - `captured`: records filed for the first time (sent, stored, dropped or
 *   dead-lettered). A record read again after a crash is counted once: a file
 *   batch already filed is recognised by its key.
 * - `kernel_dropped`: lost in the kernel before capture (pcap stats); outside
 *   the invariant, since these never reach the agent.
 * - `sent`: acknowledged by the server (201 stored, or 200 already held),
 *   directly or replayed from the outbox.
 * - `stored`: in the outbox now (a level, not a total: a replay moves its
 *   records from `stored` to `sent`).
 * - `replayed`: the part of `sent` that went through the outbox.
 * - `dropped`: evicted from the full outbox (OUTBOX_MAX_BYTES, live capture),
 *   or larger than the whole cap.
 * - `dead_lettered`: held as dead letters now (refused for good by the
 *   server); `deno task replay --dead-letters` moves them back to `stored`.
 */
export type AgentCounters = Record<CounterName, number>;

/** Counters that only grow, kept as `Deno.KvU64` sums under `["counters", name]`. */
export const TOTAL_COUNTER_NAMES = [
  "captured",
  "kernel_dropped",
  "sent",
  "replayed",
  "dropped",
] as const;

/** One of {@link TOTAL_COUNTER_NAMES}. */
export type TotalCounterName = typeof TOTAL_COUNTER_NAMES[number];

/** All counters at zero. */
export function emptyCounters(): AgentCounters {
  return Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as AgentCounters;
}

/**
 * The records the invariant leaves unexplained: zero when
 * `captured = sent + stored + dropped + dead_lettered`.
 */
export function unaccountedRecords(counters: AgentCounters): number {
  return counters.captured - counters.sent - counters.stored - counters.dropped -
    counters.dead_lettered;
}
