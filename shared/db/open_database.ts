/**
 * Opens the project's storage: PostgreSQL through postgres.js when a URL is
 * given, else embedded PGlite. PGlite is served over its PostgreSQL wire
 * protocol on a private Unix socket and reached with the same postgres.js
 * client, so every query in the project is one postgres.js tagged template
 * that runs unchanged on both backends.
 *
 * @module
 */
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { describeDatabaseError } from "./describe_database_error.ts";

/** The postgres.js handle every store function takes. */
export type Sql = postgres.Sql<Record<string, never>>;

/** An open database: the `sql` handle, which backend it is, and how to close it. */
export interface Database {
  /** postgres.js tagged-template client. */
  sql: Sql;
  /** `postgres` for a server, `pglite` for the embedded database. */
  kind: "postgres" | "pglite";
  /**
   * The embedded PGlite instance, for the few things its wire-protocol server
   * cannot carry (COPY FROM STDIN); null on PostgreSQL.
   */
  pglite: PGlite | null;
  /** Ends the pool (and stops PGlite). Safe to call twice. */
  close(): Promise<void>;
}

const embedded = new WeakMap<Sql, PGlite>();

/**
 * The embedded PGlite instance behind a handle `openDatabase` returned, or
 * null on PostgreSQL. Store functions that need PGlite's own API (COPY from a
 * blob, which its socket server cannot carry) find it here from the `sql`
 * they are given, so their callers pass one handle whatever the backend.
 */
export function embeddedPglite(sql: Sql): PGlite | null {
  return embedded.get(sql) ?? null;
}

/** Raised when the database cannot be opened; carries the driver's error. */
export class DatabaseOpenError extends Error {
  /** Creates the error; `cause` is the error underneath, when there is one. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "DatabaseOpenError";
  }
}

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** PostgreSQL URL; null or absent selects PGlite. */
  databaseUrl?: string | null;
  /**
   * PGlite data folder; null keeps PGlite in memory (tests).
   * @default null
   */
  pgliteDir?: string | null;
  /**
   * A PGlite data folder as `PGlite.dumpDataDir()` wrote it, to start the
   * embedded database from instead of an empty one. Tests start from a
   * migrated copy this way: loading one costs about a third of the CPU of
   * creating a database and migrating it.
   * @default null
   */
  pgliteDataDirDump?: Blob | null;
  /**
   * Server settings for the embedded database (`-c name=value` at its start,
   * after PGlite's own). Tests start with small shared buffers this way:
   * PGlite sets up the whole pool at every start.
   * @default {}
   */
  pgliteSettings?: Record<string, string>;
  /**
   * Extra `initdb` arguments, used when PGlite creates a new data folder
   * (no `pgliteDataDirDump` and none on disk yet).
   * @default []
   */
  pgliteInitDbArgs?: string[];
  /** Connections in the PostgreSQL pool. @default 10 */
  poolSize?: number;
  /** Schema to use (search_path); tests isolate themselves with it. @default "public" */
  schema?: string;
  /** Shown in pg_stat_activity. @default "traffic-analyzer" */
  applicationName?: string;
  /**
   * On PostgreSQL, ask one query at once, so that a wrong host, port, user
   * or database fails here with a one-line {@link DatabaseOpenError} (what
   * programs want at start-up). Otherwise the pool connects on first use.
   * @default false
   */
  verify?: boolean;
}

// bigint (int8) comes back as a JS number: row ids, counters and byte totals
// stay far below 2^53, and numbers serialise to JSON as numbers.
const INT8_AS_NUMBER = {
  to: 20,
  from: [20],
  serialize: (x: number | bigint) => String(x),
  parse: (x: string) => Number(x),
};

function clientOptions(options: OpenDatabaseOptions) {
  return {
    onnotice: () => {},
    types: { bigint: INT8_AS_NUMBER },
    connection: {
      application_name: options.applicationName ?? "traffic-analyzer",
      search_path: options.schema ?? "public",
      TimeZone: "UTC",
    },
  } as const;
}

// Unix socket paths are limited to about 107 bytes; keep the socket beside the
// data when the path fits (so tasks need write access to DATA_DIR only), else
// in the system temp folder.
async function makeSocketDir(pgliteDir: string | null): Promise<string> {
  if (pgliteDir) {
    const base = `${await Deno.realPath(pgliteDir)}/../run`;
    if (base.length < 70) {
      await Deno.mkdir(base, { recursive: true });
      return await Deno.makeTempDir({ dir: base, prefix: "pglite-" });
    }
  }
  return await Deno.makeTempDir({ prefix: "ta-pglite-" });
}

