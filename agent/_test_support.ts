/**
 * Test support for the agent's tests: the real server as a subprocess (the
 * agent may not import `server/`), a way to read back what it stored, and a
 * runner for the agent's own programs. Private to this folder.
 *
 * @module
 */
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import { openDatabase } from "@traffic-analyzer/shared/db";

/** The repository root, where `deno.json` (with `unstable: kv`) is. */
export const ROOT = new URL("../", import.meta.url).pathname;

/** A database for a server subprocess: a fresh PostgreSQL schema when DATABASE_URL is set, else PGlite. */
export interface ServerDatabase {
  /** Environment to pass to the server (`DATABASE_URL`), empty for PGlite. */
  env: Record<string, string>;
  /** The schema URL on PostgreSQL, null on PGlite. */
  url: string | null;
  /** Drops the schema. */
  drop(): Promise<void>;
}

/** Creates the database a test's server subprocess uses. */
export async function serverDatabase(): Promise<ServerDatabase> {
  const base = Deno.env.get("DATABASE_URL");
  if (!base) return { env: {}, url: null, drop: () => Promise.resolve() };
  const schema = await createTestSchema(base);
  return { env: { DATABASE_URL: schema.url }, url: schema.url, drop: () => schema.drop() };
}

/** One stored packet as read back. */
export interface StoredRow {
  timestamp: number;
  agent_id: string;
  batch_id: number;
}

/** A running server subprocess. */
export interface TestServer {
  /** `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** The ingest endpoint. */
  ingestUrl: string;
  /** Stops it (SIGTERM, then SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/** Options for {@link startTestServer}. */
export interface StartTestServerOptions {
  /** Port to listen on. */
  port: number;
  /** DATA_DIR (PGlite lives here on the embedded default; the generated token too). */
  dataDir: string;
  /** The database. */
  database: ServerDatabase;
  /** INGEST_TOKENS; null lets the server generate DATA_DIR/ingest_token. */
  tokens: string[] | null;
  /** More environment (e.g. MAX_BATCH_RECORDS). */
  env?: Record<string, string>;
}

/** Starts `server/main.ts --no-aggregate` and waits until `/health` answers 200. */
export async function startTestServer(options: StartTestServerOptions): Promise<TestServer> {
  const env: Record<string, string> = {
    ...options.database.env,
    PORT: String(options.port),
    HOST: "127.0.0.1",
    DATA_DIR: options.dataDir,
    LOG_DIR: `${options.dataDir}/server-logs`,
    LOG_LEVEL: "warning",
    ...options.env,
  };
  if (options.tokens !== null) env.INGEST_TOKENS = options.tokens.join(",");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}server/main.ts`, "--no-aggregate"],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (!exited) child.kill("SIGKILL");
    }, 15_000);
    await status;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 90_000;
  while (true) {
    if (exited) throw new Error(`server exited early with ${(await status).code}`);
    try {
      const response = await fetch(`${baseUrl}/health`);
      await response.body?.cancel();
      if (response.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server on ${baseUrl} did not become healthy`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { baseUrl, ingestUrl: `${baseUrl}/ingest_packets`, stop };
}

/**
 * The packets a server stored for `agentId`: through a database handle on
 * PostgreSQL; on PGlite (owned by the server process) through its API.
 */
export async function storedRows(
  server: TestServer,
  database: ServerDatabase,
  agentId: string,
): Promise<StoredRow[]> {
  if (database.url !== null) {
    const db = await openDatabase({ databaseUrl: database.url, poolSize: 1 });
    try {
      const rows = await db.sql<StoredRow[]>`
        select "timestamp", agent_id, batch_id::int as batch_id
        from raw_packets where agent_id = ${agentId}`;
      return rows.map((r) => ({ ...r }));
    } finally {
      await db.close();
    }
  }
  const response = await fetch(`${server.baseUrl}/api/raw_packets/last/10000`);
  if (response.status !== 200) {
    throw new Error(`GET raw_packets answered ${response.status}: ${await response.text()}`);
  }
  const rows = await response.json() as StoredRow[];
  return rows.filter((r) => r.agent_id === agentId).map((r) => ({
    timestamp: r.timestamp,
    agent_id: r.agent_id,
    batch_id: r.batch_id,
  }));
}

/** The idempotency keys the server accepted for `agentId`; null on PGlite (no API for them). */
export async function storedBatchKeys(
  database: ServerDatabase,
  agentId: string,
): Promise<string[] | null> {
  if (database.url === null) return null;
  const db = await openDatabase({ databaseUrl: database.url, poolSize: 1 });
  try {
    const rows = await db.sql<{ idempotency_key: string }[]>`
      select idempotency_key from ingest_batches where agent_id = ${agentId}`;
    return rows.map((r) => r.idempotency_key);
  } finally {
    await db.close();
  }
}

/** Output of an agent program run. */
export interface ProgramOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `agent/<program>` to completion (killed after `timeoutMs`). */
export async function runProgram(
  program: "main.ts" | "replay_main.ts",
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<ProgramOutput> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}agent/${program}`, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Capture times of every frame as tshark reads them (the oracle), as the
 * decimal strings it prints (`frame.time_epoch`, nanosecond digits). tshark
 * also reads pcapng files with several link types, which tcpdump refuses.
 */
export async function tsharkTimestamps(path: string): Promise<string[]> {
  const out = await new Deno.Command("tshark", {
    args: ["-r", path, "-T", "fields", "-e", "frame.time_epoch"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter((l) =>
    l !== ""
  );
}

/** Asserts two lists of epoch-second times are the same multiset to within 1 µs. */
export function assertSameTimes(actual: number[], oracle: string[]): void {
  const a = [...actual].sort((x, y) => x - y);
  const b = oracle.map(Number).sort((x, y) => x - y);
  if (a.length !== b.length) {
    throw new Error(`expected ${b.length} timestamps, got ${a.length}`);
  }
  a.forEach((value, i) => {
    if (Math.abs(value - b[i]) > 1e-6) {
      throw new Error(`timestamp ${i}: ${value} is not the file's ${oracle[i]}`);
    }
  });
}
