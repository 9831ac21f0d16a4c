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

/** Opens and migrates a private database for one test file. */
export async function openTestDatabase(): Promise<TestDatabase> {
  const url = Deno.env.get("DATABASE_URL") || null;
  const schema = url
    ? `test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`
    : "public";
  if (url) {
    const admin = await openDatabase({ databaseUrl: url, poolSize: 1 });
    await admin.sql`create schema ${admin.sql(schema)}`;
    await admin.close();
  }
  const db = await openDatabase({ databaseUrl: url, poolSize: 4, schema });
  await migrate(db.sql);
  return {
    ...db,
    schema,
    async truncate() {
      await db
        .sql`truncate ingest_batches, raw_packets, traffic_data restart identity`;
    },
    async close() {
      if (url) await db.sql`drop schema ${db.sql(schema)} cascade`;
      await db.close();
    },
  };
}
