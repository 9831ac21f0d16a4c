import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { openTestDatabase } from "./test_database.ts";
import { pgArrayColumn, pgArrayLiteral } from "./pg_array_literal.ts";

Deno.test("pgArrayLiteral() encodes nulls, booleans and numbers", () => {
  assert.equal(pgArrayLiteral([1, null, 2.5, true, false]), "{1,NULL,2.5,t,f}");
  assert.equal(pgArrayLiteral(["NULL", 'a"b', "c\\d", "{,}"]), '{"NULL","a\\"b","c\\\\d","{,}"}');
  assert.throws(() => pgArrayLiteral([NaN]), /must be finite/);
});

Deno.test({
  name: "pgArrayLiteral() round-trips any string through the database",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openTestDatabase();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.option(fc.string({ unit: "grapheme" }), { nil: null }), { maxLength: 20 }),
          async (values) => {
            const clean = values.map((v) => v === null ? null : v.replaceAll("\0", ""));
            const rows = await db.sql<{ v: string | null }[]>`
              select unnest(${pgArrayLiteral(clean)}::text::text[]) as v`;
            assert.deepEqual(rows.map((r) => r.v), clean);
          },
        ),
        propertyRuns(200),
      );
    } finally {
      await db.close();
    }
  },
});

Deno.test("pgArrayColumn() matches pgArrayLiteral() over the same values", () => {
  const rows = [{ a: 1, b: 'x"y' }, { a: null, b: null }, { a: 2.5, b: "\\" }];
  assert.equal(pgArrayColumn(rows, "a"), pgArrayLiteral([1, null, 2.5]));
  assert.equal(pgArrayColumn(rows, "b"), pgArrayLiteral(['x"y', null, "\\"]));
});
