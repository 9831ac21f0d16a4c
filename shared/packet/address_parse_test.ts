import assert from "node:assert/strict";
import fc from "fast-check";
import { formatIpv4, formatIpv6 } from "./address_format.ts";
import { parseIp, parseIpInto } from "./address_parse.ts";

Deno.test("parseIp() reads back every address the decoders print", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
      assert.deepEqual(parseIp(formatIpv4(bytes, 0)), bytes);
    }),
  );
  fc.assert(
    fc.property(
      // Runs of zero groups exercise "::" in every position.
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
        minLength: 8,
        maxLength: 8,
      }),
      (groups) => {
        const bytes = new Uint8Array(16);
        groups.forEach((g, i) => (bytes[2 * i] = g >> 8, bytes[2 * i + 1] = g & 0xff));
        assert.deepEqual(parseIp(formatIpv6(bytes, 0)), bytes);
      },
    ),
  );
});

Deno.test("parseIp() takes any RFC 4291 form and refuses what is not an address", () => {
  assert.deepEqual(
    parseIp("::ffff:192.0.2.1"),
    Uint8Array.from([...new Array(10).fill(0), 255, 255, 192, 0, 2, 1]),
  );
  assert.deepEqual(parseIp("2001:DB8:0:0:0:0:0:1"), parseIp("2001:db8::1"));
  assert.deepEqual(parseIp("fe80::1%eth0"), parseIp("fe80::1"));
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "1..2.3",
      "1:2:3:4:5:6:7:8:9",
      "::1::",
      "g::1",
      "1.2.3.4 ",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
  const out = new Uint8Array(20);
  assert.equal(parseIpInto("10.1.2.3", out, 3), 4);
  assert.deepEqual(out.subarray(3, 7), Uint8Array.from([10, 1, 2, 3]));
  assert.equal(parseIpInto("nope", out, 0), 0);
});
