import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { ColumnarBatchBuilder } from "@traffic-analyzer/shared/packet";
import { encodeBatch, type EncodedBatch } from "./batch_codec.ts";
import { WorkerBatchEncoder } from "./batch_encoder.ts";
import { Batcher, type PacketBatch } from "./batcher.ts";
import { Delivery } from "./delivery.ts";
import { DryRunSink } from "./dry_run_sink.ts";
import { Outbox } from "./outbox.ts";
import { columnsOf } from "./_test_support.ts";

Deno.test("WorkerBatchEncoder gives encodeBatch's bytes and parts, though the builder is reused at once", async () => {
  const encoder = new WorkerBatchEncoder();
  try {
    const first = sampleRecords(40, { seed: 1, dataBytes: 300 });
    const second = sampleRecords(25, { seed: 2, dataBytes: 16 });
    const builder = new ColumnarBatchBuilder(8);
    for (const record of first) builder.appendRecord(record);
    const order = { stream: "live-x", sequence: 7 };
    // Small enough to split the first batch: the parts and their keys must match too.
    const options = { format: "arrow" as const, maxBodyBytes: 4_000 };
    const encodingFirst = encoder.encode(
      { key: "a:1", columns: builder.build(), createdAtMs: 5, order },
      options,
    );
    // The next batch overwrites the arrays the first was built in before the worker answers.
    builder.reset();
    for (const record of second) builder.appendRecord(record);
    const encodingSecond = encoder.encode(
      { key: "a:2", columns: builder.build(), createdAtMs: 6, order: null },
      options,
    );
    const expectedFirst = encodeBatch(
      { key: "a:1", columns: columnsOf(first), createdAtMs: 5, order },
      options,
    );
    const expectedSecond = encodeBatch(
      { key: "a:2", columns: columnsOf(second), createdAtMs: 6, order: null },
      options,
    );
    assert.ok(expectedFirst.length > 1, "the first batch should split");
    assert.deepEqual(await encodingFirst, expectedFirst);
    assert.deepEqual(await encodingSecond, expectedSecond);
  } finally {
    encoder.close();
  }
});

Deno.test("WorkerBatchEncoder reports an encoding error, and a closed one refuses batches", async () => {
  const encoder = new WorkerBatchEncoder();
  try {
    const empty = new ColumnarBatchBuilder(1).build();
    await assert.rejects(
      encoder.encode({ key: "a:0", columns: empty, createdAtMs: 0 }, {}),
      /has no records/,
    );
  } finally {
    encoder.close();
  }
  const columns = columnsOf(sampleRecords(2));
  await assert.rejects(
    encoder.encode({ key: "a:1", columns, createdAtMs: 0 }, {}),
    /encoder is closed/,
  );
});

/** Batches a real Batcher makes (its columns are reused batch after batch), with their records. */
function batchesOf(
  size: number,
  count: number,
  onBatch: (batch: PacketBatch) => void,
): PacketBatch[][] {
  const records = sampleRecords(size * count, { seed: 3, dataBytes: 40 });
  const batcher = new Batcher({
    batchSize: size,
    batchTimeoutMs: Infinity,
    agentId: "a",
    keyOf: (first, n) => `a:${first}:${n}`,
    onBatch,
  });
  for (const record of records) batcher.add(record);
  batcher.close();
  return Array.from({ length: count }, (_, i) => [{
    key: `a:${i * size}:${size}`,
    firstIndex: i * size,
    count: size,
    columns: columnsOf(records.slice(i * size, (i + 1) * size)),
    openedAtMs: 0,
    createdAtMs: 0,
  }]);
}

Deno.test("Delivery with a worker encoder uploads a batcher's batches in order, byte for byte, and drain waits for them", async () => {
  const kv = await Deno.openKv(":memory:");
  const encoder = new WorkerBatchEncoder();
  try {
    const uploaded: EncodedBatch[] = [];
    const delivery = new Delivery({
      uploader: {
        upload: (batch) => {
          uploaded.push(batch);
          return Promise.resolve([{ kind: "delivered", batch, status: 201 }]);
        },
      },
      outbox: new Outbox({ kv, maxBytes: 1 << 30, replayDelayMs: 3_600_000 }),
      maxInFlight: 1,
      encoder,
    });
    const submitted: Promise<void>[] = [];
    const expected = batchesOf(50, 6, (batch) => {
      submitted.push(delivery.submit({ ...batch, createdAtMs: 0 }));
    }).map(([batch]) => encodeBatch(batch)[0]);
    await Promise.all(submitted);
    await delivery.drain();
    assert.deepEqual(uploaded.map((b) => b.key), expected.map((b) => b.key));
    assert.deepEqual(uploaded, expected);
  } finally {
    encoder.close();
    kv.close();
  }
});

