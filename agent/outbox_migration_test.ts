import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { encodeBatch, type EncodedBatch } from "./batch_codec.ts";
import { Outbox } from "./outbox.ts";
import { migrateAgentStore } from "./outbox_migration.ts";
import { unaccountedRecords } from "./agent_counters.ts";
import { columnsOf } from "./_test_support.ts";

const A = "http://127.0.0.1:8000/ingest_packets";
const failed = { status: 503, reason: "HTTP 503" };

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ta-outbox-migration-" });
  const kv = await Deno.openKv(`${dir}/agent.kv`);
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function batch(key: string, records: number, seed: number): EncodedBatch {
  const [encoded] = encodeBatch({
    key,
    columns: columnsOf(sampleRecords(records, { seed })),
    createdAtMs: 1_000,
  });
  return encoded;
}

function outbox(kv: Deno.Kv): Outbox {
  // A long replay delay keeps the queue quiet.
  return new Outbox({ kv, maxBytes: 1 << 30, target: A, replayDelayMs: 3_600_000 });
}

/** Adds `n` to a KvU64 counter and to the totals, as the agent that filed an entry did. */
async function count(kv: Deno.Kv, counter: string, n: number, totals?: [number, number]) {
  const op = kv.atomic().sum(["counters", counter], BigInt(n));
  if (counter !== "captured") op.sum(["counters", "captured"], BigInt(n));
  if (totals !== undefined) {
    const now = (await kv.get<{ batches: number; records: number; bytes: number }>([
      "outbox",
      "totals",
    ])).value ?? { batches: 0, records: 0, bytes: 0 };
    op.set(["outbox", "totals"], {
      batches: now.batches + totals[0],
      records: now.records + n,
      bytes: now.bytes + totals[1],
    });
  }
  await op.commit();
}

/** Writes `b` as an agent before per-server keys stored it: pending, or a dead letter. */
async function writeOld(kv: Deno.Kv, b: EncodedBatch, as: "pending" | "dead"): Promise<void> {
  await kv.set(["chunk", b.key, 0], b.body);
  const info = {
    key: b.key,
    records: b.records,
    bodyBytes: b.body.length,
    chunks: 1,
    createdAtMs: b.createdAtMs,
    order: null,
    target: A,
  };
  if (as === "dead") {
    await kv.set(["dead", b.key], { ...info, deadAtMs: 2_000, status: 400, reason: "HTTP 400" });
    await count(kv, "dead_lettered", b.records);
    return;
  }
  await kv.set(["outbox", "batch", b.key], {
    ...info,
    storedAtMs: 2_000,
    attempts: 1,
    nextAttemptAtMs: 3_000,
    queueToken: crypto.randomUUID(),
    lastStatus: 503,
    lastReason: "HTTP 503",
  });
  await kv.set(["outbox", "age", 2_000, b.key], true);
  await kv.set(["outbox", "undelivered", b.key], { key: b.key, token: "gone" });
  await count(kv, "captured", b.records, [1, b.body.length]);
}

async function oldLayoutLeft(kv: Deno.Kv): Promise<Deno.KvKey[]> {
  const left: Deno.KvKey[] = [];
  for (
    const prefix of [["outbox", "batch"], ["outbox", "age"], ["outbox", "undelivered"], ["dead"]]
  ) {
    for await (const entry of kv.list({ prefix })) left.push(entry.key);
  }
  return left;
}

