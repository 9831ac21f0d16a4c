/**
 * Tells a database that cannot be reached (answered 503 with `Retry-After`,
 * so clients retry) from a query that failed (a 500, a bug).
 *
 * @module
 */
import { databaseErrorKind } from "@traffic-analyzer/shared/db";

/** Error codes of postgres.js, Node/Deno sockets and PostgreSQL that mean "not reachable now". */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ENOENT", // PGlite's Unix socket gone
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
  "08000", // connection_exception
  "08001", // sqlclient_unable_to_establish_sqlconnection
  "08003", // connection_does_not_exist
  "08006", // connection_failure
  // The server is up but refuses this login now: the database was dropped or
  // renamed, the role or its password changed. Not a bug of the request: the
  // client should retry once an administrator has put it right.
  "3D000", // invalid_catalog_name
  "28000", // invalid_authorization_specification
  "28P01", // invalid_password
]);

/** Deno's own error classes for the same cases, when no code is set. */
const UNAVAILABLE_NAMES = new Set([
  "ConnectionRefused",
  "ConnectionReset",
  "ConnectionAborted",
  "NotConnected",
  "TimedOut",
  "BrokenPipe",
  "HostUnreachable",
  "NetworkUnreachable",
]);

/**
 * True when `error`, or an error it wraps (`cause`, or an `AggregateError`'s
 * `errors`, as a connection to a name with several addresses gives), says the
 * database could not be reached.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 5) return false;
  const { code, name, cause, errors } = error as {
    code?: unknown;
    name?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return true;
  // 55000 is shared by statement errors; databaseErrorKind() tells the refusal
  // of new connections (ALLOW_CONNECTIONS false) by its message.
  if (code === "55000" && databaseErrorKind(error) === "unavailable") return true;
  if (typeof name === "string" && UNAVAILABLE_NAMES.has(name)) return true;
  if (Array.isArray(errors) && errors.some((e) => isDatabaseUnavailable(e, depth + 1))) {
    return true;
  }
  return isDatabaseUnavailable(cause, depth + 1);
}
