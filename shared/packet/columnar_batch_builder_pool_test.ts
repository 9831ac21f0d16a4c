import assert from "node:assert/strict";
import { busyRecords } from "../testing/busy_records.ts";
import { sampleRecords } from "../testing/sample_records.ts";
import type { PacketRecord } from "./packet_record.ts";
import type { ColumnarBatch } from "./columnar_batch.ts";
import { ColumnarBatchBuilderPool } from "./columnar_batch_builder_pool.ts";
import { scanJsonBatch } from "./json_batch_scanner.ts";
import { encodePacketColumnBlock } from "./packet_columns.ts";
import { encodeArrowBatch } from "./arrow_batch_writer.ts";

const ENCODER = new TextEncoder();
const NO_LIMIT = { maxRecords: 1_000_000 };

function scanned(records: PacketRecord[], pool: ColumnarBatchBuilderPool | null) {
  const body = ENCODER.encode(JSON.stringify(records));
  const builder = pool?.take();
  const batch = scanJsonBatch(body, { ...NO_LIMIT, builder });
  assert.ok(batch !== null, "the scanner read the batch");
  return { batch, builder };
}

/** What ingest stores of a batch, and what an agent would send of it. */
function outputs(batch: ColumnarBatch): string[] {
  return [encodePacketColumnBlock(batch).toHex(), encodeArrowBatch(batch).toHex()];
}

Deno.test("ColumnarBatchBuilderPool", async (t) => {
  await t.step("a reused builder leaves nothing of a larger batch in a smaller one", () => {
    const pool = new ColumnarBatchBuilderPool({ maxBuilders: 1 });
    const small = sampleRecords(11, { seed: 3, dataBytes: 8 });
    const fresh = outputs(scanned(small, null).batch);
    const large = scanned(busyRecords(3000), pool);
    pool.give(large.builder!);
    const reused = scanned(small, pool);
    assert.equal(reused.builder, large.builder, "the pool handed back the same builder");
    assert.deepEqual(outputs(reused.batch), fresh);
  });

  await t.step("a scan that failed part way leaves nothing behind either", () => {
    const pool = new ColumnarBatchBuilderPool({ maxBuilders: 1 });
    const small = sampleRecords(5, { seed: 4 });
    const fresh = outputs(scanned(small, null).batch);
    const records = busyRecords(40);
    const builder = pool.take();
    // A wrong value in the last record: the scanner has appended 39 rows and part of one.
    const body = JSON.stringify(records).replace(/"tls_sni":"sni-39.example"/, '"tls_sni":7');
    assert.equal(scanJsonBatch(ENCODER.encode(body), { ...NO_LIMIT, builder }), null);
    pool.give(builder);
    const reused = scanned(small, pool);
    assert.equal(reused.builder, builder);
    assert.deepEqual(outputs(reused.batch), fresh);
  });

  await t.step("keeps at most maxBuilders, and none grown past maxCapacity", () => {
    const pool = new ColumnarBatchBuilderPool({
      maxBuilders: 2,
      initialCapacity: 4,
      maxCapacity: 64,
    });
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    pool.give(a);
    pool.give(a);
    assert.equal(pool.spare, 1, "a builder given twice is kept once");
    pool.give(b);
    pool.give(c);
    assert.equal(pool.spare, 2);
    const big = new ColumnarBatchBuilderPool({ initialCapacity: 4, maxCapacity: 64 });
    const taken = big.take();
    const body = ENCODER.encode(JSON.stringify(sampleRecords(100)));
    assert.equal(scanJsonBatch(body, { ...NO_LIMIT, builder: taken })?.count, 100);
    assert.ok(taken.capacity > 64);
    big.give(taken);
    assert.equal(big.spare, 0);
  });

  await t.step("refuses options out of range, naming them", () => {
    assert.throws(() => new ColumnarBatchBuilderPool({ maxBuilders: -1 }), /'maxBuilders'/);
    assert.throws(() => new ColumnarBatchBuilderPool({ initialCapacity: 0 }), /'initialCapacity'/);
    assert.throws(
      () => new ColumnarBatchBuilderPool({ initialCapacity: 8, maxCapacity: 4 }),
      /'maxCapacity'/,
    );
  });
});