Deno.test("DryRunSink with a worker encoder counts the bytes encodeBatch makes once drained", async () => {
  const encoder = new WorkerBatchEncoder();
  try {
    const sink = new DryRunSink("arrow", encoder);
    const submitted: Promise<void>[] = [];
    const expected = batchesOf(30, 4, (batch) => {
      submitted.push(sink.submit({ ...batch, createdAtMs: 0 }));
    }).reduce((sum, [batch]) => sum + encodeBatch(batch)[0].body.length, 0);
    await Promise.all(submitted);
    await sink.drain();
    assert.equal(sink.bodyBytes, expected);
    assert.equal(sink.records, 120);
  } finally {
    encoder.close();
  }
});

Deno.test("WorkerBatchEncoder encodes inline once its worker has died, so capture neither stalls nor loses batches", async () => {
  const dir = await Deno.makeTempDir();
  const workerPath = `${dir}/dying_worker.ts`;
  // Dies on its first batch with an error nothing catches, as a worker out of memory would.
  await Deno.writeTextFile(
    workerPath,
    'self.onmessage = () => { throw new Error("worker died"); };',
  );
  const encoder = new WorkerBatchEncoder({ workerUrl: new URL(`file://${workerPath}`).href });
  try {
    const records = sampleRecords(30, { seed: 3 });
    const batch = { key: "d:1", columns: columnsOf(records), createdAtMs: 9, order: null };
    await assert.rejects(encoder.encode(batch, {}), /worker failed/);
    assert.equal(encoder.workerFailed, true);
    const next = { ...batch, key: "d:2" };
    assert.deepEqual(await encoder.encode(next, {}), encodeBatch(next, {}));
  } finally {
    encoder.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WorkerBatchEncoder takes a batcher's arrays without a copy and hands them back for later batches", async () => {
  const encoder = new WorkerBatchEncoder();
  try {
    const records = sampleRecords(5 * 40, { seed: 6, dataBytes: 60 });
    const encodings: Promise<EncodedBatch[]>[] = [];
    const spares: boolean[] = [];
    const columnsAfterSubmit: number[] = [];
    const batcher = new Batcher({
      batchSize: 40,
      batchTimeoutMs: Infinity,
      agentId: "a",
      keyOf: (first, n) => `a:${first}:${n}`,
      onBatch: (batch) => {
        const detach = batch.detach!;
        encodings.push(encoder.encode({
          ...batch,
          detach: (spare) => {
            spares.push(spare !== null);
            return detach(spare);
          },
        }, {}));
        // Transferred, not copied: the batcher's arrays are gone from this thread.
        const data = batch.columns.columns.find((column) => column.storage === "binary");
        columnsAfterSubmit.push(data?.storage === "binary" ? data.offsets.length : -1);
      },
    });
    for (let i = 0; i < 5; i++) {
      for (const record of records.slice(i * 40, (i + 1) * 40)) batcher.add(record);
      // The worker answers (and sends the arrays back) before the next batch closes.
      await encodings[i];
    }
    batcher.close();
    for (let i = 0; i < 5; i++) {
      const rows = records.slice(i * 40, (i + 1) * 40);
      const expected = encodeBatch(
        { key: `a:${i * 40}:40`, columns: columnsOf(rows), createdAtMs: 0, order: null },
        {},
      );
      const parts = await encodings[i];
      assert.deepEqual(
        parts.map((part) => [part.key, part.body]),
        expected.map((part) => [part.key, part.body]),
      );
    }
    assert.deepEqual(spares, [false, true, true, true, true]);
    assert.deepEqual(columnsAfterSubmit, [0, 0, 0, 0, 0]);
  } finally {
    encoder.close();
  }
});
