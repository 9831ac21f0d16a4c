import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import {
  checkPacketColumns,
  decodePacketColumns,
  encodePacketColumnBlock,
  encodePacketColumns,
  PacketColumnsError,
  readPacketColumns,
  withPacketColumnBlock,
} from "./packet_columns.ts";
import { ColumnarBatchBuilder } from "./columnar_batch_builder.ts";
import { type FieldKind, PACKET_FIELDS } from "./packet_schema.ts";
import type { PacketRecord } from "./packet_record.ts";
import { blankPacketRecord } from "../testing/blank_packet_record.ts";

function valueOf(kind: FieldKind): fc.Arbitrary<unknown> {
  switch (kind.type) {
    case "int":
      return fc.integer({ min: kind.min, max: kind.max });
    case "number":
      return fc.double({ min: kind.min, max: kind.max, noNaN: true, noDefaultInfinity: true });
    case "bool":
      return fc.boolean();
    case "text":
      return fc.string({
        minLength: kind.minLength,
        maxLength: Math.min(kind.maxLength, 40),
        unit: "grapheme",
      });
    case "ip":
      return fc.oneof(fc.ipV4(), fc.ipV6());
    case "mac":
      return fc.uint8Array({ minLength: 6, maxLength: 6 })
        .map((b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":"));
    case "base64":
      return fc.base64String({ maxLength: 80 });
    case "ipVersion":
      return fc.constantFrom(4, 6);
    case "enum":
      return fc.constantFrom(...kind.values);
  }
}

/** Any record the schema admits, with ICMP common enough to keep its bytes. */
const anyRecord: fc.Arbitrary<PacketRecord> = fc.record(
  Object.fromEntries(PACKET_FIELDS.map((field) => {
    let value = valueOf(field.kind);
    if (field.name === "ip_proto") value = fc.oneof(fc.constantFrom(1, 6, 17, 58), value);
    return [field.name, field.nullable ? fc.option(value, { nil: null }) : value];
  })),
) as unknown as fc.Arbitrary<PacketRecord>;

/**
 * What a block gives back: everything, with `data` only for ICMP and ICMPv6,
 * as the bytes it stands for (base64 with stray bits in its last character,
 * such as `AB==`, comes back in canonical form, `AA==`).
 */
function expected(record: PacketRecord): PacketRecord {
  const icmp = record.ip_proto === 1 || record.ip_proto === 58;
  const data = icmp && record.data !== null ? Uint8Array.fromBase64(record.data).toBase64() : null;
  return { ...record, data };
}

Deno.test("a packet column block gives back every record it was made of", () => {
  fc.assert(
    fc.property(fc.array(anyRecord, { maxLength: 60 }), (records) => {
      assert.deepEqual(decodePacketColumns(encodePacketColumns(records)), records.map(expected));
    }),
    propertyRuns(300),
  );
});

Deno.test("withPacketColumnBlock() writes the bytes encodePacketColumnBlock() does, after any other block", () => {
  fc.assert(
    fc.property(fc.array(fc.array(anyRecord, { maxLength: 60 }), { maxLength: 4 }), (batches) => {
      for (const records of batches) {
        const builder = new ColumnarBatchBuilder(Math.max(1, records.length));
        for (const record of records) builder.appendRecord(record);
        const batch = builder.build();
        // Its buffer still holds the block before, larger or smaller.
        const block = withPacketColumnBlock(batch, (bytes) => bytes.slice());
        assert.deepEqual(block, encodePacketColumnBlock(batch));
      }
    }),
    propertyRuns(100),
  );
});

Deno.test("recordInto() overwrites a reused record with exactly the one asked for", () => {
  fc.assert(
    fc.property(fc.array(anyRecord, { minLength: 2, maxLength: 30 }), (records) => {
      const reader = readPacketColumns(encodePacketColumns(records));
      const reused = reader.record(records.length - 1);
      for (let i = 0; i < records.length; i++) {
        assert.equal(reader.recordInto(i, reused), reused);
        assert.deepEqual(reused, expected(records[i]));
        assert.deepEqual(Object.keys(reused), Object.keys(reader.record(i)));
      }
    }),
    propertyRuns(100),
  );
});

Deno.test("a packet column block keeps field order and shape of a record", () => {
  const record = { ...blankPacketRecord(), src_ip: "10.0.0.1", ip_proto: 6, data: "AAEC" };
  const [decoded] = decodePacketColumns(encodePacketColumns([record]));
  assert.deepEqual(Object.keys(decoded), Object.keys(blankPacketRecord()));
  assert.equal(decoded.data, null, "bytes of non-ICMP packets stay in raw_packets only");
});

Deno.test("a packet column block switches to 4-byte string indexes past 65,535 strings", () => {
  const records = Array.from({ length: 70_000 }, (_, i) => ({
    ...blankPacketRecord(),
    src_ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
  }));
  const decoded = decodePacketColumns(encodePacketColumns(records));
  assert.equal(decoded.length, records.length);
  assert.equal(decoded[69_999].src_ip, records[69_999].src_ip);
  assert.equal(decoded[65_536].src_ip, records[65_536].src_ip);
});

Deno.test("a packet column block decodes from any byte offset", () => {
  const records = [{
    ...blankPacketRecord(),
    timestamp: 1.5,
    src_port: 65_535,
    tcp_seq: 4_294_967_295,
  }];
  const block = encodePacketColumns(records);
  const shifted = new Uint8Array(block.length + 3);
  shifted.set(block, 3);
  assert.deepEqual(decodePacketColumns(shifted.subarray(3)), records.map(expected));
});

