import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ColumnarBatchBuilder } from "@traffic-analyzer/shared/packet";
import { sampleRecords } from "@traffic-analyzer/shared/testing";
import type { PacketRecord } from "@traffic-analyzer/shared/packet/record";
import { columnsOf } from "./_test_support.ts";
import {
  bodyFormatOf,
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

Deno.test("encodeBatch() makes one zstd Arrow stream of the records that decodes back equal", () => {
  const records = sampleRecords(100, { dataBytes: 64 });
  const [part, ...rest] = encodeBatch({ key: "a:1", columns: columnsOf(records), createdAtMs: 2 });
  assert.equal(rest.length, 0);
  assert.equal(part.key, "a:1");
  assert.equal(part.records, 100);
  assert.equal(part.createdAtMs, 2);
  assert.deepEqual([...part.body.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
  assert.equal(bodyFormatOf(part.body).contentType, "application/vnd.apache.arrow.stream");
  assert.deepEqual(decodeBatchBody(part.body), records);
});

Deno.test("encodeBatch() gives the same bytes for the same packets, whatever came before", () => {
  const records = sampleRecords(30, { dataBytes: 8 });
  const [first] = encodeBatch({ key: "k", columns: columnsOf(records), createdAtMs: 0 });
  // A reused builder holding a longer batch first leaves nothing behind.
  const builder = new ColumnarBatchBuilder(4);
  for (const record of sampleRecords(37, { seed: 9, dataBytes: 20 })) builder.appendRecord(record);
  builder.reset();
  for (const record of records) builder.appendRecord(record);
  const [second] = encodeBatch({ key: "k", columns: builder.build(), createdAtMs: 0 });
  assert.deepEqual(second.body, first.body);
});

Deno.test("a gzip JSON body stored by an older agent is still read, sent as JSON and split", () => {
  const records = sampleRecords(6, { dataBytes: 8 });
  const body = new Uint8Array(gzipSync(JSON.stringify(records)));
  assert.deepEqual(bodyFormatOf(body), {
    contentType: "application/json",
    contentEncoding: "gzip",
  });
  assert.deepEqual(decodeBatchBody(body), records);
  const halves = splitEncodedBatch({ key: "old", records: 6, body, createdAtMs: 0 });
  assert.deepEqual(halves.flatMap((p) => decodeBatchBody(p.body)), records);
  assert.ok(halves.every((p) => bodyFormatOf(p.body).contentType === "application/json"));
});

Deno.test("WIRE_FORMAT=json encodes gzip JSON for a server older than Arrow ingest", () => {
  const records = sampleRecords(9, { dataBytes: 8 });
  const [part] = encodeBatch({ key: "j", columns: columnsOf(records), createdAtMs: 0 }, {
    format: "json",
  });
  assert.deepEqual([...part.body.subarray(0, 2)], [0x1f, 0x8b]);
  assert.deepEqual(decodeBatchBody(part.body), records);
});

Deno.test("encodeBatch() splits a body too large for one KV write into halves with derived keys", () => {
  const records = incompressible(40, 30_000);
  const parts = encodeBatch({ key: "a:1", columns: columnsOf(records), createdAtMs: 0 });
  assert.ok(parts.length >= 2);
  assert.ok(parts.every((p) => p.body.length <= MAX_BATCH_BODY_BYTES));
  assert.ok(parts.every((p) => /^a:1(\/[01])+$/.test(p.key)));
  assert.equal(new Set(parts.map((p) => p.key)).size, parts.length);
  assert.deepEqual(parts.flatMap((p) => decodeBatchBody(p.body)), records);
  assert.equal(parts.reduce((n, p) => n + p.records, 0), 40);
});

Deno.test("splitEncodedBatch() is deterministic, so a split after a crash repeats the same parts", () => {
  const records = sampleRecords(7, { dataBytes: 16 });
  const [whole] = encodeBatch({ key: "k", columns: columnsOf(records), createdAtMs: 5 });
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
    columns: columnsOf(records.slice(0, 1)),
    createdAtMs: 0,
  });
  assert.throws(() => splitEncodedBatch(single), /1 record/);
});
