/**
 * One line that says what went wrong with the database and what to check,
 * for logs and for start-up messages: a newcomer with a wrong `DATABASE_URL`
 * gets a sentence, not a driver's stack trace.
 *
 * @module
 */

/** What a database error was, as far as the program can act on it. */
export type DatabaseErrorKind =
  /** The server cannot be reached (refused, unknown host, timeout). */
  | "unreachable"
  /** The connection was lost (the server restarted, the session was ended). */
  | "lost"
  /** The server refused the login or the database (wrong user, password or name). */
  | "rejected"
  /** The server is shutting down, starting up or out of connections; it may come back. */
  | "unavailable"
  /** Anything else: a statement failed. */
  | "statement";

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
]);

/** Codes of a connection that was there and is gone (a restart, a terminated session). */
const LOST_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
]);

/** SQLSTATEs of a server that is there but not serving now (class 57 and 53300). */
const UNAVAILABLE_CODES = new Set(["57P01", "57P02", "57P03", "53300"]);

interface DriverError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The error's code: a SQLSTATE, a postgres.js code or a socket errno name. */
function codeOf(error: unknown): string | null {
  for (let e = error as DriverError | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === "string") return e.code;
    if (typeof e.errno === "string") return e.errno;
    e = e.cause as DriverError | undefined;
  }
  const name = (error as Error | undefined)?.name;
  // Deno's own socket errors are classes (Deno.errors.ConnectionRefused…).
  if (name === "ConnectionRefused") return "ECONNREFUSED";
  if (name === "ConnectionReset") return "ECONNRESET";
  if (name === "TimedOut") return "ETIMEDOUT";
  return null;
}

/**
 * PostgreSQL's words for a database that refuses new connections
 * (`ALLOW_CONNECTIONS false`): SQLSTATE 55000, which statement errors share.
 */
const NOT_ACCEPTING_CONNECTIONS = /is not currently accepting connections/;

/** Sorts a database error by what can be done about it. */
export function databaseErrorKind(error: unknown): DatabaseErrorKind {
  const code = codeOf(error);
  if (code === null) return "statement";
  if (UNREACHABLE_CODES.has(code)) return "unreachable";
  if (LOST_CODES.has(code)) return "lost";
  if (UNAVAILABLE_CODES.has(code)) return "unavailable";
  if (code === "55000" && NOT_ACCEPTING_CONNECTIONS.test(messageOf(error))) return "unavailable";
  if (code === "3D000" || code.startsWith("28")) return "rejected";
  return "statement";
}

/** Where a URL points, without its password: `user@host:port/database`. */
export function describeDatabaseUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    const user = decodeURIComponent(url.username) || "(default user)";
    const host = url.hostname || "localhost";
    const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || user;
    return `${user}@${host}:${url.port || "5432"}/${database}`;
  } catch {
    return "(unparsable URL)";
  }
}

function messageOf(error: unknown): string {
  const message = (error as DriverError | undefined)?.message;
  return typeof message === "string" ? message : String(error);
}

/**
 * One line for a database error, naming the code, the server's own words
 * and, for connection problems, what to check.
 *
 * @example
 * ```ts
 * describeDatabaseError(error, { databaseUrl: "postgres://ta@db:5432/traffic" });
 * // "cannot reach PostgreSQL at ta@db:5432/traffic (ECONNREFUSED): check the host and port in DATABASE_URL and that the server is running"
 * ```
 */
export function describeDatabaseError(
  error: unknown,
  options: { databaseUrl?: string | null } = {},
): string {
  const code = codeOf(error);
  const where = options.databaseUrl ? ` at ${describeDatabaseUrl(options.databaseUrl)}` : "";
  const message = messageOf(error).replace(/\s+/g, " ").trim();
  switch (databaseErrorKind(error)) {
    case "unreachable":
      return `cannot reach PostgreSQL${where} (${code}): ` +
        "check the host and port in DATABASE_URL and that the server is running";
    case "rejected":
      return code === "3D000"
        ? `PostgreSQL${where} has no such database (${message}): ` +
          "check the database name in DATABASE_URL, or create it with createdb"
        : `PostgreSQL${where} refused the login (${code}: ${message}): ` +
          "check the user and password in DATABASE_URL";
    case "lost":
      return `lost the connection to PostgreSQL${where} (${code})`;
    case "unavailable":
      return `PostgreSQL${where} is not serving now (${code}: ${message})`;
    default:
      return code ? `${code}: ${message}` : message;
  }
}
