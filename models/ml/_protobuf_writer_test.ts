import assert from "node:assert/strict";
import { ProtoWriter } from "./_protobuf_writer.ts";

const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("ProtoWriter encodes the protobuf documentation's examples", async (t) => {
  await t.step("varint 150 in field 1 is 08 96 01", () => {
    assert.equal(hex(new ProtoWriter().uint(1, 150).finish()), "08 96 01");
  });
  await t.step('string "testing" in field 2 is 12 07 74 65 73 74 69 6e 67', () => {
    assert.equal(
      hex(new ProtoWriter().string(2, "testing").finish()),
      "12 07 74 65 73 74 69 6e 67",
    );
  });
  await t.step("embedded message 3 { 1: 150 } is 1a 03 08 96 01", () => {
    assert.equal(
      hex(new ProtoWriter().message(3, (m) => m.uint(1, 150)).finish()),
      "1a 03 08 96 01",
    );
  });
  await t.step("packed varints 3, 270, 86942 in field 4 are 22 06 03 8e 02 9e a7 05", () => {
    assert.equal(
      hex(new ProtoWriter().packedUints(4, [3, 270, 86942]).finish()),
      "22 06 03 8e 02 9e a7 05",
    );
  });
});

Deno.test("ProtoWriter writes floats little-endian and large varints exactly", async (t) => {
  await t.step("float 1.0 in field 2 is 15 00 00 80 3f", () => {
    assert.equal(hex(new ProtoWriter().float(2, 1).finish()), "15 00 00 80 3f");
  });
  await t.step("packed floats 1.0, -2.0 in field 7", () => {
    assert.equal(
      hex(new ProtoWriter().packedFloats(7, [1, -2]).finish()),
      "3a 08 00 00 80 3f 00 00 00 c0",
    );
  });
  await t.step("2^40 needs six bytes", () => {
    assert.equal(hex(new ProtoWriter().uint(1, 2 ** 40).finish()), "08 80 80 80 80 80 20");
  });
  await t.step("negative varints are refused", () => {
    assert.throws(() => new ProtoWriter().uint(1, -1), RangeError);
  });
  await t.step("a large buffer grows intact", () => {
    const values = Array.from({ length: 5000 }, (_, i) => i * 1000);
    const bytes = new ProtoWriter().packedUints(1, values).finish();
    assert.equal(bytes[0], 0x0a);
    assert.ok(bytes.length > 5000 * 2);
  });
});
