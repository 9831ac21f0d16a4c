import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { sampleRecords } from "../testing/sample_records.ts";
import { ColumnarBatchBuilder } from "./columnar_batch_builder.ts";
import { readJsonBatch } from "./json_batch_reader.ts";
import { encodePacketColumnBlock } from "./packet_columns.ts";
import { hasEveryFieldInOrder, PACKET_FIELDS, validatePacketBatch } from "./packet_schema.ts";

/** What the JSON path did before readJsonBatch: validate every record, then append them. */
function validateThenAppend(parsed: unknown) {
  const result = validatePacketBatch(parsed);
  if (!result.ok) return result;
  const builder = new ColumnarBatchBuilder(result.records.length);
  for (const record of result.records) builder.appendRecord(record);
  return { ok: true as const, batch: builder.build() };
}

function assertSameOutcome(parsed: unknown, label: string): void {
  const expected = validateThenAppend(parsed);
  const actual = readJsonBatch(parsed);
  assert.equal(actual.ok, expected.ok, label);
  if (!actual.ok && !expected.ok) assert.deepEqual(actual.issue, expected.issue, label);
  if (actual.ok && expected.ok) {
    assert.equal(actual.batch.count, expected.batch.count, label);
    assert.deepEqual(
      encodePacketColumnBlock(actual.batch),
      encodePacketColumnBlock(expected.batch),
      label,
    );
  }
}

const SEED_RECORD = {
  timestamp: 1_764_000_000.25,
  interface: "eth0",
  src_ip: "192.0.2.1",
  dst_ip: "2001:db8::1",
  protocol: "TCP",
  src_port: 1234,
  dst_port: 80,
  length: 60,
};

Deno.test("hasEveryFieldInOrder() takes a record as JSON.stringify writes it, and nothing else", () => {
  const [record] = JSON.parse(JSON.stringify(sampleRecords(1, { dataBytes: 6 })));
  assert.ok(hasEveryFieldInOrder(record));
  const { timestamp, ...rest } = record;
  assert.ok(!hasEveryFieldInOrder(rest));
  assert.ok(!hasEveryFieldInOrder({ ...rest, timestamp }));
  assert.ok(!hasEveryFieldInOrder({ ...record, extra: 1 }));
  assert.ok(!hasEveryFieldInOrder(SEED_RECORD));
  assert.ok(!hasEveryFieldInOrder({}));
  assert.equal(Object.keys(record).length, PACKET_FIELDS.length);
});

Deno.test("readJsonBatch() builds the batch validatePacketBatch and appendRecord build", () => {
  // JSON text round trip: the objects have the shape JSON.parse gives the server.
  const records = JSON.parse(JSON.stringify(sampleRecords(300, { dataBytes: 40 })));
  assertSameOutcome(records, "every field");
  assertSameOutcome([SEED_RECORD, ...records.slice(0, 5), SEED_RECORD], "seed-style mixed in");
  assertSameOutcome(
    [{ ...SEED_RECORD, tls_sni: "example.org", app_protocol: "tls", dns_ttl: 30 }],
    "seed-style with app fields",
  );
  for (const input of [{}, [], [3], [null], [[1]], "x", null]) {
    assertSameOutcome(input, JSON.stringify(input));
  }
});

Deno.test("readJsonBatch() accepts and refuses what validatePacketBatch does, naming the same field", () => {
  const base = JSON.parse(JSON.stringify(sampleRecords(50, { dataBytes: 6 }))) as Record<
    string,
    unknown
  >[];
  const fields = Object.keys(base[0]);
  const oddValues = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.integer({ min: -5, max: 70_000 }),
    fc.double(),
    fc.constantFrom(0, 4, 6, 255, 256, 4095, 2 ** 32, -0, 1.5, Infinity, NaN),
    fc.constantFrom("", "10.0.0.1", "::1", "2001:db8::1", "not an ip", "AAAA", "AAA="),
    fc.constantFrom("02:00:00:00:00:01", "vxlan", "mpls", "VXLAN", "l2tp", "tls", "dns"),
    fc.string(),
    fc.constantFrom("eth\u00000", "\ud800", "a\udfffb", "\ud83d\ude00"),
  );
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.nat({ max: base.length - 1 }),
          fc.constantFrom(...fields, "extra"),
          oddValues,
          fc.boolean(),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      (changes) => {
        // A few records, each changed at one field; some moved to the end of
        // the key order (a record with its keys in another order).
        const batch = changes.map(([index, field, value, moved]) => {
          const record = { ...base[index] };
          if (value === undefined || moved) delete record[field];
          if (value !== undefined) record[field] = value;
          return record;
        });
        // A value repeated from an earlier record is in the dictionary already.
        batch.push({ ...batch[0] });
        assertSameOutcome(batch, JSON.stringify(changes));
      },
    ),
    propertyRuns(2000),
  );
});
