import assert from "node:assert/strict";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { ingest, makeTestApp } from "../_test_app.ts";

Deno.test({
  name: "raw packet API",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await openTestDatabase();
    try {
      const { app } = makeTestApp(db, {
        maxHeavyReads: 1,
        limits: { maxBodyBytes: 2_000_000, maxDecompressedBytes: 2_000_000, maxBatchRecords: 1000 },
      });
      // 1,400 packets in two batches: more than two chunks of the streamed read.
      const first = sampleRecords(700, { dataBytes: 4, seed: 1 });
      const second = sampleRecords(700, { dataBytes: 4, seed: 2, startSec: 1_764_100_000 });
      assert.equal(
        (await ingest(app, JSON.stringify(first), { "idempotency-key": "r1" })).status,
        201,
      );
      assert.equal(
        (await ingest(app, JSON.stringify(second), { "idempotency-key": "r2" })).status,
        201,
      );
      const all = [...first, ...second];

      await t.step("returns the newest packets, newest first, without their bytes", async () => {
        const res = await app.request("/api/raw_packets/last/3");
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type")!, /application\/json/);
        const packets = await res.json();
        assert.equal(packets.length, 3);
        assert.equal(packets[0].timestamp, all.at(-1)!.timestamp);
        assert.equal(packets[2].timestamp, all.at(-3)!.timestamp);
        assert.ok(!("data" in packets[0]));
        assert.equal(packets[0].src_ip, all.at(-1)!.src_ip);
      });

      await t.step("?include=data adds the captured bytes", async () => {
        const packets = await (await app.request("/api/raw_packets/last/2?include=data")).json();
        assert.equal(packets[0].data, all.at(-1)!.data);
        assert.equal(packets[1].data, all.at(-2)!.data);
      });

      await t.step("a read across several chunks gives every packet once, in order", async () => {
        const res = await app.request("/api/raw_packets/last/1300?include=data");
        const packets: { id: number; timestamp: number; data: string }[] = await res.json();
        assert.equal(packets.length, 1300);
        assert.equal(new Set(packets.map((p) => p.id)).size, 1300);
        assert.deepEqual(packets.map((p) => p.id), packets.map((p) => p.id).sort((a, b) => b - a));
        assert.deepEqual(
          packets.map((p) => p.data),
          all.slice(-1300).reverse().map((r) => r.data),
        );
      });

      await t.step("asking for more than stored gives what there is", async () => {
        const packets = await (await app.request("/api/raw_packets/last/10000")).json();
        assert.equal(packets.length, 1400);
      });

      await t.step("a heavy read past the cap answers 429 until the first one ends", async () => {
        const holding = await app.request("/api/raw_packets/last/1400");
        assert.equal(holding.status, 200);
        const refused = await app.request("/api/raw_packets/last/1");
        assert.equal(refused.status, 429);
        assert.equal(refused.headers.get("retry-after"), "1");
        assert.match((await refused.json()).error, /too many heavy reads/);
        // Reading the body to its end gives the slot back.
        assert.equal((await holding.json()).length, 1400);
        const after = await app.request("/api/raw_packets/last/1");
        assert.equal(after.status, 200);
        assert.equal((await after.json()).length, 1);
      });

      await t.step("a client that goes away gives its slot back", async () => {
        const abandoned = await app.request("/api/raw_packets/last/1400");
        await abandoned.body!.cancel();
        const res = await app.request("/api/raw_packets/last/1");
        assert.equal(res.status, 200);
        await res.body?.cancel();
      });

      await t.step("validates count and include", async () => {
        for (
          const count of ["0", "-1", "abc", "100001", "1.5", "1e3", "0x10", "0b1", "%2012", "1_0"]
        ) {
          const res = await app.request(`/api/raw_packets/last/${count}`);
          assert.equal(res.status, 400, count);
          assert.match((await res.json()).error, /count/);
        }
        const res = await app.request("/api/raw_packets/last/5?include=payload");
        assert.equal(res.status, 400);
        assert.match((await res.json()).error, /include/);
      });
    } finally {
      await db.close();
    }
  },
});
