import assert from "node:assert/strict";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import {
  decodeBatchBody,
  encodeBatch,
  MAX_BATCH_BODY_BYTES,
  splitEncodedBatch,
} from "./batch_codec.ts";

/** Records whose captured bytes do not compress, so bodies get big. */
function incompressible(count: number, dataBytes: number): PacketRecord[] {
  return sampleRecords(count).map((r) => ({
    ...r,
    data: crypto.getRandomValues(new Uint8Array(dataBytes)).toBase64(),
  }));
}

Deno.test("encodeBatch() gzips the records as one JSON array that decodes back equal", () => {
  const records = sampleRecords(100, { dataBytes: 64 });
  const [part, ...rest] = encodeBatch({ key: "a:1", records, createdAtMs: 2 });
  assert.equal(rest.length, 0);
  assert.equal(part.key, "a:1");
  assert.equal(part.records, 100);
  assert.equal(part.createdAtMs, 2);
  assert.deepEqual([...part.body.subarray(0, 2)], [0x1f, 0x8b]);
  assert.deepEqual(decodeBatchBody(part.body), records);
});

Deno.test("encodeBatch() splits a body too large for one KV write into halves with derived keys", () => {
  const records = incompressible(40, 30_000);
  const parts = encodeBatch({ key: "a:1", records, createdAtMs: 0 });
  assert.ok(parts.length >= 2);
  assert.ok(parts.every((p) => p.body.length <= MAX_BATCH_BODY_BYTES));
  assert.ok(parts.every((p) => /^a:1(\/[01])+$/.test(p.key)));
  assert.equal(new Set(parts.map((p) => p.key)).size, parts.length);
  assert.deepEqual(parts.flatMap((p) => decodeBatchBody(p.body)), records);
  assert.equal(parts.reduce((n, p) => n + p.records, 0), 40);
});

Deno.test("splitEncodedBatch() is deterministic, so a split after a crash repeats the same parts", () => {
  const records = sampleRecords(7, { dataBytes: 16 });
  const [whole] = encodeBatch({ key: "k", records, createdAtMs: 5 });
  const first = splitEncodedBatch(whole);
  const second = splitEncodedBatch(whole);
  assert.deepEqual(first.map((p) => p.key), ["k/0", "k/1"]);
  assert.deepEqual(first.map((p) => p.records), [3, 4]);
  assert.deepEqual(
    first.map((p) => decodeBatchBody(p.body)),
    second.map((p) => decodeBatchBody(p.body)),
  );
  assert.deepEqual(first.flatMap((p) => decodeBatchBody(p.body)), records);
  const [single] = encodeBatch({
    key: "s",
    records: records.slice(0, 1),
    createdAtMs: 0,
  });
  assert.throws(() => splitEncodedBatch(single), /1 record/);
});
