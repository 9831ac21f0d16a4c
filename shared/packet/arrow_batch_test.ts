import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import {
  Binary,
  Bool,
  CompressionType,
  Dictionary,
  type Field,
  Float64,
  Int16,
  Int32,
  Int64,
  makeBuilder,
  RecordBatchStreamWriter,
  Table,
  tableFromIPC,
  tableToIPC,
  Uint16,
  Uint32,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { ColumnarBatchBuilder } from "./columnar_batch_builder.ts";
import { batchRecords, type StringColumn } from "./columnar_batch.ts";
import { encodeArrowBatch } from "./arrow_batch_writer.ts";
import { readArrowBatch } from "./arrow_batch_reader.ts";
import { PACKET_ARROW_SCHEMA } from "./arrow_schema.ts";
import { registerArrowCodecs } from "./arrow_codecs.ts";
import type { PacketRecord } from "./packet_record.ts";
import { PACKET_FIELDS, validatePacketBatch } from "./packet_schema.ts";
import { sampleRecords } from "../testing/sample_records.ts";

const LIMITS = { maxRecords: 20_000 };

function encodeRecords(records: readonly PacketRecord[]): Uint8Array {
  const builder = new ColumnarBatchBuilder(records.length);
  for (const record of records) builder.appendRecord(record);
  return encodeArrowBatch(builder.build());
}

function read(bytes: Uint8Array) {
  return readArrowBatch(bytes, LIMITS);
}

function readRecords(bytes: Uint8Array): PacketRecord[] {
  const result = read(bytes);
  if (!result.ok) assert.fail(`refused: ${JSON.stringify(result.issue)}`);
  return batchRecords(result.batch);
}

function issueOf(bytes: Uint8Array) {
  const result = read(bytes);
  assert.equal(result.ok, false, "expected the batch to be refused");
  return (result as { issue: { record: number | null; field: string | null; message: string } })
    .issue;
}

Deno.test("the agent's Arrow batch reads back to the same records", () => {
  const records = sampleRecords(500, { seed: 3, dataBytes: 40 });
  records[10] = { ...records[10], data: null, src_ip: null, dst_ip: null, eth_src: null };
  records[11] = { ...records[11], src_ip: "2001:db8::1", ip_version: 6, malformed: true };
  records[11].malformed_reason = "tcp: truncated header";
  assert.deepEqual(readRecords(encodeRecords(records)), records);
});

Deno.test("the schema on the wire has every field of the table, typed and nullable as it says", () => {
  assert.deepEqual(PACKET_ARROW_SCHEMA.fields.map((f) => f.name), PACKET_FIELDS.map((f) => f.name));
  assert.deepEqual(
    PACKET_ARROW_SCHEMA.fields.map((f) => f.nullable),
    PACKET_FIELDS.map((f) => f.nullable),
  );
  const types = Object.fromEntries(PACKET_ARROW_SCHEMA.fields.map((f) => [f.name, String(f.type)]));
  assert.equal(types.timestamp, "Float64");
  assert.equal(types.src_port, "Uint16");
  assert.equal(types.tcp_seq, "Uint32");
  assert.equal(types.src_ip, "Dictionary<Int32, Utf8>");
  assert.equal(types.data, "Binary");
  assert.equal(types.malformed, "Bool");
});

Deno.test("a batch from Arrow's own builders (another writer) reads like the same JSON", async (t) => {
  const json = [
    {
      timestamp: 1764057600.123456,
      interface: "eth0",
      src_ip: "192.0.2.1",
      dst_ip: "2001:db8::2",
      protocol: "TCP",
      src_port: 51000,
      dst_port: 443,
      length: 74,
    },
    {
      timestamp: 1764057600.5,
      interface: "eth0",
      src_ip: null,
      dst_ip: null,
      protocol: "ARP",
      src_port: null,
      dst_port: null,
      length: 60,
    },
  ];
  const expected = (validatePacketBatch(json) as { records: PacketRecord[] }).records;

  await t.step("vectorFromArray with plain strings and only the seed's fields", () => {
    const table = new Table({
      timestamp: vectorFromArray(Float64Array.from(json, (r) => r.timestamp)),
      interface: vectorFromArray(json.map((r) => r.interface), new Utf8()),
      src_ip: vectorFromArray(json.map((r) => r.src_ip), new Utf8()),
      dst_ip: vectorFromArray(json.map((r) => r.dst_ip), new Utf8()),
      protocol: vectorFromArray(json.map((r) => r.protocol), new Utf8()),
      src_port: vectorFromArray(json.map((r) => r.src_port), new Int32()),
      dst_port: vectorFromArray(json.map((r) => r.dst_port), new Int32()),
      length: vectorFromArray(Int32Array.from(json, (r) => r.length)),
    });
    assert.deepEqual(readRecords(tableToIPC(table, "stream")), expected);
  });

  await t.step(
    "makeBuilder per column, dictionary strings, Int64 numbers, fields reordered",
    () => {
      const column = (type: ConstructorParameters<typeof Field>[1], values: unknown[]) => {
        const builder = makeBuilder({ type, nullValues: [null] });
        for (const value of values) builder.append(value as never);
        return builder.finish().toVector();
      };
      const dict = () => new Dictionary(new Utf8(), new Int16());
      const table = new Table({
        length: column(new Int64(), json.map((r) => BigInt(r.length))),
        protocol: column(dict(), json.map((r) => r.protocol)),
        dst_port: column(new Uint16(), json.map((r) => r.dst_port)),
        src_port: column(new Uint16(), json.map((r) => r.src_port)),
        dst_ip: column(dict(), json.map((r) => r.dst_ip)),
        src_ip: column(dict(), json.map((r) => r.src_ip)),
        interface: column(dict(), json.map((r) => r.interface)),
        timestamp: column(new Float64(), json.map((r) => r.timestamp)),
        ip_id: column(new Uint32(), [7, null]),
        more_fragments: column(new Bool(), [true, false]),
        data: column(new Binary(), [new Uint8Array([1, 2, 3]), null]),
      });
      const records = readRecords(tableToIPC(table, "stream"));
      assert.deepEqual(records, [
        { ...expected[0], ip_id: 7, more_fragments: true, data: "AQID" },
        { ...expected[1], ip_id: null, more_fragments: false, data: null },
      ]);
    },
  );

  await t.step("several record batches, dictionaries replaced between them", () => {
    // One schema for both parts: the same dictionary types (ids) in each.
    const types = {
      interface: new Dictionary(new Utf8(), new Int32(), 1),
      src_ip: new Dictionary(new Utf8(), new Int32(), 2),
      dst_ip: new Dictionary(new Utf8(), new Int32(), 3),
      protocol: new Dictionary(new Utf8(), new Int32(), 4),
    };
    const part = (records: typeof json) =>
      new Table({
        timestamp: vectorFromArray(Float64Array.from(records, (r) => r.timestamp)),
        interface: vectorFromArray(records.map((r) => r.interface), types.interface),
        src_ip: vectorFromArray(records.map((r) => r.src_ip), types.src_ip),
        dst_ip: vectorFromArray(records.map((r) => r.dst_ip), types.dst_ip),
        protocol: vectorFromArray(records.map((r) => r.protocol), types.protocol),
        src_port: vectorFromArray(records.map((r) => r.src_port), new Uint16()),
        dst_port: vectorFromArray(records.map((r) => r.dst_port), new Uint16()),
        length: vectorFromArray(Uint32Array.from(records, (r) => r.length)),
      });
    const first = part([json[1]]), second = part([json[0], json[1]]);
    const table = new Table([...first.batches, ...second.batches]);
    assert.equal(table.batches.length, 2);
    assert.deepEqual(readRecords(tableToIPC(table, "stream")), [
      expected[1],
      expected[0],
      expected[1],
    ]);
  });

  await t.step("a stream written by pyarrow 25 (testdata/pyarrow_batch.py)", () => {
    const bytes = Deno.readFileSync(new URL("./testdata/pyarrow_batch.arrows", import.meta.url));
    const [first, second] = readRecords(bytes);
    assert.deepEqual(
      [first.src_ip, first.dst_ip, first.src_port, first.length, first.caplen, first.data],
      ["192.0.2.1", "192.0.2.2", 51000, 74, 74, "AgA="],
    );
    assert.deepEqual(
      [second.src_ip, second.dst_ip, second.src_port, second.protocol, second.data],
      ["2001:db8::1", null, null, "ICMPv6", null],
    );
  });

  await t.step("Arrow's own ZSTD buffer compression", () => {
    registerArrowCodecs();
    const records = sampleRecords(50, { seed: 9, dataBytes: 16 });
    const builder = new ColumnarBatchBuilder(50);
    for (const record of records) builder.appendRecord(record);
    const plain = tableFromIPC(encodeArrowBatch(builder.build()));
    const writer = new RecordBatchStreamWriter({ compressionType: CompressionType.ZSTD });
    writer.writeAll(plain);
    assert.deepEqual(readRecords(writer.toUint8Array(true)), records);
  });
});

Deno.test("a batch is refused with the column and row that are wrong", async (t) => {
  const good = sampleRecords(5, { seed: 1 });
  const build = (columns: Record<string, unknown>) =>
    tableToIPC(new Table(columns as never), "stream");
  const seed = (records: PacketRecord[]) => ({
    timestamp: vectorFromArray(records.map((r) => r.timestamp), new Float64()),
    interface: vectorFromArray(records.map((r) => r.interface), new Utf8()),
    src_ip: vectorFromArray(records.map((r) => r.src_ip), new Utf8()),
    dst_ip: vectorFromArray(records.map((r) => r.dst_ip), new Utf8()),
    protocol: vectorFromArray(records.map((r) => r.protocol), new Utf8()),
    src_port: vectorFromArray(records.map((r) => r.src_port), new Int32()),
    dst_port: vectorFromArray(records.map((r) => r.dst_port), new Int32()),
    length: vectorFromArray(records.map((r) => r.length), new Int32()),
  });

  await t.step("a value out of its field's range", () => {
    const records = good.map((r, i) => i === 3 ? { ...r, src_port: 70000 } : r);
    assert.deepEqual(issueOf(build(seed(records))), {
      record: 3,
      field: "src_port",
      message: "expected an integer from 0 to 65535",
    });
  });
  await t.step("an address that is not one", () => {
    const records = good.map((r, i) => i === 2 ? { ...r, dst_ip: "10.0.0.300" } : r);
    const issue = issueOf(build(seed(records)));
    assert.equal(issue.record, 2);
    assert.equal(issue.field, "dst_ip");
  });
  await t.step("a null in a field that takes none", () => {
    const records = good.map((r, i) => i === 4 ? { ...r, protocol: null as unknown as string } : r);
    assert.deepEqual(issueOf(build(seed(records))), {
      record: 4,
      field: "protocol",
      message: "must not be null",
    });
  });
  await t.step("an unknown field, a missing field, a field of the wrong type", () => {
    assert.equal(
      issueOf(build({ ...seed(good), colour: vectorFromArray(good.map(() => 1)) })).field,
      "colour",
    );
    const { length: _, ...noLength } = seed(good);
    assert.deepEqual(issueOf(build(noLength)), {
      record: null,
      field: "length",
      message: "missing field",
    });
    const issue = issueOf(
      build({ ...seed(good), ttl: vectorFromArray(good.map(() => "x"), new Utf8()) }),
    );
    assert.equal(issue.field, "ttl");
    assert.match(issue.message, /expected an integer type, not Utf8/);
  });
  await t.step("a dictionary index past its dictionary", () => {
    const builder = new ColumnarBatchBuilder(5);
    for (const record of good) builder.appendRecord(record);
    const batch = builder.build();
    const protocol = batch.columns[PACKET_FIELDS.findIndex((f) => f.name === "protocol")];
    (protocol as StringColumn).indices[1] = 9;
    const entries = (protocol as StringColumn).dictionary.length;
    assert.deepEqual(issueOf(encodeArrowBatch(batch)), {
      record: 1,
      field: "protocol",
      message: `dictionary index 9 is outside the ${entries} entries`,
    });
  });
  await t.step("not Arrow at all, empty, too many records", () => {
    assert.match(
      issueOf(new TextEncoder().encode("[{}]")).message,
      /not a readable Arrow IPC stream/,
    );
    assert.equal(issueOf(build(seed([]))).message, "expected at least one record");
    const result = readArrowBatch(build(seed(good)), { maxRecords: 4 });
    assert.equal(result.ok, false);
    assert.equal((result as { tooManyRecords?: number }).tooManyRecords, 5);
  });
});

Deno.test("no body crashes or hangs the reader, and what it accepts passes the JSON rules", () => {
  const base = encodeRecords(sampleRecords(20, { seed: 5, dataBytes: 8 }));
  const mutated = fc.tuple(
    fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }),
    fc.nat(base.length),
  ).map(([changes, cut]) => {
    const bytes = base.slice(0, Math.max(cut, base.length - 64));
    for (const [at, value] of changes) if (at < bytes.length) bytes[at] = value;
    return bytes;
  });
  fc.assert(
    fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 600 })), (bytes) => {
      const started = performance.now();
      const result = readArrowBatch(bytes, { maxRecords: 1000, maxDecompressedBytes: 1 << 20 });
      assert.ok(performance.now() - started < 2000, "took over 2 s");
      if (result.ok) {
        const records = batchRecords(result.batch);
        const json = validatePacketBatch(JSON.parse(JSON.stringify(records)));
        assert.ok(json.ok, JSON.stringify(!json.ok && json.issue));
      } else {
        assert.equal(typeof result.issue.message, "string");
      }
    }),
    propertyRuns(1500),
  );
});
