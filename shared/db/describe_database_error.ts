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

/** What each code says: SQLSTATEs, postgres.js codes and socket errno names. */
const KIND_OF_CODE = new Map<string, DatabaseErrorKind>([
  ...[
    "ECONNREFUSED",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "EHOSTDOWN",
    "ETIMEDOUT",
    "CONNECT_TIMEOUT",
    "08001", // sqlclient_unable_to_establish_sqlconnection
  ].map((code) => [code, "unreachable"] as const),
  // A connection that was there and is gone (a restart, a terminated session).
  ...[
    "ECONNRESET",
    "ECONNABORTED",
    "ENOTCONN",
    "EPIPE",
    "CONNECTION_CLOSED",
    "CONNECTION_DESTROYED",
    "CONNECTION_ENDED",
    "08000", // connection_exception
    "08003", // connection_does_not_exist
    "08006", // connection_failure
  ].map((code) => [code, "lost"] as const),
  // A server that is there but not serving now (class 57 and too_many_connections).
  ...["57P01", "57P02", "57P03", "53300"].map((code) => [code, "unavailable"] as const),
]);

/** Deno's own socket errors are classes (Deno.errors.ConnectionRefused…) without a code. */
const CODE_OF_DENO_ERROR = new Map([
  ["ConnectionRefused", "ECONNREFUSED"],
  ["ConnectionReset", "ECONNRESET"],
  ["ConnectionAborted", "ECONNABORTED"],
  ["NotConnected", "ENOTCONN"],
  ["TimedOut", "ETIMEDOUT"],
  ["BrokenPipe", "EPIPE"],
  ["HostUnreachable", "EHOSTUNREACH"],
  ["NetworkUnreachable", "ENETUNREACH"],
]);

interface DriverError {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** One error's own code (not its cause's): a SQLSTATE, a postgres.js code or a socket errno name. */
function ownCode(error: DriverError): string | null {
  if (typeof error.code === "string") return error.code;
  if (typeof error.errno === "string") return error.errno;
  return typeof error.name === "string" ? CODE_OF_DENO_ERROR.get(error.name) ?? null : null;
}

/** The first code in the error or its causes, for a statement's message. */
function codeOf(error: unknown): string | null {
  for (let e = error as DriverError | undefined, depth = 0; e && depth < 4; depth++) {
    const code = ownCode(e);
    if (code !== null) return code;
    e = e.cause as DriverError | undefined;
  }
  return null;
}

/**
 * PostgreSQL's words for a database that refuses new connections
 * (`ALLOW_CONNECTIONS false`): SQLSTATE 55000, which statement errors share.
 */
const NOT_ACCEPTING_CONNECTIONS = /is not currently accepting connections/;

/** What one error, without its causes, says. */
function ownKind(error: DriverError, code: string): DatabaseErrorKind {
  const kind = KIND_OF_CODE.get(code);
  if (kind !== undefined) return kind;
  if (code === "55000" && NOT_ACCEPTING_CONNECTIONS.test(messageOf(error))) return "unavailable";
  if (code === "3D000" || code.startsWith("28")) return "rejected";
  // A Unix socket path with nothing listening (PGlite's socket gone, a local
  // server stopped); ENOENT from anything but a connect is a missing file.
  if (code === "ENOENT" && error.syscall === "connect") return "unreachable";
  return "statement";
}

/** A connection problem found in an error tree: its kind, and the error that told it. */
interface ConnectionProblem {
  kind: Exclude<DatabaseErrorKind, "statement">;
  code: string;
  error: DriverError;
}

/**
 * The first connection problem in `error` or what it wraps: its `cause`
 * chain, and an `AggregateError`'s `errors` (a connection to a name with
 * several addresses fails with one per address).
 */
function findConnectionProblem(error: unknown, depth = 0): ConnectionProblem | null {
  if (typeof error !== "object" || error === null || depth > 5) return null;
  const node = error as DriverError;
  const code = ownCode(node);
  if (code !== null) {
    const kind = ownKind(node, code);
    if (kind !== "statement") return { kind, code, error: node };
  }
  if (Array.isArray(node.errors)) {
    for (const inner of node.errors) {
      const found = findConnectionProblem(inner, depth + 1);
      if (found !== null) return found;
    }
  }
  return findConnectionProblem(node.cause, depth + 1);
}

/**
 * Sorts a database error by what can be done about it. Everything but
 * `"statement"` means the database is not serving this client now; the
 * server answers those 503 with `Retry-After`.
 */
export function databaseErrorKind(error: unknown): DatabaseErrorKind {
  return findConnectionProblem(error)?.kind ?? "statement";
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
  const where = options.databaseUrl ? ` at ${describeDatabaseUrl(options.databaseUrl)}` : "";
  const problem = findConnectionProblem(error);
  const code = problem?.code ?? codeOf(error);
  const message = messageOf(problem?.error ?? error).replace(/\s+/g, " ").trim();
  switch (problem?.kind) {
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
