/**
 * Test support for the agent's tests: batches and records, a way to read back
 * what a server stored, and waiting on a condition. Nothing here spawns a
 * process (those helpers are in `_process_test_support.ts`), so the fast unit
 * tests can use it. Private to this folder.
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
