import assert from "node:assert/strict";
import {
  encodeRawPacketCopy,
  type PgType,
  type RawPacketCopyLayout,
  releaseRawPacketCopy,
} from "./raw_packet_copy.ts";
import { PACKET_COLUMNS } from "../packet/packet_column_layout.ts";
import { ColumnarBatchBuilder } from "../packet/columnar_batch_builder.ts";
import type { ColumnarBatch } from "../packet/columnar_batch.ts";
import { blankPacketRecord } from "../testing/blank_packet_record.ts";

/** A column type for every storage that holds all its values (what migrations give, or wider). */
const LAYOUT: RawPacketCopyLayout = {
  columns: PACKET_COLUMNS.map((column) => column.name),
  types: PACKET_COLUMNS.map((column): PgType => {
    switch (column.storage) {
      case "u8":
        return "smallint";
      case "u16":
        return "integer";
      case "u32":
        return "bigint";
      case "f64":
        return "double precision";
      case "bool":
        return "boolean";
      case "binary":
        return "bytea";
      default:
        return column.field.kind.type === "ip" ? "inet" : "text";
    }
  }),
};

/** Batches whose rows differ in size (text, addresses, bytes, nulls), from a fixed seed. */
function batches(): ColumnarBatch[] {
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  return [40, 300, 3, 1000, 120].map((count) => {
    const builder = new ColumnarBatchBuilder(count);
    for (let i = 0; i < count; i++) {
      const v6 = next(3) === 0;
      builder.appendRecord(blankPacketRecord({
        timestamp: 1_700_000_000 + next(1_000_000) / 1000,
        src_ip: v6 ? `2001:db8::${next(0xffff).toString(16)}` : `10.0.${next(256)}.${next(256)}`,
        dst_ip: next(4) === 0 ? null : "192.0.2.1",
        src_port: next(2) === 0 ? null : next(65536),
        ip_id: next(65536),
        http_host: next(3) === 0 ? "x".repeat(next(90)) + "é" : null,
        data: next(5) === 0 ? null : btoa("y".repeat(next(200))),
      }));
    }
    return builder.build();
  });
}

Deno.test("encodeRawPacketCopy() writes the same bytes into a released buffer as into a new one", () => {
  const all = batches();
  // Each batch's data from a buffer of its own, none released yet.
  const fresh = all.map((batch) => encodeRawPacketCopy(batch, LAYOUT));
  const expected = fresh.map((bytes) => bytes.slice());
  for (const bytes of fresh) releaseRawPacketCopy(bytes);
  // Now into the released ones, holding the other batches' bytes, in another order.
  for (const i of [2, 0, 4, 1, 3, 3, 0]) {
    const copy = encodeRawPacketCopy(all[i], LAYOUT);
    assert.deepEqual(copy, expected[i], `batch ${i}`);
    releaseRawPacketCopy(copy);
  }
});

Deno.test("releaseRawPacketCopy() keeps no buffer it did not hand out, nor one twice", () => {
  const [batch] = batches();
  const foreign = new Uint8Array(1 << 20).fill(0xee);
  releaseRawPacketCopy(foreign);
  const first = encodeRawPacketCopy(batch, LAYOUT);
  assert.notEqual(first.buffer, foreign.buffer);
  releaseRawPacketCopy(first);
  releaseRawPacketCopy(first);
  const a = encodeRawPacketCopy(batch, LAYOUT);
  const b = encodeRawPacketCopy(batch, LAYOUT);
  assert.notEqual(a.buffer, b.buffer, "one buffer handed out twice");
  assert.deepEqual(a, b);
});

/** Whether `bytes` holds `part` anywhere. */
function holds(bytes: Uint8Array, part: number[]): boolean {
  return bytes.some((_, i) => part.every((byte, k) => bytes[i + k] === byte));
}

Deno.test("encodeRawPacketCopy() writes a value it encoded before as it wrote it, by its column's type", () => {
  const batchOf = (records: Parameters<typeof blankPacketRecord>[0][]) => {
    const builder = new ColumnarBatchBuilder(records.length);
    for (const record of records) builder.appendRecord(blankPacketRecord(record));
    return builder.build();
  };
  // The same text as an address (inet) and as a name (text), in one batch and the next.
  const same = batchOf([{ src_ip: "10.0.0.1", interface: "10.0.0.1", dst_ip: "2001:db8::1" }]);
  const inet = [0, 0, 0, 8, 2, 32, 0, 4, 10, 0, 0, 1];
  const text = [0, 0, 0, 8, ...new TextEncoder().encode("10.0.0.1")];
  const v6 = [0, 0, 0, 20, 3, 128, 0, 16, 0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1];
  const first = encodeRawPacketCopy(same, LAYOUT).slice();
  const again = encodeRawPacketCopy(same, LAYOUT).slice();
  for (const [name, bytes] of [["first", first], ["again", again]] as const) {
    assert.ok(holds(bytes, inet), `${name}: the address as inet`);
    assert.ok(holds(bytes, text), `${name}: the name as text`);
    assert.ok(holds(bytes, v6), `${name}: the IPv6 address as inet`);
  }
  assert.deepEqual(again, first);
  // Past the most kept (they start over), and a refusal after values were kept.
  const many = batchOf(
    Array.from(
      { length: 5000 },
      (_, i) => ({ src_ip: `10.${i >> 8}.${i & 255}.7`, interface: `e${i}` }),
    ),
  );
  const manyFirst = encodeRawPacketCopy(many, LAYOUT).slice();
  assert.deepEqual(encodeRawPacketCopy(many, LAYOUT), manyFirst);
  assert.throws(
    () => encodeRawPacketCopy(batchOf([{ interface: "e1" }, { interface: "e\u00002" }]), LAYOUT),
    (error: Error & { record?: number; field?: string }) =>
      error.name === "RawPacketCopyError" && error.record === 1 && error.field === "interface",
  );
});
