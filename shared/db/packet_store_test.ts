import assert from "node:assert/strict";
import { openTestDatabase } from "./test_database.ts";
import { storePacketBatch } from "./packet_store.ts";
import { lastRawPackets } from "./raw_packet_queries.ts";
import type { RawPacketCopyError } from "./raw_packet_copy.ts";
import { sampleRecords } from "../testing/sample_records.ts";
import type { PacketRecord } from "../packet/packet_record.ts";
import { blankPacketRecord } from "../testing/blank_packet_record.ts";
import { readBatchPackets, readIngestHorizon } from "./aggregator_queries.ts";
import { readStoredBatchPacketColumns } from "./batch_packet_columns.ts";
import { inflateStoredPacketColumns } from "../packet/stored_packet_columns.ts";
import { decodePacketColumns } from "../packet/packet_columns.ts";

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
    await t.step(
      "the same key and packets under another body (wire format) is a duplicate",
      async () => {
        const result = await storePacketBatch(db.sql, {
          agentId: "a1",
          idempotencyKey: "k1",
          bodySha256: "h-of-the-arrow-body",
          records,
        });
        assert.equal(result.status, "duplicate");
      },
    );
    await t.step(
      "the same key, as many packets and one field of one changed, under another body is a conflict",
      async () => {
        const changes: [string, (r: PacketRecord) => PacketRecord][] = [
          ["the payload", (r) => ({ ...r, data: btoa("\x01".repeat(16)) })],
          ["a port", (r) => ({ ...r, dst_port: r.dst_port === 1 ? 2 : 1 })],
          [
            "an address",
            (r) => ({ ...r, src_ip: r.src_ip === "10.9.9.9" ? "10.9.9.8" : "10.9.9.9" }),
          ],
          ["the time", (r) => ({ ...r, timestamp: r.timestamp + 0.001 })],
          ["a null made a value", (r) => ({ ...r, ttl: r.ttl === 7 ? 8 : 7 })],
        ];
        for (const [what, change] of changes) {
          const changed = records.map((r, i) => i === 250 ? change(r) : r);
          const result = await storePacketBatch(db.sql, {
            agentId: "a1",
            idempotencyKey: "k1",
            bodySha256: `h-changed-${what}`,
            records: changed,
          });
          assert.equal(result.status, "conflict", what);
        }
        const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int8 as n from raw_packets`;
        assert.equal(n, 500);
      },
    );
    await t.step(
      "the same packets in another order under another body are a duplicate",
      async () => {
        const result = await storePacketBatch(db.sql, {
          agentId: "a1",
          idempotencyKey: "k1",
          bodySha256: "h-reversed",
          records: records.toReversed(),
        });
        assert.equal(result.status, "duplicate");
      },
    );
    await t.step("every field of every packet reads back as it was sent", async () => {
      const stored = (await lastRawPackets(db.sql, 500)).reverse();
      assert.equal(stored.length, records.length);
      stored.forEach((row, i) => {
        for (const [field, value] of Object.entries(records[i])) {
          assert.deepEqual(row[field as keyof typeof row], value, `${i} ${field}`);
        }
        assert.equal(row.agent_id, "a1");
      });
    });
    await t.step("nulls, IPv6, and text beyond ASCII are stored as sent", async () => {
      const odd = {
        ...records[0],
        src_ip: "2001:db8::ff00:42:8329",
        dst_ip: null,
        src_port: null,
        eth_src: null,
        malformed: true,
        malformed_reason: "ip: bad header — “truncated”",
        interface: "wlan0 ünï",
        data: null,
      };
      await storePacketBatch(db.sql, {
        agentId: "a2",
        idempotencyKey: "k-odd",
        bodySha256: "h-odd",
        records: [odd],
      });
      const [row] = await lastRawPackets(db.sql, 1);
      for (const [field, value] of Object.entries(odd)) {
        assert.deepEqual(row[field as keyof typeof row], value, field);
      }
      assert.equal(row.agent_id, "a2");
    });
    await t.step("a transaction that fails after the COPY stores none of the batch", async () => {
      const count = async () =>
        (await db.sql<{ n: number }[]>`select count(*)::int8 as n from raw_packets`)[0].n;
      const before = await count();
      await assert.rejects(
        storePacketBatch(db.sql, {
          agentId: "a1",
          idempotencyKey: "k-fails",
          bodySha256: "h3",
          records,
        }, { beforeCommit: () => Promise.reject(new Error("crash before commit")) }),
        /crash before commit/,
      );
      assert.equal(await count(), before);
      const batches = await db.sql`select 1 from ingest_batches where idempotency_key = 'k-fails'`;
      assert.equal(batches.length, 0);
      // The key is free: the batch sent again is stored whole.
      const again = await storePacketBatch(db.sql, {
        agentId: "a1",
        idempotencyKey: "k-fails",
        bodySha256: "h3",
        records,
      });
      assert.equal(again.status, "stored");
      assert.equal(await count(), before + records.length);
    });
    await t.step(
      "a value its column cannot hold is refused before anything is stored",
      async () => {
        const bad = records.map((r, i) => i === 7 ? { ...r, ip_header_length: 40_000 } : r);
        await assert.rejects(
          storePacketBatch(db.sql, {
            agentId: "a1",
            idempotencyKey: "k-bad",
            bodySha256: "h4",
            records: bad,
          }),
          (error: RawPacketCopyError) => error.field === "ip_header_length" && error.record === 7,
        );
        const batches = await db.sql`select 1 from ingest_batches where idempotency_key = 'k-bad'`;
        assert.equal(batches.length, 0);
      },
    );
    await t.step(
      "a batch of large payloads is stored whole and reads back byte for byte",
      async () => {
        // 1,600 records of 2,200 bytes: 3.5 MB of payload in one COPY.
        const large = sampleRecords(1600, { dataBytes: 2200, seed: 9 });
        const result = await storePacketBatch(db.sql, {
          agentId: "a2",
          idempotencyKey: "large",
          bodySha256: "h3",
          records: large,
        });
        assert.equal(result.status === "stored" && result.stored, 1600);
        const stored = await lastRawPackets(db.sql, 1600);
        // Compared one by one: a failing deepEqual of 1,600 long strings would
        // have node:assert diff them, which takes gigabytes.
        const readBack = stored.map((r) => r.data).reverse();
        const firstDifference = readBack.findIndex((data, i) => data !== large[i].data);
        assert.equal(firstDifference, -1, `record ${firstDifference} differs`);
      },
    );
  } finally {
    await db.close();
  }
});

Deno.test("storePacketBatch() keeps the tunnel fields in raw_packets and in the column block", async () => {
  const db = await openTestDatabase();
  try {
    const records = [
      blankPacketRecord({
        src_ip: "10.0.0.1",
        dst_ip: "10.0.0.2",
        protocol: "TCP",
        ip_proto: 6,
        tunnel_type: "vxlan",
        tunnel_src_ip: "192.0.2.1",
        tunnel_dst_ip: "192.0.2.2",
        tunnel_id: 0xffffff,
        tunnel_depth: 1,
      }),
      blankPacketRecord({
        src_ip: "10.0.0.1",
        dst_ip: "10.0.0.2",
        tunnel_type: "gre",
        tunnel_src_ip: "2001:db8::1",
        tunnel_dst_ip: "2001:db8::2",
        tunnel_id: 0xffffffff,
        tunnel_depth: 2,
      }),
      blankPacketRecord({ tunnel_type: "mpls", tunnel_id: 16, tunnel_depth: 1 }),
      blankPacketRecord(),
    ];
    const result = await storePacketBatch(db.sql, {
      agentId: "a1",
      idempotencyKey: "tunnels",
      bodySha256: "h",
      records,
    });
    assert.equal(result.status, "stored");
    const batchId = result.batchId;
    const pick = (r: object) =>
      Object.fromEntries(Object.keys(records[0]).map((k) => [k, r[k as keyof typeof r]]));
    const rows = await readBatchPackets(db.sql, [batchId]);
    assert.deepEqual(rows.map(pick), records.map(pick));
    const newestFirst = await lastRawPackets(db.sql, 4);
    assert.deepEqual(newestFirst.reverse().map(pick), records.map(pick));
    const blocks = await readStoredBatchPacketColumns(db.sql, [batchId]);
    assert.deepEqual(
      decodePacketColumns(inflateStoredPacketColumns(blocks.get(batchId)!)),
      records,
    );
  } finally {
    await db.close();
  }
});

Deno.test({
  name: "a batch transaction its client abandons does not hold the ingest lock for ever",
  // Needs a second session (the aggregator's) and a server that enforces the limit.
  ignore: !Deno.env.get("DATABASE_URL"),
  async fn() {
    const db = await openTestDatabase();
    try {
      const records = sampleRecords(20);
      // A client that stops talking mid-transaction with the ingest lock held
      // (what postgres.js left behind after a PostgreSQL restart, fault step 4).
      const abandoned = storePacketBatch(db.sql, {
        agentId: "a1",
        idempotencyKey: "k-abandoned",
        bodySha256: "h-abandoned",
        records,
      }, { afterLock: () => new Promise<void>(() => {}), idleLimitMs: 500 });
      abandoned.catch(() => {});
      // The aggregator's horizon takes the lock exclusively: it waits until
      // PostgreSQL ends the abandoned session. A generous bound, so a
      // regression fails here instead of hanging the suite.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const horizon = await Promise.race([
        readIngestHorizon(db.sql),
        new Promise<"held">((resolve) => timer = setTimeout(() => resolve("held"), 60_000)),
      ]).finally(() => clearTimeout(timer));
      if (horizon === "held") {
        // End it here, or the schema's clean-up would wait for it for ever.
        await db.sql`
          select pg_terminate_backend(pid) from pg_stat_activity
          where state = 'idle in transaction' and datname = current_database()
            and query like '%traffic_analyzer_ingest%'`;
        assert.fail("the abandoned transaction still holds the ingest lock after 60 s");
      }
      await assert.rejects(abandoned, "the abandoned batch is not acknowledged");
      const stored = await db
        .sql`select 1 from ingest_batches where idempotency_key = 'k-abandoned'`;
      assert.equal(stored.length, 0, "nothing of the abandoned batch is stored");
      // Ingest works again (the next batch takes the lock shared).
      const next = await storePacketBatch(db.sql, {
        agentId: "a1",
        idempotencyKey: "k-after",
        bodySha256: "h-after",
        records,
      });
      assert.equal(next.status, "stored");
    } finally {
      await db.close();
    }
  },
});
