/**
 * Test support for the agent's tests: the real server as a subprocess (the
 * agent may not import `server/`), a way to read back what it stored, and a
 * runner for the agent's own programs. Private to this folder.
 *
 * @module
 */
import { createTestSchema } from "@traffic-analyzer/shared/db/testing";
import {
  batchRecords,
  type ColumnarBatch,
  ColumnarBatchBuilder,
  type PacketRecord,
} from "@traffic-analyzer/shared/packet";
import type { PacketBatch } from "./batcher.ts";
import { openDatabase } from "@traffic-analyzer/shared/db";
import { PcapWriter, readCapture } from "@traffic-analyzer/shared/pcap";

/** The repository root, where `deno.json` (with `unstable: kv`) is. */
export const ROOT = new URL("../", import.meta.url).pathname;

/** Records as a batch's columns, in arrays of their own (kept as long as the caller likes). */
export function columnsOf(records: readonly PacketRecord[]): ColumnarBatch {
  const builder = new ColumnarBatchBuilder(Math.max(1, records.length));
  for (const record of records) builder.appendRecord(record);
  return builder.build();
}

/**
 * A copy of a batch a Batcher emitted: its columns are the batcher's and
 * change with the next batch, so a test that keeps batches keeps copies.
 */
export function keptBatch(batch: PacketBatch): PacketBatch {
  return { ...batch, columns: columnsOf(batchRecords(batch.columns)) };
}

/** The records of a batch. */
export function recordsOf(batch: Pick<PacketBatch, "columns">): PacketRecord[] {
  return batchRecords(batch.columns);
}

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

/** Rows a server stored for an agent, and how many distinct capture times among them. */
export interface StoredCount {
  /** `count(*)`. */
  rows: number;
  /** `count(distinct "timestamp")`: equal to `rows` when no packet is stored twice. */
  distinct: number;
}

/**
 * Counts what a server stored for `agentId`: in SQL on PostgreSQL; on PGlite
 * (owned by the server process) through its API, which returns at most
 * 10,000 rows, so a test that counts this way keeps below that in all.
 */
export async function storedCount(
  server: TestServer,
  database: ServerDatabase,
  agentId: string,
): Promise<StoredCount> {
  if (database.url !== null) {
    const db = await openDatabase({ databaseUrl: database.url, poolSize: 1 });
    try {
      const [row] = await db.sql<StoredCount[]>`
        select count(*)::int as rows, count(distinct "timestamp")::int as distinct
        from raw_packets where agent_id = ${agentId}`;
      return { rows: row.rows, distinct: row.distinct };
    } finally {
      await db.close();
    }
  }
  const response = await fetch(`${server.baseUrl}/api/raw_packets/last/10000`);
  if (response.status !== 200) {
    throw new Error(`GET raw_packets answered ${response.status}: ${await response.text()}`);
  }
  const all = await response.json() as StoredRow[];
  if (all.length >= 10_000) throw new Error("the test stored too much to count through the API");
  const rows = all.filter((r) => r.agent_id === agentId);
  return { rows: rows.length, distinct: new Set(rows.map((r) => r.timestamp)).size };
}

/**
 * Writes a pcap of `count` real frames (a fixture's, repeated) 1 ms apart
 * from `startSec`, so every packet has its own capture time.
 */
export async function writeUniqueCapture(
  path: string,
  count: number,
  startSec = 1_750_000_000,
): Promise<void> {
  const frames = await Array.fromAsync(
    readCapture(`${ROOT}shared/testdata/ipv4_tcp_udp_icmp.pcap`),
  );
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter(file, { linkType: frames[0].linkType });
  const startNs = BigInt(startSec) * 1_000_000_000n;
  for (let i = 0; i < count; i++) {
    const frame = frames[i % frames.length];
    await writer.write({
      data: frame.data,
      wireLength: frame.wireLength,
      timestampNs: startNs + BigInt(i) * 1_000_000n,
    });
  }
  await writer.flush();
}

/** A running agent program whose output is collected as it comes. */
export interface SpawnedAgent {
  /** The process. */
  child: Deno.ChildProcess;
  /** stdout and stderr so far, interleaved. */
  readonly output: string;
  /** stderr so far. */
  readonly stderr: string;
  /** Waits for the exit (killed with SIGKILL after `timeoutMs` from the start). */
  finished(): Promise<Deno.CommandStatus>;
}

/** Starts `agent/main.ts` with `args`; killed after `timeoutMs` if still running. */
export function spawnAgent(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 180_000,
): SpawnedAgent {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}agent/main.ts`, ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let stderr = "";
  const collect = async (stream: ReadableStream<Uint8Array>, isErr: boolean) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      if (isErr) stderr += text;
    }
  };
  const collected = Promise.all([collect(child.stdout, false), collect(child.stderr, true)]);
  const watchdog = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return {
    child,
    get output() {
      return output;
    },
    get stderr() {
      return stderr;
    },
    async finished() {
      const status = await child.status;
      await collected;
      clearTimeout(watchdog);
      return status;
    },
  };
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
