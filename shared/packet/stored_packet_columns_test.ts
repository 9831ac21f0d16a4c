import assert from "node:assert/strict";
import { sampleRecords } from "../testing/sample_records.ts";
import { decodePacketColumns, encodePacketColumns } from "./packet_columns.ts";
import {
  compressPacketColumnBlock,
  inflateStoredPacketColumns,
  StoredPacketColumnsError,
} from "./stored_packet_columns.ts";

Deno.test("a compressed block inflates to the same block, smaller than it was", () => {
  const records = sampleRecords(500, { seed: 4, dataBytes: 48 });
  const block = encodePacketColumns(records);
  const stored = compressPacketColumnBlock(block);
  assert.ok(stored.length < block.length / 2, `${stored.length} of ${block.length} bytes`);
  assert.deepEqual(inflateStoredPacketColumns(stored), block);
  assert.deepEqual(decodePacketColumns(inflateStoredPacketColumns(stored)).length, records.length);
});

Deno.test("a block stored uncompressed (by an older server) is read as it is", () => {
  const block = encodePacketColumns(sampleRecords(20, { seed: 5 }));
  assert.equal(inflateStoredPacketColumns(block), block);
});

Deno.test("inflateStoredPacketColumns() refuses a cut frame and one over the limit", async (t) => {
  const block = encodePacketColumns(sampleRecords(200, { seed: 6 }));
  const stored = compressPacketColumnBlock(block);
  await t.step("cut", () => {
    assert.throws(
      () => inflateStoredPacketColumns(stored.subarray(0, stored.length - 16)),
      StoredPacketColumnsError,
    );
  });
  await t.step("over maxBlockBytes", () => {
    assert.throws(
      () => inflateStoredPacketColumns(stored, { maxBlockBytes: block.length - 1 }),
      StoredPacketColumnsError,
    );
    assert.deepEqual(inflateStoredPacketColumns(stored, { maxBlockBytes: block.length }), block);
  });
});

Deno.test("blocks of any size inflate whole, the smallest too", () => {
  for (const count of [0, 1, 2, 37, 2000]) {
    const block = encodePacketColumns(sampleRecords(count, { seed: 7 + count }));
    const inflated = inflateStoredPacketColumns(compressPacketColumnBlock(block));
    assert.deepEqual(inflated, block);
    assert.equal(decodePacketColumns(inflated).length, count);
  }
});
