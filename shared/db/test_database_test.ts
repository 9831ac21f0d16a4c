import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { readMigrations, schemaVersion } from "./migrate.ts";

Deno.test({
  name: "openTestDatabase() gives a private database migrated as asked, whatever it starts from",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const files = await readMigrations();
    const latest = await openTestDatabase();
    try {
      assert.equal(await schemaVersion(latest.sql), files.at(-1)!.version);
      const [{ count }] = await latest.sql<{ count: number }[]>`
        select count(*)::int as count from traffic_data`;
      assert.equal(count, 0);
      await latest.sql`
        insert into traffic_data (flow_uid, protocol, first_seen, last_seen, state)
        values ('only-here', 'TCP', 1, 2, 'closed')`;
      // Started from another dump (on PGlite) or schema (on PostgreSQL): the
      // first database's row and its later migrations are not in it.
      const early = await openTestDatabase({ migrations: files.filter((m) => m.version <= 2) });
      try {
        assert.equal(await schemaVersion(early.sql), 2);
        const rows = await early.sql`select flow_uid from traffic_data`;
        assert.equal(rows.length, 0);
      } finally {
        await early.close();
      }
      await latest.truncate();
      const after = await latest.sql`select flow_uid from traffic_data`;
      assert.equal(after.length, 0);
    } finally {
      await latest.close();
    }
  },
});