/**
 * Takes an exclusive lock on a PGlite data folder (a `<folder>.lock` file
 * beside it, holding the owner's pid), so that a second process on the same
 * DATA_DIR is refused instead of corrupting the database: PGlite belongs to
 * one process. The kernel releases the lock when the process dies.
 */
async function lockDataFolder(dir: string): Promise<Deno.FsFile> {
  const path = `${dir.replace(/\/+$/, "")}.lock`;
  const file = await Deno.open(path, { read: true, write: true, create: true });
  if (!await file.tryLock(true)) {
    file.close();
    const owner = (await Deno.readTextFile(path).catch(() => "")).trim();
    throw new DatabaseOpenError(
      `the embedded database in ${dir} is in use by another process` +
        `${/^\d+$/.test(owner) ? ` (pid ${owner})` : ""}: stop it first, ` +
        "or give this one another DATA_DIR",
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  return file;
}

/** Longest wait before a pool connection tries PostgreSQL again after a failed attempt. */
export const MAX_RECONNECT_DELAY_SEC = 1;

/**
 * Seconds a pool connection waits after its `retries`-th failed attempt
 * before the next. postgres.js's own backoff grows to 20 s, and queries wait
 * for it: with the database down, a page or an ingest took up to 20 s to
 * answer its 503, and after PostgreSQL came back the server stayed away that
 * long. Capped at {@link MAX_RECONNECT_DELAY_SEC}, with jitter so a pool's
 * connections do not try in step.
 */
export function reconnectDelaySec(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, MAX_RECONNECT_DELAY_SEC);
}

/**
 * Opens PostgreSQL or PGlite and returns a postgres.js handle to it.
 * Does not run migrations: call `migrate(db.sql)` next.
 *
 * With `verify`, PostgreSQL is asked one query at once, so a wrong host,
 * port, user or database fails here with a {@link DatabaseOpenError} whose
 * message says in one line what failed and what to check. A PGlite folder
 * already open in another process is refused the same way.
 */
export async function openDatabase(
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  if (options.databaseUrl) {
    const sql = postgres(options.databaseUrl, {
      ...clientOptions(options),
      max: options.poolSize ?? 10,
      connect_timeout: 10,
      backoff: reconnectDelaySec,
    }) as unknown as Sql;
    try {
      if (options.verify) await sql`select 1`;
    } catch (cause) {
      await sql.end({ timeout: 0 }).catch(() => {});
      throw new DatabaseOpenError(
        describeDatabaseError(cause, { databaseUrl: options.databaseUrl }),
        { cause },
      );
    }
    let closed = false;
    return {
      sql,
      kind: "postgres",
      pglite: null,
      close: async () => {
        if (closed) return;
        closed = true;
        await sql.end({ timeout: 5 });
      },
    };
  }

  const dir = options.pgliteDir ?? null;
  let pglite: PGlite;
  let lock: Deno.FsFile | null = null;
  try {
    if (dir) {
      await Deno.mkdir(dir, { recursive: true });
      lock = await lockDataFolder(dir);
    }
    const settings = Object.entries(options.pgliteSettings ?? {});
    pglite = await PGlite.create(dir ?? "memory://", {
      ...(options.pgliteDataDirDump ? { loadDataDir: options.pgliteDataDirDump } : {}),
      ...(settings.length > 0
        ? {
          startParams: [
            ...PGlite.defaultStartParams,
            ...settings.flatMap(([name, value]) => ["-c", `${name}=${value}`]),
          ],
        }
        : {}),
      ...(options.pgliteInitDbArgs?.length ? { initDbStartParams: options.pgliteInitDbArgs } : {}),
    });
  } catch (cause) {
    lock?.close();
    if (cause instanceof DatabaseOpenError) throw cause;
    throw new DatabaseOpenError(
      `Cannot open the embedded PGlite database in ${dir ?? "memory"}: ${cause}`,
      { cause },
    );
  }
  // A Unix socket keeps the embedded database private to this machine's user;
  // PGlite is single-session, so one connection carries every query in order.
  const socketDir = await makeSocketDir(dir);
  const socketPath = `${socketDir}/.s.PGSQL.5432`;
  const server = new PGLiteSocketServer({
    db: pglite,
    path: socketPath,
    maxConnections: 1,
  });
  await server.start();
  const sql = postgres({
    ...clientOptions(options),
    path: socketPath,
    max: 1,
    user: "postgres",
    database: "postgres",
  }) as unknown as Sql;
  embedded.set(sql, pglite);
  let closed = false;
  return {
    sql,
    kind: "pglite",
    pglite,
    close: async () => {
      if (closed) return;
      closed = true;
      await sql.end({ timeout: 5 });
      await server.stop();
      await pglite.close();
      lock?.close();
      await Deno.remove(socketDir, { recursive: true }).catch(() => {});
    },
  };
}
