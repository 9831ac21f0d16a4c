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
    await t.step("data longer than one read, in parts of odd sizes, arrives whole", async () => {
      // PostgreSQL reads 64 KiB at a time: the reads cross the parts' ends.
      const lines = Array.from({ length: 20_000 }, (_, i) => `${100 + i}\tvalue ${i}\n`).join("");
      const bytes = text(lines);
      const parts = [];
      for (let at = 0, size = 1; at < bytes.length; at += size, size = size * 3 + 7) {
        parts.push(bytes.subarray(at, at + size));
      }
      await copyFromBytesOnPglite(pglite, statement, parts);
      const [{ n, sum, last }] = (await pglite.query<{ n: number; sum: number; last: string }>(
        "select count(*)::int as n, sum(n)::int as sum, max(s) filter (where n = 20099) as last " +
          "from t where n >= 100",
      )).rows;
      assert.deepEqual({ n, sum, last }, {
        n: 20_000,
        sum: 20_000 * 100 + (19_999 * 20_000) / 2,
        last: "value 19999",
      });
    });
    await t.step("COPYs started together each read their own data", async () => {
      await pglite.exec("delete from t");
      await Promise.all(
        [1, 2, 3].map((n) => copyFromBytesOnPglite(pglite, statement, [text(`${n}\tcopy ${n}\n`)])),
      );
      const rows = (await pglite.query<{ n: number; s: string }>("select n, s from t order by n"))
        .rows;
      assert.deepEqual(rows, [1, 2, 3].map((n) => ({ n, s: `copy ${n}` })));
    });
    await t.step("a statement that names no '/dev/blob' is refused", async () => {
      await assert.rejects(
        () => copyFromBytesOnPglite(pglite, "copy t (n, s) from stdin", [text("7\tseven\n")]),
        RangeError,
      );
    });
  } finally {
    await db.close();
  }
});
