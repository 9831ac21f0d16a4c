import assert from "node:assert/strict";
import { createTestSchema, openTestDatabase } from "./test_database.ts";
import { openDatabase } from "./open_database.ts";
import { migrate, MigrationError, readMigrations, schemaVersion } from "./migrate.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());

Deno.test({
  name: "migrate() applies files in order once and guards the schema",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const files = await readMigrations();
    const newest = files.at(-1)!.version;

    await t.step("a migrated database is at the newest version", async () => {
      assert.equal(await schemaVersion(db.sql), newest);
      const tables = await db.sql<{ table_name: string }[]>`
        select table_name from information_schema.tables where table_schema = current_schema()`;
      const names = tables.map((r) => r.table_name);
      for (
        const t of [
          "raw_packets",
          "traffic_data",
          "ingest_batches",
          "schema_migrations",
        ]
      ) {
        assert.ok(names.includes(t), t);
      }
    });

    await t.step("running again applies nothing", async () => {
      const result = await migrate(db.sql);
      assert.deepEqual(result.applied, []);
    });

    await t.step("concurrent runs apply each migration once", async () => {
      const extra = {
        version: newest + 1,
        name: "probe",
        sql: "create table migration_probe (id int);",
        checksum: "probe",
      };
      const results = await Promise.all(
        [1, 2, 3].map(() => migrate(db.sql, { migrations: [...files, extra] })),
      );
      assert.equal(results.flatMap((r) => r.applied).length, 1);
      await db.sql`drop table migration_probe`;
      await db.sql`delete from schema_migrations where version = ${newest + 1}`;
    });

    await t.step("refuses a database newer than the known files", async () => {
      await db.sql`insert into schema_migrations (version, name, checksum)
        values (${newest + 5}, 'future', 'x')`;
      await assert.rejects(() => migrate(db.sql), (error: unknown) => {
        assert.ok(error instanceof MigrationError);
        assert.match(error.message, /newer than this program knows/);
        return true;
      });
      await db.sql`delete from schema_migrations where version = ${newest + 5}`;
    });

    await t.step("refuses an applied file that was edited", async () => {
      const edited = files.map((m, i) => i === 0 ? { ...m, checksum: "edited" } : m);
      await assert.rejects(
        () => migrate(db.sql, { migrations: edited }),
        /was edited/,
      );
    });

    await t.step(
      "a failing migration rolls back and names the file",
      async () => {
        const broken = {
          version: newest + 1,
          name: "broken",
          sql: "create table half_done (id int); select * from no_such_table;",
          checksum: "b",
        };
        await assert.rejects(
          () => migrate(db.sql, { migrations: [...files, broken] }),
          new RegExp(`Migration ${newest + 1}_broken failed`),
        );
        const [row] = await db.sql`select to_regclass('half_done') as t`;
        assert.equal(row.t, null);
        assert.equal(await schemaVersion(db.sql), newest);
      },
    );
  },
});

Deno.test({
  name: "raw_packets_ensure_partition() creates one partition per UTC day",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const [a] = await db
      .sql`select raw_packets_ensure_partition('2026-01-02') as name`;
    const [b] = await db
      .sql`select raw_packets_ensure_partition('2026-01-02') as name`;
    assert.equal(a.name, "raw_packets_20260102");
    assert.equal(b.name, a.name);
    const [bounds] = await db.sql`
      select pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c
      where c.relname = 'raw_packets_20260102' and c.relnamespace = current_schema()::regnamespace`;
    assert.match(
      bounds.bound,
      /2026-01-02 00:00:00\+00.*2026-01-03 00:00:00\+00/,
    );
  },
});

Deno.test({
  name: "first runs from several processes at once on an empty schema all succeed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const url = Deno.env.get("DATABASE_URL");
    // On PostgreSQL, separate clients, as separate processes would be; the
    // embedded database has one connection, so its runs queue on one client
    // (opening more PGlite instances would only cost seconds of CPU each).
    const schema = url ? await createTestSchema(url) : null;
    const clients = await Promise.all(
      (schema ? [1, 2, 3, 4] : [1]).map(() =>
        openDatabase({ databaseUrl: schema?.url ?? null, poolSize: 1 })
      ),
    );
    try {
      const target = schema ? clients : [clients[0], clients[0], clients[0], clients[0]];
      const results = await Promise.all(target.map((client) => migrate(client.sql)));
      const files = await readMigrations();
      assert.equal(results.flatMap((r) => r.applied).length, files.length);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await schema?.drop();
    }
  },
});
