import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { storePacketBatch } from "./packet_store.ts";
import { lastRawPackets } from "./raw_packet_queries.ts";
import { sampleRecords } from "../testing/sample_records.ts";

Deno.test("storePacketBatch() stores a batch exactly once per idempotency key", async (t) => {
  const db = await openTestDatabase();
  try {
    const records = sampleRecords(500, { dataBytes: 16 });
    await t.step("a new key stores every record", async () => {
      const result = await storePacketBatch(db.sql, {
        agentId: "a1",
        idempotencyKey: "k1",
        bodySha256: "h1",
        records,
      });
      assert.equal(result.status, "stored");
      assert.equal(result.status === "stored" && result.stored, 500);
      const [{ n }] = await db.sql<
        { n: number }[]
      >`select count(*)::int8 as n from raw_packets`;
      assert.equal(n, 500);
    });
    await t.step(
      "the same key and body is a duplicate and stores nothing",
      async () => {
        const result = await storePacketBatch(db.sql, {
          agentId: "a1",
          idempotencyKey: "k1",
          bodySha256: "h1",
          records,
        });
        assert.equal(result.status, "duplicate");
        const [{ n }] = await db.sql<
          { n: number }[]
        >`select count(*)::int8 as n from raw_packets`;
        assert.equal(n, 500);
      },
    );
    await t.step("the same key with another body is a conflict", async () => {
      const result = await storePacketBatch(db.sql, {
        agentId: "a1",
        idempotencyKey: "k1",
        bodySha256: "h2",
        records: records.slice(1),
      });
      assert.equal(result.status, "conflict");
    });
    await t.step("every field reads back as it was sent", async () => {
      const [newest] = await lastRawPackets(db.sql, 1);
      const sent = records.at(-1)!;
      for (const [field, value] of Object.entries(sent)) {
        assert.deepEqual(newest[field as keyof typeof newest], value, field);
      }
      assert.equal(newest.agent_id, "a1");
    });
  } finally {
    await db.close();
  }
});
