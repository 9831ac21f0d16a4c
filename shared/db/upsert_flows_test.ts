import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { openTestDatabase } from "./test_database.ts";
import { type FlowUpsert, upsertFlows } from "./upsert_flows.ts";
import { decodeFeatureVector } from "./feature_vector_bytes.ts";
import type { Sql } from "./open_database.ts";
import { sampleFlowUpsert as flow } from "./_sample_flow_upsert.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());

async function storedFeatures(): Promise<Map<string, Float32Array | null>> {
  const rows = await db.sql<{ flow_uid: string; features: Uint8Array | null }[]>`
    select flow_uid, features from traffic_data`;
  return new Map(rows.map((r) => [r.flow_uid, r.features && decodeFeatureVector(r.features)]));
}

/** Float32 vectors, often holding -0, subnormals, extremes and non-finite values. */
const anyVector = fc.array(
  fc.oneof(
    fc.float(),
    fc.constantFrom(-0, 2 ** -149, -(2 ** -126), 3.4028234663852886e38, NaN, Infinity, -Infinity),
  ),
  { maxLength: 100 },
).map((values) => Float32Array.from(values));

/** The bits of each value, so that -0 differs from 0 and NaN payloads show. */
const bits = (v: Float32Array) => Array.from(new Uint32Array(Float32Array.from(v).buffer));

async function upsert(flows: FlowUpsert[]): Promise<number> {
  return await db.sql.begin((tx) => upsertFlows(tx as unknown as Sql, flows)) as number;
}

Deno.test({
  name: "upsertFlows() stores every feature vector bit for bit, non-finite values as 0",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(anyVector, { nil: null, freq: 5 }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (vectors) => {
          await db.truncate();
          assert.equal(await upsert(vectors.map((v, i) => flow(i, v))), vectors.length);
          const stored = await storedFeatures();
          for (const [i, vector] of vectors.entries()) {
            const got = stored.get(`uid-${i}`);
            if (vector === null) assert.equal(got, null);
            else assert.deepEqual(bits(got!), bits(vector.map((x) => Number.isFinite(x) ? x : 0)));
          }
        },
      ),
      propertyRuns(60),
    );
  },
});

Deno.test({
  name: "upsertFlows() inserts, then updates, more flows than one statement takes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    const n = 12_001;
    const vector = (i: number, round: number) =>
      Float32Array.from({ length: 91 }, (_, j) => j === 0 ? i : j === 1 ? round : -(j / 7));
    assert.equal(await upsert(Array.from({ length: n }, (_, i) => flow(i, vector(i, 0)))), n);
    const updated = Array.from({ length: n }, (_, i) =>
      flow(i, vector(i, 1), {
        last_seen: 1_764_000_100 + i,
        orig_packets: 10 + i,
        state: "closed",
        close_reason: "fin",
        conn_state: "SF",
        label: "portscan",
        score: 0.75,
      }));
    assert.equal(await upsert(updated), n);

    const [totals] = await db.sql<{ flows: number; packets: number; closed: number }[]>`
      select count(*)::int8 as flows, sum(orig_packets)::int8 as packets,
        count(*) filter (where state = 'closed' and label = 'portscan' and score = 0.75)::int8 as closed
      from traffic_data`;
    assert.deepEqual(totals, { flows: n, packets: 10 * n + (n * (n - 1)) / 2, closed: n });
    const stored = await storedFeatures();
    for (const [i, f] of updated.entries()) {
      assert.deepEqual(bits(stored.get(f.flow_uid)!), bits(vector(i, 1)), f.flow_uid);
    }
  },
});

Deno.test({
  name: "upsertFlows() fails whole when a statement fails while the next is in flight",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    const flows = Array.from({ length: 11_000 }, (_, i) => flow(i, new Float32Array([i])));
    flows[1] = flow(0, new Float32Array([1])); // the first statement meets uid-0 twice
    await assert.rejects(() => upsert(flows), /cannot affect row a second time/);
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int8 as n from traffic_data`;
    assert.equal(n, 0);
    // The connection is usable afterwards.
    assert.equal(await upsert([flow(1, null)]), 1);
  },
});

Deno.test({
  name: "upsertFlows() writes nothing for no flows",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await db.truncate();
    assert.equal(await upsert([]), 0);
  },
});
