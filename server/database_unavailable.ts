/**
 * Tells a database that cannot be reached (answered 503 with `Retry-After`,
 * so clients retry) from a query that failed (a 500, a bug).
 *
 * @module
 */
import { databaseErrorKind } from "@traffic-analyzer/shared/db";

/**
 * True when `error`, or an error it wraps (`cause`, or an `AggregateError`'s
 * `errors`), says the database is not serving this client now: unreachable,
 * the connection lost, shutting down or full, or refusing the login or the
 * database (dropped, renamed, a password changed). None of those is a bug of
 * the request; the client should retry once the database is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return databaseErrorKind(error) !== "statement";
}
