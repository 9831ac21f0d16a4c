import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { copyFromBytesOnPglite } from "./pglite_blob_copy.ts";

const text = (s: string) => new TextEncoder().encode(s);

// PGlite's own COPY path: nothing to test on PostgreSQL.
Deno.test({
  name: "copyFromBytesOnPglite() copies one buffer, a slice of one, or several parts",
  ignore: Boolean(Deno.env.get("DATABASE_URL")),
}, async (t) => {
  const db = await openTestDatabase();
  const pglite = db.pglite!;
  try {
    await pglite.exec("create temporary table t (n int, s text)");
    const statement = "copy t (n, s) from '/dev/blob'";
    const count = async () =>
      (await pglite.query<{ n: number }>("select count(*)::int as n from t")).rows[0].n;

    await t.step("a whole buffer", async () => {
      await copyFromBytesOnPglite(pglite, statement, [text("1\tone\n2\ttwo\n")]);
      assert.equal(await count(), 2);
    });
    await t.step("a slice of a larger buffer copies only the slice", async () => {
      const bytes = text("xx3\tthree\nyy");
      await copyFromBytesOnPglite(pglite, statement, [bytes.subarray(2, 10)]);
      const rows = (await pglite.query<{ s: string }>("select s from t where n = 3")).rows;
      assert.deepEqual(rows, [{ s: "three" }]);
      assert.equal(await count(), 3);
    });
    await t.step("several parts, split inside a row", async () => {
      await copyFromBytesOnPglite(pglite, statement, [
        text("4\tfo"),
        text("ur\n5"),
        text("\tfive\n"),
      ]);
      const rows = (await pglite.query<{ s: string }>("select s from t where n >= 4 order by n"))
        .rows;
      assert.deepEqual(rows, [{ s: "four" }, { s: "five" }]);
    });
    await t.step("bad data throws PGlite's error and stores nothing", async () => {
      await assert.rejects(
        () => copyFromBytesOnPglite(pglite, statement, [text("6\tsix\nseven\t7\n")]),
        /invalid input syntax for type integer/,
      );
      assert.equal(await count(), 5);
    });
  } finally {
    await db.close();
  }
});
