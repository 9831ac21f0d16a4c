import assert from "node:assert/strict";
import fc from "fast-check";
import { formatIpv4, formatIpv6 } from "./address_format.ts";
import { parseIp, parseIpInto } from "./address_parse.ts";
import { parseIpv6GroupsInto } from "./_ipv6_groups.ts";

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

/**
 * The general parser as it was before the decoders' form got its fast path,
 * written for clarity over `split` and regular expressions: 4 or 16 bytes,
 * or null.
 */
function referenceParse(input: string): number[] | null {
  const v4 = (text: string) => {
    const parts = text.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^[0-9]{1,3}$/.test(p) || Number(p) > 255)) {
      return null;
    }
    return parts.map(Number);
  };
  if (!input.includes(":")) return v4(input);
  const text = input.split("%")[0];
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (half: string, allowV4Tail: boolean) => {
    const list = half === "" ? [] : half.split(":");
    const groups: number[] = [];
    for (const [i, group] of list.entries()) {
      if (allowV4Tail && i === list.length - 1 && group.includes(".")) {
        const bytes = v4(group);
        if (bytes === null) return null;
        groups.push((bytes[0] << 8) | bytes[1], (bytes[2] << 8) | bytes[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(group)) groups.push(parseInt(group, 16));
      else return null;
    }
    return groups;
  };
  const head = groupsOf(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1], true) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return null;
  const groups = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

Deno.test("parseIpInto() and the decoders' IPv6 fast path agree with the general parser", () => {
  const texts = [
    "::",
    "::1",
    "1::",
    "fe80::1",
    "2001:db8::8a2e:370:7334",
    "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "ABCD:ef01::",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    ":1::2",
    "1::2:",
    ":::",
    "1:::2",
    "::1:2:3:4:5:6:7",
    "1:2:3:4::5:6:7:8",
    "12345::",
    "g::1",
    "::ffff:1.2.3.4",
    "fe80::1%eth0",
    "10.0.0.1",
    "10.0.0",
    "",
    ":",
  ];
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = "0123456789abcdefABCDEFg:.%";
  for (let i = 0; i < 3000; i++) {
    let text = "";
    for (let n = Math.floor(random() * 16); n > 0; n--) {
      text += alphabet[Math.floor(random() * alphabet.length)];
    }
    texts.push(text);
    const groups = Array.from({ length: 8 }, () => Math.floor(random() * 65536).toString(16));
    const from = Math.floor(random() * 8);
    const to = from + Math.floor(random() * (8 - from));
    texts.push(groups.slice(0, from).join(":") + "::" + groups.slice(to + 1).join(":"));
  }
  texts.push(...fc.sample(fc.ipV6(), 2000), ...fc.sample(fc.ipV4(), 500));
  for (const text of texts) {
    const expected = referenceParse(text);
    const out = new Uint8Array(20);
    const length = parseIpInto(text, out, 2);
    assert.equal(length, expected?.length ?? 0, text);
    if (expected !== null) assert.deepEqual([...out.subarray(2, 2 + length)], expected, text);
    assert.deepEqual(parseIp(text) === null ? null : [...parseIp(text)!], expected, text);
    // The fast path takes only what the general parser takes, and writes nothing otherwise.
    const fast = new Uint8Array(16);
    if (parseIpv6GroupsInto(text, fast, 0)) assert.deepEqual([...fast], expected, text);
    else assert.deepEqual([...fast], new Array(16).fill(0), text);
  }
});
