import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import { Batcher, type PacketBatch } from "./batcher.ts";
import type { EncodedBatch } from "./batch_codec.ts";
import { Delivery } from "./delivery.ts";
import type { UploadOutcome } from "./uploader.ts";
import { Outbox } from "./outbox.ts";
import { keptBatch, waitFor } from "./_test_support.ts";

/** `count` batches of `size` records, made by a real Batcher. */
function makeBatches(count: number, size: number): PacketBatch[] {
  const batches: PacketBatch[] = [];
  const batcher = new Batcher({
    batchSize: size,
    batchTimeoutMs: 60_000,
    agentId: "hold-test",
    onBatch: (b) => batches.push(keptBatch(b)),
  });
  for (const r of sampleRecords(count * size, { seed: 7, startSec: 1_700_000_000 })) {
    batcher.add(r);
  }
  batcher.close();
  return batches;
}

/** A delivery whose uploads are recorded (and succeed), with a hold the test sets. */
async function holdHarness(options: { maxBytes?: number } = {}) {
  const kv = await Deno.openKv(":memory:");
  const outbox = new Outbox({
    kv,
    target: "http://127.0.0.1:1/ingest_packets",
    maxBytes: options.maxBytes ?? 1 << 30,
    replayDelayMs: 50,
    maxReplayDelayMs: 200,
    sweepIntervalMs: 1_000,
    lostAfterMs: 2_000,
  });
  const uploaded: string[] = [];
  const state = { held: true };
  const delivery = new Delivery({
    uploader: {
      upload: (batch: EncodedBatch): Promise<UploadOutcome[]> => {
        uploaded.push(batch.key);
        return Promise.resolve([{ kind: "delivered", batch, status: 201 }]);
      },
    },
    outbox,
    maxInFlight: 2,
    maxQueuedBatches: 3,
    overflow: "store",
    whenOutboxFull: "drop-oldest",
    holdUploads: () => state.held,
  });
  outbox.listen(async (key) => {
    await delivery.replay(key);
  });
  return {
    outbox,
    delivery,
    uploaded,
    state,
    async close() {
      await delivery.close({ graceMs: 1_000 });
      await outbox.stop();
      kv.close();
    },
  };
}

Deno.test("Delivery with holdUploads: batches wait while capture is behind, queued and then stored, and all go once it has caught up", async () => {
  const h = await holdHarness();
  try {
    const batches = makeBatches(8, 20);
    for (const batch of batches) await h.delivery.submit(batch);
    // Held: nothing is sent; past the queue's 3 batches the oldest went to the outbox.
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(h.uploaded, []);
    assert.deepEqual(h.delivery.backlog, { queued: 3, inFlight: 0 });
    const stored = [];
    for await (const info of h.outbox.pending()) stored.push(info.key);
    assert.deepEqual(stored.sort(), batches.slice(0, 5).map((b) => b.key).sort());
    // Caught up: the queue goes out, and the stored batches are replayed from the outbox.
    h.state.held = false;
    await waitFor("every batch sent", () => Promise.resolve(h.uploaded.length === 8), 10_000);
    assert.deepEqual([...h.uploaded].sort(), batches.map((b) => b.key).sort());
    assert.equal(h.delivery.tally.get("sent").batches, 3);
  } finally {
    await h.close();
  }
});

Deno.test("Delivery with holdUploads: close sends what waited, hold or not", async () => {
  const h = await holdHarness();
  try {
    const batches = makeBatches(2, 10);
    for (const batch of batches) await h.delivery.submit(batch);
    assert.deepEqual(h.uploaded, []);
    await h.delivery.close({ graceMs: 5_000 });
    assert.deepEqual(h.uploaded, batches.map((b) => b.key));
  } finally {
    await h.close();
  }
});

Deno.test("Delivery with holdUploads: no hold once the outbox is half full", async () => {
  // Each batch's body is a few kB: a 4 kB cap is half full after the first one stored.
  const h = await holdHarness({ maxBytes: 4_000 });
  try {
    const batches = makeBatches(8, 20);
    for (const batch of batches) await h.delivery.submit(batch);
    await waitFor("uploads despite the hold", () => Promise.resolve(h.uploaded.length > 0), 5_000);
  } finally {
    await h.close();
  }
});
