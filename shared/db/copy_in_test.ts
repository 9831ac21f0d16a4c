import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { CopyInError, openCopyIn } from "./copy_in.ts";
import type { Sql } from "./open_database.ts";

const encoder = new TextEncoder();

// COPY FROM STDIN goes through postgres.js only on PostgreSQL (PGlite's
// socket server cannot carry it; ingest uses PGlite's own COPY there).
const onPostgres = { ignore: !Deno.env.get("DATABASE_URL") };

async function copyLines(tx: Sql, table: string, chunks: string[]): Promise<void> {
  const copy = await openCopyIn(tx`copy ${tx(table)} (n) from stdin`);
  for (const chunk of chunks) await copy.write(encoder.encode(chunk));
  await copy.end();
}

Deno.test({
  name: "COPYs back to back in one transaction store every chunk of each",
  ...onPostgres,
  async fn() {
    const db = await openTestDatabase();
    try {
      const counts = await db.sql.begin(async (txRaw) => {
        const tx = txRaw as unknown as Sql;
        await tx`create temp table copy_a (n int) on commit drop`;
        await tx`create temp table copy_b (n int) on commit drop`;
        // Each COPY starts right after the one before ended: nothing the
        // driver sends after a COPY's end may reach the next one.
        await copyLines(tx, "copy_a", ["1\n2\n", "3\n", "4\n5\n"]);
        await copyLines(tx, "copy_b", ["10\n"]);
        await copyLines(tx, "copy_a", ["6\n"]);
        return await tx<{ a: number; b: number; sum: number }[]>`
          select (select count(*) from copy_a)::int as a, (select count(*) from copy_b)::int as b,
            (select sum(n) from copy_a)::int as sum`;
      });
      assert.deepEqual({ ...counts[0] }, { a: 6, b: 1, sum: 21 });
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "a COPY abandoned or refused stores nothing and its session goes on",
  ...onPostgres,
  async fn() {
    const db = await openTestDatabase();
    try {
      await db.sql`create table copy_target (n int)`;
      // Abandoned after some data (CopyFail): the transaction rolls back.
      await assert.rejects(
        db.sql.begin(async (txRaw) => {
          const tx = txRaw as unknown as Sql;
          const copy = await openCopyIn(tx`copy copy_target (n) from stdin`);
          await copy.write(encoder.encode("1\n2\n"));
          await copy.abort(new Error("given up"));
          throw new Error("rolled back");
        }),
        /rolled back/,
      );
      // Refused by the server when it ends: end() rejects with its error.
      await assert.rejects(
        db.sql.begin(async (txRaw) => {
          const tx = txRaw as unknown as Sql;
          await copyLines(tx, "copy_target", ["3\n", "not a number\n"]);
        }),
        (error: unknown) => error instanceof CopyInError && error.code === "22P02",
      );
      await copyLines(db.sql, "copy_target", ["7\n", "8\n"]);
      const rows = await db.sql<{ n: number }[]>`select n from copy_target order by n`;
      assert.deepEqual(rows.map((r) => r.n), [7, 8]);
    } finally {
      await db.close();
    }
  },
});
