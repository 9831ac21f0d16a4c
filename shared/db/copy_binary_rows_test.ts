import assert from "node:assert/strict";
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, CopyBinaryRows } from "./copy_binary_rows.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

Deno.test("CopyBinaryRows writes each type in PostgreSQL's binary send format", () => {
  const rows = new CopyBinaryRows();
  rows.row(3);
  rows.int4(1);
  rows.null();
  rows.int2(-2);
  assert.equal(hex(rows.take()), "00 03 00 00 00 04 00 00 00 01 ff ff ff ff 00 00 00 02 ff fe");

  rows.int8(-1);
  rows.int8(2 ** 40 + 5);
  assert.equal(
    hex(rows.take()),
    "00 00 00 08 ff ff ff ff ff ff ff ff 00 00 00 08 00 00 01 00 00 00 00 05",
  );

  rows.float8(1.5);
  rows.float4(0.5);
  assert.equal(hex(rows.take()), "00 00 00 08 3f f8 00 00 00 00 00 00 00 00 00 04 3f 00 00 00");

  rows.text("é");
  rows.text("");
  rows.text(null);
  assert.equal(hex(rows.take()), "00 00 00 02 c3 a9 00 00 00 00 ff ff ff ff");

  // family (2 = IPv4, 3 = IPv6), prefix bits, is_cidr, address length, address
  rows.inet("192.0.2.1");
  rows.inet("::1");
  assert.equal(
    hex(rows.take()),
    "00 00 00 08 02 20 00 04 c0 00 02 01 " +
      "00 00 00 14 03 80 00 10 " + "00 ".repeat(15) + "01",
  );

  rows.bytea(3, (view, at) => [7, 8, 9].forEach((b, i) => view.setUint8(at + i, b)));
  assert.equal(hex(rows.take()), "00 00 00 03 07 08 09");

  rows.raw(COPY_BINARY_HEADER);
  rows.raw(COPY_BINARY_TRAILER);
  assert.equal(
    hex(rows.take()),
    "50 47 43 4f 50 59 0a ff 0d 0a 00 00 00 00 00 00 00 00 00 ff ff",
  );
});

Deno.test("CopyBinaryRows refuses what PostgreSQL would, before anything is sent", () => {
  const rows = new CopyBinaryRows();
  assert.throws(() => rows.int2(40_000), /int2/);
  assert.throws(() => rows.int4(1.5), /int4/);
  assert.throws(() => rows.int4(2 ** 31), /int4/);
  assert.throws(() => rows.int8(2 ** 53), /int8/);
  assert.throws(() => rows.text("eth\0"), /NUL/);
  assert.throws(() => rows.text("é\0"), /NUL/);
  assert.throws(() => rows.inet("10.0.0.256"), /not an IP address/);
  assert.throws(() => rows.inet("eth0"), /not an IP address/);
});

Deno.test("CopyBinaryRows grows past its first buffer and keeps every byte", () => {
  const rows = new CopyBinaryRows(64);
  const expected: string[] = [];
  for (let i = 0; i < 1000; i++) {
    rows.row(2);
    rows.int4(i);
    rows.text(`flow-${i}-${"ü".repeat(i % 7)}`);
    const text = new TextEncoder().encode(`flow-${i}-${"ü".repeat(i % 7)}`);
    const row = new Uint8Array(2 + 8 + 4 + text.length);
    const view = new DataView(row.buffer);
    view.setInt16(0, 2);
    view.setInt32(2, 4);
    view.setInt32(6, i);
    view.setInt32(10, text.length);
    row.set(text, 14);
    expected.push(hex(row));
  }
  assert.equal(hex(rows.take()), expected.join(" "));
  assert.equal(rows.byteLength, 0);
});

Deno.test("CopyBinaryRows hands its buffer over with take(next) and goes on in next", () => {
  const rows = new CopyBinaryRows(64);
  rows.int4(7);
  const first = new Uint8Array(128);
  const a = rows.take(first);
  assert.equal(hex(a), "00 00 00 04 00 00 00 07");
  // A view into a larger buffer, as a pool may give: written at its own offset.
  const pool = new ArrayBuffer(256);
  rows.float8(1.5);
  rows.text("x".repeat(20));
  const b = rows.take(new Uint8Array(pool, 64, 64));
  assert.equal(b.buffer, first.buffer);
  assert.equal(b.length, 12 + 24);
  rows.int2(1);
  const c = rows.take();
  assert.equal(hex(c), "00 00 00 02 00 01");
  assert.equal(hex(new Uint8Array(pool, 64, 6)), "00 00 00 02 00 01");
  // The bytes handed over stay as they were: nothing later writes into them.
  assert.equal(hex(a), "00 00 00 04 00 00 00 07");
  assert.throws(() => rows.take(new Uint8Array(8)), RangeError);
});
