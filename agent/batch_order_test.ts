import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { columnsOf } from "./_test_support.ts";
import { encodeBatch, type EncodedBatch, splitEncodedBatch } from "./batch_codec.ts";
import { Batcher, type PacketBatch } from "./batcher.ts";
import { LiveStream } from "./live_stream.ts";
import { Outbox } from "./outbox.ts";
import { Uploader } from "./uploader.ts";

/** Records whose captured bytes do not compress, so bodies get big. */
function incompressible(count: number, dataBytes: number): PacketRecord[] {
  return sampleRecords(count).map((r) => ({
    ...r,
    data: crypto.getRandomValues(new Uint8Array(dataBytes)).toBase64(),
  }));
}

Deno.test("Batcher gives each batch its stream and the position of its first packet", () => {
  const batches: { key: string; order: PacketBatch["order"] }[] = [];
  const batcher = new Batcher({
    batchSize: 3,
    batchTimeoutMs: Infinity,
    agentId: "a1",
    firstIndex: 6,
    stream: "file-abc",
    keyOf: (first, count) => `a1:abc:${first}+${count}`,
    onBatch: (batch) => batches.push({ key: batch.key, order: batch.order }),
  });
  for (const record of sampleRecords(7)) batcher.add(record);
  batcher.close();
  assert.deepEqual(batches, [
    { key: "a1:abc:6+3", order: { stream: "file-abc", sequence: 6 } },
    { key: "a1:abc:9+3", order: { stream: "file-abc", sequence: 9 } },
    { key: "a1:abc:12+1", order: { stream: "file-abc", sequence: 12 } },
  ]);
});

Deno.test("a batch split in parts keeps each part's place in the capture", () => {
  const records = incompressible(8, 4096);
  const order = { stream: "file-x", sequence: 100 };
  const parts = encodeBatch(
    { key: "k", columns: columnsOf(records), createdAtMs: 0, order },
    { maxBodyBytes: 12_000 },
  );
  assert.ok(parts.length > 2, `split in ${parts.length} parts`);
  let next = 100;
  for (const part of parts) {
    assert.equal(part.order?.stream, "file-x");
    assert.equal(part.order?.sequence, next, `${part.key} starts where the previous part ended`);
    next += part.records;
  }
  assert.equal(next, 108);
  const [first, second] = splitEncodedBatch(parts[0].records > 1 ? parts[0] : parts[1]);
  assert.equal(second.order!.sequence, first.order!.sequence + first.records);
});

Deno.test("the uploader sends X-Batch-Stream and X-Batch-Sequence, and neither without an order", async () => {
  const seen: Headers[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    seen.push(request.headers);
    return Response.json({ status: "stored", batch_id: 1, stored: 1 }, { status: 201 });
  });
  try {
    const uploader = new Uploader({
      serverUrl: `http://127.0.0.1:${server.addr.port}/ingest_packets`,
      agentId: "a1",
      token: { get: () => Promise.resolve("t"), invalidate: () => {} },
      maxRetries: 0,
      retryDelayMs: 0,
    });
    const columns = columnsOf(sampleRecords(3));
    const [ordered] = encodeBatch({
      key: "k1",
      columns,
      createdAtMs: 0,
      order: { stream: "live-1", sequence: 42 },
    });
    const [plain] = encodeBatch({ key: "k2", columns, createdAtMs: 0 });
    assert.equal((await uploader.upload(ordered))[0].kind, "delivered");
    assert.equal((await uploader.upload(plain))[0].kind, "delivered");
    assert.equal(seen[0].get("x-batch-stream"), "live-1");
    assert.equal(seen[0].get("x-batch-sequence"), "42");
    assert.equal(seen[1].get("x-batch-stream"), null);
    assert.equal(seen[1].get("x-batch-sequence"), null);
  } finally {
    await server.shutdown();
  }
});

Deno.test("the outbox keeps a batch's place in the capture for its replay", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const outbox = new Outbox({ kv, maxBytes: 1 << 20 });
    const [batch] = encodeBatch({
      key: "a1:x",
      columns: columnsOf(sampleRecords(4)),
      createdAtMs: 1,
      order: { stream: "live-7", sequence: 900 },
    });
    await outbox.store(batch, { status: null, reason: "test" });
    const loaded = await outbox.load("a1:x");
    assert.deepEqual(loaded?.batch.order, { stream: "live-7", sequence: 900 });
  } finally {
    kv.close();
  }
});

Deno.test("LiveStream names the stream once and goes on from the last position after a restart", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const first = await LiveStream.open(kv, () => "id-1");
    assert.equal(first.stream, "live-id-1");
    assert.equal(first.firstIndex, 0);
    const submitted: EncodedBatch[][] = [];
    const delivery = {
      submit: (batch: PacketBatch) => {
        // Encoded at once, as the delivery does: the columns are reused afterwards.
        submitted.push(encodeBatch(batch));
        return Promise.resolve();
      },
    };
    const sink = first.sink(delivery);
    const accepted: Promise<void>[] = [];
    const batcher = new Batcher({
      batchSize: 5,
      batchTimeoutMs: 60_000,
      agentId: "a1",
      firstIndex: first.firstIndex,
      stream: first.stream,
      onBatch: (batch) => accepted.push(sink.submit(batch)),
    });
    for (const record of sampleRecords(12)) batcher.add(record);
    batcher.close();
    await Promise.all(accepted);

    const again = await LiveStream.open(kv, () => "id-2");
    assert.equal(again.stream, "live-id-1", "the same stream after a restart");
    assert.equal(again.firstIndex, 12, "positions go on, never handed out twice");
    assert.deepEqual(
      submitted.map((parts) => parts[0].order),
      [
        { stream: "live-id-1", sequence: 0 },
        { stream: "live-id-1", sequence: 5 },
        { stream: "live-id-1", sequence: 10 },
      ],
    );
  } finally {
    kv.close();
  }
});
