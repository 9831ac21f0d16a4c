/**
 * What one delivery did in this process, for the agent's summary line. The
 * persisted counters (`agent_counters.ts`) span every run; this tally spans
 * one.
 *
 * @module
 */

/** Where a fresh batch (or part) went. */
export type FiledAs = "sent" | "stored" | "dropped" | "dead_lettered" | "already_filed";

/** A count of batches and the records in them. */
export interface BatchCount {
  /** Batches (or parts, after a split). */
  batches: number;
  /** Records in them. */
  records: number;
}

/** The kinds {@link DeliveryTally} counts. */
export type TallyKind = FiledAs | "replayed" | "unfiled";

/**
 * Batches and records by what became of them in this run:
 * - `sent`: acknowledged directly; `replayed`: sent from the outbox;
 * - `stored`: put in the outbox; `dropped`: larger than the whole outbox cap;
 * - `dead_lettered`: refused for good;
 * - `already_filed`: a file's batch filed by an earlier run (read again after
 *   a crash), neither sent nor counted again;
 * - `unfiled`: a stop ended the wait for room in the full outbox (a file
 *   read resumes there).
 */
export class DeliveryTally {
  readonly #counts = new Map<TallyKind, BatchCount>();
  #refusal: string | null = null;
  #failure: string | null = null;

  /** Adds `batches` batches holding `records` records to `kind`. */
  add(kind: TallyKind, batches: number, records: number): void {
    const count = this.#counts.get(kind) ?? { batches: 0, records: 0 };
    count.batches += batches;
    count.records += records;
    this.#counts.set(kind, count);
  }

  /** Notes that the server refused the token (or there was none), with its reason. */
  refused(reason: string): void {
    this.#refusal = reason;
  }

  /** The last reason the token was refused, or null. */
  get refusal(): string | null {
    return this.#refusal;
  }

  /** Notes why the server failed (unreachable, 5xx, …). */
  failed(reason: string): void {
    this.#failure = reason;
  }

  /** The last reason the server failed, or null. */
  get failure(): string | null {
    return this.#failure;
  }

  /** The count of `kind`. */
  get(kind: TallyKind): BatchCount {
    const count = this.#counts.get(kind);
    return count === undefined ? { batches: 0, records: 0 } : { ...count };
  }
}
