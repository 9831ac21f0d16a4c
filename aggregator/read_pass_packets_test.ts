import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { openTestDatabase } from "@traffic-analyzer/shared/db/testing";
import {
  deleteBatchPacketColumns,
  readPendingBatches,
  type Sql,
  storePacketBatch,
} from "@traffic-analyzer/shared/db";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { encodePacketColumns, type PacketRecord } from "@traffic-analyzer/shared/packet";
import type { FlowPacket } from "@traffic-analyzer/shared/flow";
import { readPassPackets } from "./read_pass_packets.ts";

const db = await openTestDatabase();
// Closed (its PostgreSQL schema dropped) after the last test, even when --filter runs none.
Deno.test.afterAll(() => db.close());

/**
 * Three batches from two "agents" whose clocks overlap, with some packets
 * at exactly the same time, so ties between batches and inside a batch matter.
 */
function batches(): PacketRecord[][] {
  const a = sampleRecords(300, { seed: 1, startSec: 1_764_000_000, dataBytes: 48 });
  const b = sampleRecords(300, { seed: 2, startSec: 1_764_000_000, dataBytes: 48 });
  const c = sampleRecords(300, { seed: 3, startSec: 1_764_000_001, dataBytes: 48 });
  for (let i = 0; i < 40; i++) b[i * 7].timestamp = a[i * 7].timestamp;
  a[11].timestamp = a[10].timestamp;
  // A packet out of order inside a batch (two interfaces, one batch).
  [c[5].timestamp, c[6].timestamp] = [c[6].timestamp, c[5].timestamp];
  return [a, b, c];
}

/**
 * What a pass must see: batch order, stable by time, bytes only for ICMP,
 * each packet with the agent of its batch.
 */
function expected(stored: PacketRecord[][], agentOf: (batch: number) => string): FlowPacket[] {
  return stored.flatMap((records, batch) =>
    records.map((r) => ({
      ...r,
      data: r.ip_proto === 1 || r.ip_proto === 58 ? r.data : null,
      agent_id: agentOf(batch),
    }))
  ).sort((x, y) => x.timestamp - y.timestamp);
}

async function readAll(sql: Sql) {
  return await sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    const ready = await readPendingBatches(tx, {
      afterBatchId: 0,
      horizon: Number.MAX_SAFE_INTEGER,
      limit: 1_000,
    });
    const read = await readPassPackets(tx, { batches: ready });
    // Odd slices, so slice boundaries fall anywhere. A slice's records are
    // reused for the next, so each is copied as it comes.
    const slices: PacketRecord[][] = [];
    for (const slice of read.slices(97)) slices.push(slice.map((record) => ({ ...record })));
    assert.ok(slices.slice(0, -1).every((slice) => slice.length === 97));
    const packets = slices.flat();
    assert.equal(packets.length, read.count);
    return { batchesFromRows: read.batchesFromRows, packets };
  });
}

Deno.test("a pass reads the same packets from blocks, rows, or a mix of both", async (t) => {
  await db.sql`truncate ingest_batches, raw_packets, batch_packet_columns`;
  const stored = batches();
  for (const [i, records] of stored.entries()) {
    await storePacketBatch(db.sql, {
      agentId: `agent-${i % 2}`,
      idempotencyKey: `read-${i}`,
      bodySha256: `read-${i}`,
      records,
    });
  }
  const want = expected(stored, (batch) => `agent-${batch % 2}`);
  const ids = (await db.sql<{ id: number }[]>`select id from ingest_batches order by id`)
    .map((r) => r.id);

  await t.step("from blocks", async () => {
    const read = await readAll(db.sql);
    assert.equal(read.batchesFromRows, 0);
    assert.deepEqual(read.packets, want);
  });

  await t.step("a block stored uncompressed (by an older server) is read as a block", async () => {
    const block = Buffer.from(encodePacketColumns(stored[2]));
    await db.sql`update batch_packet_columns set block = ${block} where batch_id = ${ids[2]}`;
    const read = await readAll(db.sql);
    assert.equal(read.batchesFromRows, 0);
    assert.deepEqual(read.packets, want);
  });

  await t.step("a block of another layout is read from the rows", async () => {
    await db.sql`
      update batch_packet_columns set block = overlay(block placing '\\x00000000'::bytea from 5)
      where batch_id = ${ids[2]}`;
    const read = await readAll(db.sql);
    assert.equal(read.batchesFromRows, 1);
    assert.deepEqual(read.packets, want);
  });

  await t.step("a stored block that does not decompress is read from the rows", async () => {
    await db.sql`
      update batch_packet_columns set block = substring(block from 1 for length(block) - 16)
      where batch_id = ${ids[1]}`;
    const read = await readAll(db.sql);
    assert.equal(read.batchesFromRows, 2);
    assert.deepEqual(read.packets, want);
  });

  await t.step("a batch stored before blocks existed is read from its rows", async () => {
    await db.sql`delete from batch_packet_columns where batch_id = ${ids[0]}`;
    const read = await readAll(db.sql);
    assert.equal(read.batchesFromRows, 3);
    assert.deepEqual(read.packets, want);
  });

  await t.step("from rows only", async () => {
    await db.sql`delete from batch_packet_columns`;
    const read = await readAll(db.sql);
    assert.equal(read.batchesFromRows, 3);
    assert.deepEqual(read.packets, want);
  });
});

Deno.test("batches that follow one another in time are read in order", async () => {
  await db.sql`truncate ingest_batches, raw_packets, batch_packet_columns`;
  let startSec = 1_764_000_000;
  const stored = [1, 2, 3, 4].map((seed) => {
    const records = sampleRecords(250, { seed, startSec, dataBytes: 48 });
    startSec = records.at(-1)!.timestamp;
    return records;
  });
  for (const [i, records] of stored.entries()) {
    await storePacketBatch(db.sql, {
      agentId: "agent",
      idempotencyKey: `follow-${i}`,
      bodySha256: `follow-${i}`,
      records,
    });
  }
  const read = await readAll(db.sql);
  assert.deepEqual(read.packets, expected(stored, () => "agent"));
});

Deno.test("blocks are deleted for the batches a pass took only", async () => {
  await db.sql`truncate ingest_batches, raw_packets, batch_packet_columns`;
  for (const [i, records] of batches().entries()) {
    await storePacketBatch(db.sql, {
      agentId: "agent",
      idempotencyKey: `delete-${i}`,
      bodySha256: `delete-${i}`,
      records,
    });
  }
  const ids = (await db.sql<{ id: number }[]>`select id from ingest_batches order by id`)
    .map((r) => r.id);
  await deleteBatchPacketColumns(db.sql, [ids[0], ids[1]]);
  const left = await db.sql<{ batch_id: number }[]>`select batch_id from batch_packet_columns`;
  assert.deepEqual(left.map((r) => r.batch_id), [ids[2]]);
});

Deno.test("a repeated batch stores no second block", async () => {
  await db.sql`truncate ingest_batches, raw_packets, batch_packet_columns`;
  const records = sampleRecords(20, { seed: 9 });
  const batch = { agentId: "agent", idempotencyKey: "same", bodySha256: "same", records };
  assert.equal((await storePacketBatch(db.sql, batch)).status, "stored");
  assert.equal((await storePacketBatch(db.sql, batch)).status, "duplicate");
  const [{ count }] = await db.sql<{ count: number }[]>`
    select count(*)::int as count from batch_packet_columns`;
  assert.equal(count, 1);
});
