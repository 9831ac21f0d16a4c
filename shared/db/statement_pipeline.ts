/**
 * Statements sent one after another on a transaction's connection without
 * waiting for each answer (postgres.js pipelines what is sent before the
 * answers come): the rows of the next statement are encoded while
 * PostgreSQL runs the one before, and no statement waits a round trip.
 *
 * @module
 */

/**
 * Sends statements at once and waits for them together. The first failure
 * is reported by {@link StatementPipeline.drain}: the transaction is aborted
 * then, and the statements sent after it fail with it.
 *
 * @example
 * ```ts ignore
 * const pipeline = new StatementPipeline();
 * for (const part of parts) pipeline.send(tx`insert into t select * from unnest(${part}::int8[])`);
 * await pipeline.drain();
 * ```
 */
export class StatementPipeline {
  readonly #sent: Promise<unknown>[] = [];

  /** Sends `query` now (postgres.js sends a query when first awaited otherwise). */
  send(query: { execute(): Promise<unknown> }): void {
    const sent = query.execute();
    // Awaited in drain(); until then a failure must not count as unhandled.
    sent.catch(() => {});
    this.#sent.push(sent);
  }

  /** Waits for every statement sent so far, in the order sent; throws the first failure. */
  async drain(): Promise<void> {
    for (const sent of this.#sent.splice(0)) await sent;
  }
}