Deno.test("migrateAgentStore removes an old pending batch its server holds already: sent once, capped once, counted once", async () => {
  await withKv(async (kv) => {
    // An agent of this layout stored the batch for A; an older agent, run on the store
    // again, filed the same batch (same key, same server) in the old layout.
    const b = batch("agent:file:0+4", 4, 1);
    assert.equal((await outbox(kv).store(b, failed)).outcome, "stored");
    await writeOld(kv, b, "pending");
    assert.equal((await outbox(kv).status()).pendingBatches, 2, "both copies counted before");

    const migration = await migrateAgentStore(kv);
    assert.deepEqual(migration, { batches: 0, deadLetters: 0, duplicates: 1 });

    const box = outbox(kv);
    const status = await box.status();
    assert.deepEqual(
      [status.pendingBatches, status.pendingRecords, status.pendingBytes],
      [1, 4, b.body.length],
      "the cap counts the copy that can be delivered, once",
    );
    assert.deepEqual([status.counters.captured, status.counters.stored], [4, 4]);
    assert.equal(unaccountedRecords(status.counters), 0);
    assert.deepEqual(await oldLayoutLeft(kv), []);
    assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["chunk"] })), [], "its body too");
    // The copy kept is whole and goes out once.
    const kept = await box.load(b.key);
    assert.deepEqual(kept?.batch.body, b.body);
    assert.ok(kept !== null && await box.complete(kept, { sent: 4, replayed: 4 }));
    const after = await box.status();
    assert.equal(after.pendingBatches, 0);
    assert.deepEqual([after.counters.captured, after.counters.sent], [4, 4]);
    assert.equal(unaccountedRecords(after.counters), 0);
  });
});

Deno.test("migrateAgentStore keeps an old body the kept copy still reads, and removes a duplicate dead letter", async () => {
  await withKv(async (kv) => {
    // Moved by an earlier open (its body stays under ["chunk", key]), then filed again in
    // the old layout by an older agent: both read the same chunks.
    const b = batch("agent:file:4+3", 3, 2);
    await writeOld(kv, b, "pending");
    assert.deepEqual(await migrateAgentStore(kv), { batches: 1, deadLetters: 0, duplicates: 0 });
    await writeOld(kv, b, "pending");
    // A dead letter of this layout, dead-lettered again in the old one.
    const d = batch("agent:file:7+2", 2, 3);
    assert.equal(await outbox(kv).deadLetter(d, { status: 400, reason: "HTTP 400" }), "filed");
    await writeOld(kv, d, "dead");

    assert.deepEqual(await migrateAgentStore(kv), { batches: 0, deadLetters: 0, duplicates: 2 });

    const box = outbox(kv);
    const status = await box.status();
    assert.deepEqual([status.pendingBatches, status.pendingRecords], [1, 3]);
    assert.deepEqual(status.deadLetters.map((x) => x.key), [d.key]);
    assert.deepEqual(
      [status.counters.captured, status.counters.stored, status.counters.dead_lettered],
      [5, 3, 2],
    );
    assert.equal(unaccountedRecords(status.counters), 0);
    assert.deepEqual(await oldLayoutLeft(kv), []);
    assert.deepEqual((await box.load(b.key))?.batch.body, b.body, "the shared body stays");
    assert.deepEqual((await box.loadDeadLetter(d.key))?.body, d.body);
    // d's old body was its own: nothing reads it any more.
    assert.deepEqual(
      (await Array.fromAsync(kv.list({ prefix: ["chunk"] }))).map((e) => e.key[1]),
      [b.key],
    );
  });
});

Deno.test("migrateAgentStore leaves one copy of a batch the old layout kept pending and the new one dead-lettered", async () => {
  await withKv(async (kv) => {
    const b = batch("agent:file:9+2", 2, 4);
    assert.equal(await outbox(kv).deadLetter(b, { status: 400, reason: "HTTP 400" }), "filed");
    await writeOld(kv, b, "pending");

    assert.deepEqual(await migrateAgentStore(kv), { batches: 0, deadLetters: 0, duplicates: 1 });

    const box = outbox(kv);
    const status = await box.status();
    assert.equal(status.pendingBatches, 0, "never both pending and dead-lettered");
    assert.deepEqual(status.deadLetters.map((x) => x.key), [b.key]);
    assert.deepEqual([status.counters.captured, status.counters.dead_lettered], [2, 2]);
    assert.equal(unaccountedRecords(status.counters), 0);
    assert.deepEqual((await box.loadDeadLetter(b.key))?.body, b.body);
  });
});
