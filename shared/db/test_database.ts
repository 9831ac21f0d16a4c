/**
 * A migrated database for tests: a fresh schema on the PostgreSQL server named
 * by `DATABASE_URL` when it is set, else an in-memory PGlite. One per test
 * file (PGlite takes seconds to open); tests isolate themselves by truncating.
 *
 * @module
 */
import { type Database, openDatabase } from "./open_database.ts";
import { migrate } from "./migrate.ts";

/** A test database that also drops its schema on close. */
export interface TestDatabase extends Database {
  /** The schema the tests run in. */
  schema: string;
  /** Empties every table the project writes. */
  truncate(): Promise<void>;
}

/** A fresh, empty schema on a PostgreSQL server, and a URL that selects it. */
export interface TestSchema {
  /** Schema name. */
  schema: string;
  /** The server URL with `search_path` set to the schema. */
  url: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named schema on the server at `databaseUrl`, for tests
 * that start whole programs from a URL (the programs then migrate it).
 */
export async function createTestSchema(
  databaseUrl: string,
): Promise<TestSchema> {
  const schema = `test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = await openDatabase({ databaseUrl, poolSize: 1 });
  try {
    await admin.sql`create schema ${admin.sql(schema)}`;
  } finally {
    await admin.close();
  }
  const url = new URL(databaseUrl);
  url.searchParams.set("search_path", schema);
  return {
    schema,
    url: url.toString(),
    async drop() {
      const db = await openDatabase({ databaseUrl, poolSize: 1 });
      try {
        await db.sql`drop schema if exists ${db.sql(schema)} cascade`;
      } finally {
        await db.close();
      }
    },
  };
}

/** Opens and migrates a private database for one test file. */
export async function openTestDatabase(): Promise<TestDatabase> {
  const url = Deno.env.get("DATABASE_URL") || null;
  const testSchema = url ? await createTestSchema(url) : null;
  const schema = testSchema?.schema ?? "public";
  const db = await openDatabase({
    databaseUrl: testSchema?.url ?? null,
    poolSize: 4,
  });
  await migrate(db.sql);
  return {
    ...db,
    schema,
    async truncate() {
      await db.sql`
        truncate ingest_batches, raw_packets, batch_packet_columns, traffic_data,
          aggregator_streams restart identity`;
      await db.sql`truncate incidents, incident_flows restart identity`;
      await db.sql`delete from aggregator_progress`;
      await db.sql`insert into aggregator_progress default values`;
    },
    async close() {
      await db.close();
      await testSchema?.drop();
    },
  };
}
