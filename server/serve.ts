/**
 * Runs the server: opens storage, migrates, builds the app and listens,
 * over HTTPS when a certificate is configured. `main.ts` and the all-in-one
 * `start.ts` both call this.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { closeLogging, type Config, LOG_ROOT } from "@traffic-analyzer/shared";
import {
  type Database,
  DatabaseOpenError,
  migrate,
  openDatabase,
} from "@traffic-analyzer/shared/db";
import { createApp } from "./app.ts";
import { resolveIngestTokens } from "./ingest_tokens.ts";
import { openReadsWarning } from "./open_reads_warning.ts";

/** A running server. */
export interface RunningServer {
  /** The URL of the web page. */
  url: string;
  /** The open database (shared with an in-process aggregator). */
  db: Database;
  /** Stops listening and closes the database. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** Raised when the server cannot start listening; the message is one line for the user. */
export class ServerStartError extends Error {
  /** Creates the error; `cause` is the error underneath, when there is one. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "ServerStartError";
  }
}

/** Options for {@link runServer}. */
export interface RunServerOptions {
  /** An already open database; when absent one is opened from `config`. */
  db?: Database;
}

const log = getLogger([LOG_ROOT, "server"]);

/**
 * {@linkcode runServer} for a command's entry point (`serve`, `start`): when
 * the database cannot open or the port cannot be bound, prints
 * `<command>: <message>`, closes the logging and exits 1; any other error is
 * thrown.
 */
export async function runServerOrExit(config: Config, command: string): Promise<RunningServer> {
  try {
    return await runServer(config);
  } catch (error) {
    if (error instanceof DatabaseOpenError || error instanceof ServerStartError) {
      console.error(`${command}: ${error.message}`);
      await closeLogging();
      Deno.exit(1);
    }
    throw error;
  }
}

/** Starts the server from validated configuration. */
export async function runServer(
  config: Config,
  options: RunServerOptions = {},
): Promise<RunningServer> {
  // Before the database: on a first start creating it takes 10 to 20 s, and a
  // taken port should not be the news at the end of that wait.
  if (config.port !== 0) {
    try {
      Deno.listen({ hostname: config.host, port: config.port }).close();
    } catch (cause) {
      throw listenError(config, cause);
    }
  }
  // Before the database too: a missing certificate is a one-line mistake.
  const tls = await readTls(config);
  const pgliteDir = `${config.dataDir}/pglite`;
  if (!options.db && config.databaseUrl === null) {
    // The first start creates the database (PGlite's initdb) and applies
    // every migration: 10 to 20 s in which nothing else would be printed.
    const exists = await Deno.stat(`${pgliteDir}/PG_VERSION`).then(() => true, () => false);
    log.info(
      exists
        ? "Opening the embedded database in {dir}…"
        : "Creating the embedded database in {dir} (first start only; this takes 10 to 20 s)…",
      { dir: pgliteDir },
    );
  }
  const db = options.db ?? await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir,
    poolSize: config.dbPoolSize,
    applicationName: "traffic-analyzer-server",
    verify: true,
  });
  try {
    return await migrateAndListen(config, db, options, tls);
  } catch (error) {
    if (!options.db) await db.close();
    throw error;
  }
}

/** The PEM certificate and key of `TLS_CERT`/`TLS_KEY`, read now; `{}` without them. */
async function readTls(config: Config): Promise<{ cert?: string; key?: string }> {
  if (config.tlsCert === null || config.tlsKey === null) return {};
  return {
    cert: await readTlsFile("TLS_CERT (or --tls-cert)", config.tlsCert),
    key: await readTlsFile("TLS_KEY (or --tls-key)", config.tlsKey),
  };
}

async function readTlsFile(setting: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (cause) {
    const why = cause instanceof Deno.errors.NotFound
      ? "no such file"
      : cause instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (cause as Error).message;
    throw new ServerStartError(`cannot read ${setting} file ${JSON.stringify(path)}: ${why}`, {
      cause,
    });
  }
}

/** What a failed listen means for the user, in one line, or `cause` itself when it is news. */
function listenError(config: Config, cause: unknown): unknown {
  if (cause instanceof Deno.errors.AddrInUse) {
    return new ServerStartError(
      `cannot listen on ${config.host}:${config.port}: the port is in use by another ` +
        "program; set PORT (or --port) to a free port, or to 0 to pick one",
      { cause },
    );
  }
  if (cause instanceof Deno.errors.AddrNotAvailable) {
    return new ServerStartError(
      `cannot listen on ${config.host}:${config.port}: this machine has no such address; ` +
        "check HOST (or --host)",
      { cause },
    );
  }
  if (config.tlsCert !== null && cause instanceof Deno.errors.InvalidData) {
    // Deno.serve() parses the PEM files: a bad one throws InvalidData here.
    return new ServerStartError(
      `cannot use TLS_CERT ${JSON.stringify(config.tlsCert)} and TLS_KEY ` +
        `${JSON.stringify(config.tlsKey)}: ${cause.message}; check that they are a PEM ` +
        "certificate and its private key",
      { cause },
    );
  }
  return cause;
}

async function migrateAndListen(
  config: Config,
  db: Database,
  options: RunServerOptions,
  tls: { cert?: string; key?: string },
): Promise<RunningServer> {
  const { applied, version } = await migrate(db.sql);
  log.info(
    "Database {backend} at schema version {version} (applied now: {applied})",
    {
      backend: db.kind,
      version,
      applied: applied.length ? applied.join(", ") : "none",
    },
  );
  const { tokens, generatedFile } = await resolveIngestTokens({
    configured: config.ingestTokens,
    dataDir: config.dataDir,
  });
  if (generatedFile) {
    log.info(
      "No INGEST_TOKENS set: agents authenticate with the token in {file}",
      {
        file: generatedFile,
      },
    );
  }
  const app = createApp({
    sql: db.sql,
    backend: db.kind,
    ingestTokens: tokens,
    limits: {
      maxBodyBytes: config.maxBodyBytes,
      maxDecompressedBytes: config.maxDecompressedBytes,
      maxBatchRecords: config.maxBatchRecords,
    },
    maxHeavyReads: config.maxHeavyReads,
    pcapExportMaxPackets: config.pcapExportMaxPackets,
    aggregateIntervalMs: config.aggregateIntervalMs,
    readToken: config.readToken,
    secureCookie: config.tlsCert !== null,
  });

  const abort = new AbortController();
  let resolveListening: (addr: Deno.NetAddr) => void;
  const listening = new Promise<Deno.NetAddr>((r) => resolveListening = r);
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      signal: abort.signal,
      ...tls,
      onListen: (addr) => resolveListening(addr as Deno.NetAddr),
    }, app.fetch);
  } catch (cause) {
    throw listenError(config, cause);
  }
  const addr = await listening;
  const scheme = config.tlsCert ? "https" : "http";
  const shownHost = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `${scheme}://${shownHost === "0.0.0.0" ? "127.0.0.1" : shownHost}:${addr.port}/`;
  log.info("Traffic Analyzer server listening on {url}", { url });
  const exposure = openReadsWarning(config.host, config.readToken);
  if (exposure) log.warn(exposure);

  let stopped = false;
  return {
    url,
    db,
    finished: server.finished,
    async shutdown() {
      if (stopped) return;
      stopped = true;
      abort.abort();
      await server.finished;
      if (!options.db) await db.close();
    },
  };
}
