import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { dropExpiredRawPackets } from "./raw_packet_retention.ts";
import { storePacketBatch } from "./packet_store.ts";
import { sampleRecords } from "../testing/sample_records.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());
const DAY_MS = 86_400_000;

/** Stores a batch now, then moves it to the day it pretends to have been received. */
async function storeReceived(key: string, receivedMs: number, count: number) {
  await storePacketBatch(db.sql, {
    agentId: "a",
    idempotencyKey: key,
    bodySha256: key,
    records: sampleRecords(count, { seed: key.length }),
  });
  const at = new Date(receivedMs);
  await db.sql`select raw_packets_ensure_partition(${at.toISOString().slice(0, 10)}::date)`;
  // PostgreSQL moves an updated row to the partition its new key belongs to.
  await db.sql`update raw_packets set received_at = ${at}
    where batch_id = (select id from ingest_batches where idempotency_key = ${key})`;
  await db.sql`update ingest_batches set received_at = ${at} where idempotency_key = ${key}`;
}

function partitionName(ms: number): string {
  return "raw_packets_" + new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");
}

async function countByKey(): Promise<Record<string, number>> {
  const rows = await db.sql<{ key: string; n: number }[]>`
    select b.idempotency_key as key, count(r.id)::int8 as n
    from ingest_batches b left join raw_packets r on r.batch_id = b.id
    group by b.idempotency_key order by 1`;
  return Object.fromEntries(rows.map((r) => [r.key, r.n]));
}

async function markAggregated() {
  await db.sql`
    update aggregator_progress set last_batch_id = (select max(id) from ingest_batches)`;
}

Deno.test({
  name: "dropExpiredRawPackets() drops the oldest days and keeps the newest",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await db.truncate();
    const nowMs = Date.now();
    await storeReceived("old-10d", nowMs - 10 * DAY_MS, 30);
    await storeReceived("old-8d", nowMs - 8 * DAY_MS, 20);
    await storeReceived("edge-6d", nowMs - 6 * DAY_MS, 15);
    await storeReceived("today", nowMs, 10);

    await t.step("nothing is dropped while those batches are not aggregated", async () => {
      const result = await dropExpiredRawPackets(db.sql, { retentionDays: 7, nowMs });
      assert.deepEqual(result.dropped, []);
      assert.equal(result.kept.length, 2);
      assert.match(result.kept[0].reason, /not yet aggregated/);
      assert.deepEqual(await countByKey(), {
        "edge-6d": 15,
        "old-10d": 30,
        "old-8d": 20,
        today: 10,
      });
    });

    await t.step("once aggregated, days older than 7 go and the rest stay", async () => {
      await markAggregated();
      const result = await dropExpiredRawPackets(db.sql, { retentionDays: 7, nowMs });
      assert.deepEqual(result.dropped, [
        partitionName(nowMs - 10 * DAY_MS),
        partitionName(nowMs - 8 * DAY_MS),
      ]);
      assert.equal(result.batchesRemoved, 2);
      assert.deepEqual(await countByKey(), { "edge-6d": 15, today: 10 });
    });

    await t.step("the newest data survives a second run", async () => {
      const result = await dropExpiredRawPackets(db.sql, { retentionDays: 7, nowMs });
      assert.deepEqual(result.dropped, []);
      assert.deepEqual(await countByKey(), { "edge-6d": 15, today: 10 });
    });

    await t.step("retentionDays must be at least 1", async () => {
      await assert.rejects(
        () => dropExpiredRawPackets(db.sql, { retentionDays: 0, nowMs }),
        /'retentionDays' must be/,
      );
    });
  },
});