Deno.test("a damaged or foreign block is refused, not misread", () => {
  const block = encodePacketColumns([blankPacketRecord()]);
  assert.throws(() => decodePacketColumns(block.subarray(0, 10)), PacketColumnsError);
  assert.throws(
    () => decodePacketColumns(block.subarray(0, block.length - 40)),
    PacketColumnsError,
  );
  const otherLayout = block.slice();
  otherLayout[4] ^= 0xff;
  assert.throws(() => decodePacketColumns(otherLayout), /layout/);
  const notABlock = block.slice();
  notABlock[0] = 0;
  assert.throws(() => decodePacketColumns(notABlock), /not a packet column block/);
});

Deno.test("a block written before the tunnel fields existed is refused, so its rows are read", () => {
  // The layout id of blocks written by the version before tunnel_* (b79a577):
  // the aggregator falls back to those batches' raw_packets rows.
  const beforeTunnels = 0x4521b2d5;
  const block = encodePacketColumns([blankPacketRecord({ tunnel_type: "vxlan", tunnel_id: 7 })]);
  const current = new DataView(block.buffer, block.byteOffset).getUint32(4, true);
  assert.notEqual(current, beforeTunnels);
  const old = block.slice();
  new DataView(old.buffer).setUint32(4, beforeTunnels, true);
  assert.throws(() => decodePacketColumns(old), /layout 4521b2d5 is not this version's/);
  assert.equal(decodePacketColumns(block)[0].tunnel_type, "vxlan");
});

/** What reading or checking a block gives: its times, or the class of what it threw. */
function outcome(read: (block: Uint8Array) => { timestamps: Float64Array }, block: Uint8Array) {
  try {
    return Array.from(read(block).timestamps);
  } catch (error) {
    return error instanceof PacketColumnsError ? "PacketColumnsError" : error;
  }
}

Deno.test("checkPacketColumns() refuses exactly the blocks readPacketColumns() refuses", () => {
  // Strings of one to four UTF-8 bytes a character, so that damage can cut
  // a character, start a string inside one, or leave invalid bytes.
  const text = fc.string({ unit: "binary", minLength: 0, maxLength: 6 });
  const record = fc.record({ timestamp: fc.double({ noNaN: true }), src_ip: text, eth_src: text });
  const damage = fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.boolean()), { maxLength: 4 });
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), damage, (fields, hits) => {
      const block = encodePacketColumns(fields.map((f) => blankPacketRecord(f)));
      // Most hits land in the string table (lengths and text) at the end.
      const tableAt = Math.max(0, block.length - 200);
      for (const [at, value, inTable] of hits) {
        const span = inTable ? block.length - tableAt : block.length;
        block[(inTable ? tableAt : 0) + (at % span)] = value;
      }
      assert.deepEqual(outcome(checkPacketColumns, block), outcome(readPacketColumns, block));
    }),
    propertyRuns(500),
  );
});

Deno.test("checkPacketColumns() refuses a string that starts inside a character", () => {
  // "é" (0xC3 0xA9) then "x" in the string table: their lengths 2 and 1 made
  // 1 and 2 cut "é", though the text as a whole is still UTF-8.
  const block = encodePacketColumns([blankPacketRecord({ interface: "é", protocol: "x" })]);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  // The table: u32 count, count u32 lengths, then text up to the end of the block.
  let table = -1;
  for (let at = block.length - 4; at >= 0 && table < 0; at--) {
    const count = view.getUint32(at, true);
    if (count === 0 || at + 4 + 4 * count > block.length) continue;
    let text = 0;
    for (let s = 0; s < count; s++) text += view.getUint32(at + 4 + 4 * s, true);
    if (at + 4 + 4 * count + text === block.length && view.getUint32(at + 4, true) === 2) {
      table = at;
    }
  }
  assert.ok(table >= 0);
  assert.deepEqual([4, 8].map((at) => view.getUint32(table + at, true)), [2, 1]);
  view.setUint32(table + 4, 1, true);
  view.setUint32(table + 8, 2, true);
  assert.throws(() => readPacketColumns(block), /string 0 is not UTF-8/);
  assert.throws(() => checkPacketColumns(block), /string 0 is not UTF-8/);
});

Deno.test("an app-layer field is read whichever one record of a block has it", () => {
  // Blocks whose count is not a multiple of 8, the value in each position in
  // turn: the bitmap's bytes are scanned whole, its last one in part.
  for (const count of [1, 7, 8, 9, 13, 16, 17]) {
    for (let at = 0; at < count; at++) {
      const records = Array.from({ length: count }, (_, i) =>
        blankPacketRecord(
          i === at ? { app_protocol: "dns", dns_query: `q${i}.example`, dns_qtype: 28 } : {},
        ));
      assert.deepEqual(decodePacketColumns(encodePacketColumns(records)), records.map(expected));
    }
  }
});

Deno.test("readPacketColumns() of a checked block gives the same records", () => {
  fc.assert(
    fc.property(fc.array(anyRecord, { minLength: 1, maxLength: 30 }), (records) => {
      const block = encodePacketColumns(records);
      checkPacketColumns(block);
      const checked = readPacketColumns(block, { checked: true });
      const reader = readPacketColumns(block);
      for (let i = 0; i < records.length; i++) {
        assert.deepEqual(checked.record(i), reader.record(i));
      }
    }),
    propertyRuns(100),
  );
});
