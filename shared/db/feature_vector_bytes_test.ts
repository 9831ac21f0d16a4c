import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { createTestSchema, openTestDatabase } from "./test_database.ts";
import { type Database, openDatabase } from "./open_database.ts";
import { migrate, readMigrations } from "./migrate.ts";
import {
  decodeFeatureVector,
  encodeFeatureVector,
  FEATURE_VALUE_BYTES,
  writeFeatureVector,
} from "./feature_vector_bytes.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Values whose bits are easy to get wrong: signed zero, subnormals, extremes. */
const EDGE_VALUES = [
  0,
  -0,
  1,
  -1.5,
  2 ** -149, // smallest subnormal
  -(2 ** -149),
  2 ** -126 - 2 ** -149, // largest subnormal
  2 ** -126, // smallest normal
  3.4028234663852886e38, // largest float32
  -3.4028234663852886e38,
  Math.fround(0.1),
  Math.fround(Math.PI),
  16_777_217, // rounds to 16777216 in float32
  1e30,
];

/** Float32 vectors, often holding edge values and non-finite ones (fc.float32Array seldom does). */
const anyVector = fc.array(
  fc.oneof(fc.float(), fc.constantFrom(...EDGE_VALUES, NaN, Infinity, -Infinity)),
  { maxLength: 120 },
).map((values) => Float32Array.from(values));

/** What the stored form holds for `vector`: non-finite values become 0. */
function stored(vector: Float32Array): Float32Array {
  return vector.map((x) => Number.isFinite(x) ? x : 0);
}

function assertSameBits(actual: Float32Array, expected: Float32Array): void {
  assert.equal(actual.length, expected.length);
  assert.equal(
    hex(new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength)),
    hex(new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength)),
  );
}

/**
 * A real[] literal of float32 values that PostgreSQL reads back to the same
 * float32s: String() gives the shortest decimal of the double, which rounds
 * to the same float32, except that it drops the sign of -0.
 */
function realArrayLiteral(values: Float32Array): string {
  return "{" + Array.from(values, (x) => Object.is(x, -0) ? "-0" : String(x)).join(",") + "}";
}

Deno.test("encodeFeatureVector() writes big-endian float32s, non-finite values as 0", () => {
  assert.equal(
    hex(encodeFeatureVector(new Float32Array([1, -0, 2 ** -149, 3.4028234663852886e38, -2]))),
    "3f800000" + "80000000" + "00000001" + "7f7fffff" + "c0000000",
  );
  assert.equal(
    hex(encodeFeatureVector(new Float32Array([NaN, Infinity, -Infinity, 1]))),
    "00000000".repeat(3) + "3f800000",
  );
  assert.equal(encodeFeatureVector(new Float32Array(0)).length, 0);
});

Deno.test("decodeFeatureVector() inverts encodeFeatureVector() bit for bit", () => {
  assertSameBits(
    decodeFeatureVector(encodeFeatureVector(new Float32Array(EDGE_VALUES))),
    new Float32Array(EDGE_VALUES),
  );
  fc.assert(
    fc.property(anyVector, (vector) => {
      assertSameBits(decodeFeatureVector(encodeFeatureVector(vector)), stored(vector));
    }),
    propertyRuns(500),
  );
});

Deno.test("decodeFeatureVector() reads a vector inside a larger buffer", () => {
  const bytes = new Uint8Array(3 + 2 * FEATURE_VALUE_BYTES);
  bytes.set(encodeFeatureVector(new Float32Array([-1.5, 2 ** -149])), 3);
  assertSameBits(decodeFeatureVector(bytes.subarray(3)), new Float32Array([-1.5, 2 ** -149]));
});

Deno.test("decodeFeatureVector() refuses a length that is not whole float32s", () => {
  assert.throws(() => decodeFeatureVector(new Uint8Array(7)), {
    name: "RangeError",
    message: /7 bytes: it must be a whole number of 4-byte float32 values/,
  });
});

Deno.test("writeFeatureVector() returns the next offset and refuses to overrun", () => {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  assert.equal(writeFeatureVector(view, 4, new Float32Array([1, 2])), 12);
  assert.equal(hex(bytes), "00000000" + "3f800000" + "40000000" + "00000000");
  assert.throws(
    () => writeFeatureVector(view, 12, new Float32Array([1, 2])),
    /vector of 2 values at byte 12: the view holds 16 bytes/,
  );
});

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());

Deno.test({
  name: "encodeFeatureVector() gives exactly PostgreSQL's float4send of each value",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const check = async (vector: Float32Array) => {
      const [row] = await db.sql<{ bytes: Uint8Array }[]>`
        select coalesce(string_agg(float4send(x), ''::bytea order by i), ''::bytea) as bytes
        from unnest(${realArrayLiteral(vector)}::text::real[]) with ordinality as t(x, i)`;
      assert.equal(hex(row.bytes), hex(encodeFeatureVector(vector)));
    };
    await check(new Float32Array(EDGE_VALUES));
    await fc.assert(
      fc.asyncProperty(anyVector.map(stored), check),
      propertyRuns(100),
    );
  },
});

/** A database migrated up to `version`: a fresh schema on PostgreSQL, else in-memory PGlite. */
async function openDatabaseAt(version: number): Promise<Database> {
  const url = Deno.env.get("DATABASE_URL") || null;
  const schema = url ? await createTestSchema(url) : null;
  const opened = await openDatabase({ databaseUrl: schema?.url ?? null, poolSize: 1 });
  const migrations = (await readMigrations()).filter((m) => m.version <= version);
  await migrate(opened.sql, { migrations });
  return {
    ...opened,
    async close() {
      await opened.close();
      await schema?.drop();
    },
  };
}

Deno.test({
  name: "migration 003 turns stored real[] vectors into the same float32 bytes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const old = await openDatabaseAt(2);
    try {
      const vectors = [new Float32Array(EDGE_VALUES), new Float32Array(0), null];
      for (const [i, vector] of vectors.entries()) {
        await old.sql`
          insert into traffic_data (flow_uid, protocol, first_seen, last_seen, state, features)
          values (${`uid-${i}`}, 'TCP', 1, 2, 'closed',
            ${vector && realArrayLiteral(vector)}::text::real[])`;
      }
      await migrate(old.sql);
      const rows = await old.sql<{ flow_uid: string; features: Uint8Array | null }[]>`
        select flow_uid, features from traffic_data order by flow_uid`;
      assert.deepEqual(rows.map((r) => r.flow_uid), ["uid-0", "uid-1", "uid-2"]);
      assertSameBits(decodeFeatureVector(rows[0].features!), vectors[0]!);
      assert.equal(rows[1].features!.length, 0);
      assert.equal(rows[2].features, null);
      await assert.rejects(
        () =>
          old.sql`
          insert into traffic_data (flow_uid, protocol, first_seen, last_seen, state, features)
          values ('uid-bad', 'TCP', 1, 2, 'closed', '\\x010203'::bytea)`,
        /traffic_data_features_float32/,
      );
    } finally {
      await old.close();
    }
  },
});
