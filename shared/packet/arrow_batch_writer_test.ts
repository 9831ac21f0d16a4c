import assert from "node:assert/strict";
import { RecordBatchStreamWriter } from "apache-arrow";
import { sampleRecords } from "../testing/sample_records.ts";
import type { PacketRecord } from "./packet_record.ts";
import { ColumnarBatchBuilder } from "./columnar_batch_builder.ts";
import { arrowRecordBatch, encodeArrowBatch, withArrowBatch } from "./arrow_batch_writer.ts";

function columns(records: PacketRecord[]) {
  const builder = new ColumnarBatchBuilder(Math.max(1, records.length));
  for (const record of records) builder.appendRecord(record);
  return builder.build();
}

/** The stream as Arrow's own writer joins it. */
function arrowsOwn(records: PacketRecord[]): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.write(arrowRecordBatch(columns(records)));
  writer.finish();
  return writer.toUint8Array(true);
}

Deno.test("encodeArrowBatch() writes the bytes Arrow's own stream writer joins", () => {
  const records = sampleRecords(300, { dataBytes: 40 });
  assert.deepEqual(encodeArrowBatch(columns(records)), arrowsOwn(records));
});

Deno.test("withArrowBatch() gives a batch its own stream, whatever a larger batch left in the buffer", () => {
  const large = sampleRecords(4000, { seed: 2, dataBytes: 600 });
  const small = sampleRecords(7, { seed: 3, dataBytes: 8 });
  const largeStream = withArrowBatch(columns(large), (stream) => stream.slice());
  assert.deepEqual(largeStream, arrowsOwn(large));
  const smallStream = withArrowBatch(columns(small), (stream) => stream.slice());
  assert.deepEqual(smallStream, arrowsOwn(small));
});

Deno.test("withArrowBatch() inside another's use writes a buffer of its own", () => {
  const outer = sampleRecords(50, { seed: 4, dataBytes: 100 });
  const inner = sampleRecords(60, { seed: 5, dataBytes: 90 });
  const [outerStream, innerStream] = withArrowBatch(columns(outer), (stream) => {
    const nested = withArrowBatch(columns(inner), (s) => s.slice());
    return [stream.slice(), nested];
  });
  assert.deepEqual(outerStream, arrowsOwn(outer));
  assert.deepEqual(innerStream, arrowsOwn(inner));
});
