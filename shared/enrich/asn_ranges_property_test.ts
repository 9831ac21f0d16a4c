import assert from "node:assert/strict";
import fc from "fast-check";
import { parseIp } from "../packet/address_parse.ts";
import { propertyRuns } from "../testing/property_runs.ts";
import { type AsnRanges, parseAsnIpv4Table, parseAsnIpv6Table } from "./asn_ranges.ts";

// A reference parser written for clarity over strings and bigints, as the
// tables were parsed before the byte-level reader: the new parser must give
// the same ranges, or fail with the same message.

type Range = { first: bigint; last: bigint; asn: number; organization: string | null };

function referenceParse(text: string, family: 4 | 6): Range[] {
  const ranges: Range[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") return;
    const fail = (message: string) => {
      throw new Error(`line ${index + 1}: ${message}`);
    };
    const fields = line.split(",");
    if (fields.length < 4) fail(`expected 4 fields: ${line.slice(0, 80)}`);
    const [a, b, asnText] = fields;
    let organization = fields.slice(3).join(",");
    if (organization.startsWith('"')) {
      if (organization.length < 2 || !organization.endsWith('"')) {
        fail(`unterminated quoted field: ${line.slice(0, 80)}`);
      }
      organization = organization.slice(1, -1).replaceAll('""', '"');
    }
    let first: bigint;
    let last: bigint;
    if (family === 4) {
      const [x, y] = [Number(a), Number(b)];
      if (!Number.isInteger(x) || !Number.isInteger(y) || x > y || y > 0xffffffff) {
        fail(`bad range '${a}'..'${b}'`);
      }
      [first, last] = [BigInt(x), BigInt(y)];
    } else {
      const [x, y] = [parseIp(a), parseIp(b)];
      if (x?.length !== 16 || y?.length !== 16) fail(`bad IPv6 range '${a}'..'${b}'`);
      [first, last] = [toBigint(x!), toBigint(y!)];
      if (first > last) fail(`bad IPv6 range '${a}'..'${b}'`);
    }
    const previous = ranges.at(-1);
    if (previous !== undefined && first <= previous.first) {
      fail("ranges do not start in ascending order");
    }
    if (previous !== undefined && first <= previous.last) previous.last = first - 1n;
    const asn = Number(asnText);
    if (!Number.isInteger(asn) || asn < 0 || asn > 0xffffffff || asnText === "") {
      fail(`bad AS number '${asnText}'`);
    }
    const empty = organization === "" || organization === "\u0000";
    ranges.push({ first, last, asn, organization: empty ? null : organization });
  });
  return ranges;
}

function toBigint(bytes: Uint8Array): bigint {
  return bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

function toBytes(value: bigint, family: 4 | 6): Uint8Array {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = out.length - 1; i >= 0; i--, value >>= 8n) out[i] = Number(value & 255n);
  return out;
}

/** Same ranges (probed at and around each end), or the same error message. */
function assertSameAsReference(text: string, family: 4 | 6) {
  const parse = family === 4 ? parseAsnIpv4Table : parseAsnIpv6Table;
  let expected: Range[] | string;
  try {
    expected = referenceParse(text, family);
  } catch (error) {
    expected = (error as Error).message;
  }
  for (const input of [text, new TextEncoder().encode(text)]) {
    let table: AsnRanges;
    try {
      table = parse(input);
    } catch (error) {
      assert.equal((error as Error).message, expected, `for ${JSON.stringify(text)}`);
      continue;
    }
    assert.ok(typeof expected !== "string", `expected ${expected} for ${JSON.stringify(text)}`);
    const ranges: Range[] = expected;
    assert.equal(table.size, ranges.length);
    const max = (1n << (family === 4 ? 32n : 128n)) - 1n;
    for (const range of ranges) {
      for (const probe of [range.first - 1n, range.first, range.last, range.last + 1n]) {
        if (probe < 0n || probe > max) continue;
        const holder = ranges.findLast((r) => r.first <= probe && probe <= r.last);
        const want = holder ? { asn: holder.asn, organization: holder.organization } : null;
        assert.deepEqual(table.find(toBytes(probe, family)), want, `at ${probe} in ${text}`);
      }
    }
  }
}

const organization = fc.oneof(
  fc.constantFrom("Org", "", '""', '"Cloudflare, Inc."', '"The ""Q"" Org"', '"x', '"', "\u0000"),
  fc.constantFrom('"""', 'a"b', "Zürich AG", "日本", "a,b,c", '"a,""b"""'),
  fc.string({ maxLength: 6 }),
);
const asnField = fc.oneof(
  { weight: 8, arbitrary: fc.nat(70000).map(String) },
  fc.constantFrom("", "x", "-1", "4294967295", "4294967296", " 5", "0x10", "1e3", "1.5", "007"),
);
const oddNumber = fc.constantFrom("", " 5", "0x10", "1e2", "-0", "1.5", "abc", "0001", "+3");
const v6Style = fc.constantFrom("short", "full", "upper", "v4tail", "zone", "bad", "v4");

function formatV6(value: bigint, style: string): string {
  const groups = Array.from(
    toBytes(value, 6).reduce<number[]>((out, byte, i) => {
      if (i % 2 === 1) out.push((out.pop()! << 8) | byte);
      else out.push(byte);
      return out;
    }, []),
  );
  const full = groups.map((g) => g.toString(16)).join(":");
  if (style === "full") return full;
  if (style === "upper") return full.toUpperCase().replace(/^0:0:/, "::");
  if (style === "v4tail") {
    return `${groups.slice(0, 6).map((g) => g.toString(16)).join(":")}:${groups[6] >> 8}.${
      groups[6] & 255
    }.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  if (style === "zone") return `${full}%eth0`;
  if (style === "bad") {
    return ["1:::2", "12345::", "::g", ":1::", "1::2::3", "1:2", "1::2:3:4:5:6:7:8"][
      Number(value % 7n)
    ];
  }
  if (style === "v4") return "1.2.3.4";
  // Compress the longest run of zero groups, as RFC 5952 does.
  let best = [-1, 0];
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best[1]) best = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best[1] < 1) return full;
  const hex = groups.map((g) => g.toString(16));
  return `${hex.slice(0, best[0]).join(":")}::${hex.slice(best[0] + best[1]).join(":")}`;
}

/** A table of mostly well-formed rows: starts ascend by random steps, some odd ones. */
function table(family: 4 | 6) {
  const row = fc.record({
    step: fc.oneof({ weight: 6, arbitrary: fc.bigInt(1n, 1000n) }, fc.bigInt(-5n, 0n)),
    length: fc.oneof({ weight: 6, arbitrary: fc.bigInt(0n, 2000n) }, fc.bigInt(-3n, -1n)),
    asn: asnField,
    organization,
    odd: fc.option(fc.tuple(fc.nat(1), family === 4 ? oddNumber : v6Style), { freq: 8 }),
    style: v6Style,
    shape: fc.constantFrom("row", "row", "row", "row", "row", "empty", "short", "cr"),
  });
  return fc.tuple(
    family === 4 ? fc.bigInt(0n, 0xffffffffn) : fc.bigInt(0n, (1n << 128n) - 1n),
    fc.array(row, { maxLength: 12 }),
    fc.boolean(),
  ).map(([start, rows, trailingNewline]) => {
    const max = (1n << (family === 4 ? 32n : 128n)) - 1n;
    let first = start % (max / 2n);
    const lines = rows.map((r) => {
      first += r.step;
      if (first < 0n) first = 0n;
      const last = first + r.length;
      const fields = [first, last].map((value, i) => {
        const clamped = value < 0n ? 0n : value > max ? max : value;
        if (r.odd !== null && r.odd[0] === i && family === 4) return r.odd[1];
        if (family === 4) return String(clamped);
        return formatV6(clamped, r.odd !== null && r.odd[0] === i ? r.odd[1] : "short");
      });
      if (r.shape === "empty") return "";
      if (r.shape === "short") return `${fields[0]},${fields[1]},${r.asn}`;
      return `${fields[0]},${fields[1]},${r.asn},${r.organization}${r.shape === "cr" ? "\r" : ""}`;
    });
    return lines.join("\n") + (trailingNewline ? "\n" : "");
  });
}

Deno.test("parseAsnIpv4Table() reads random tables as the reference parser does", () => {
  fc.assert(fc.property(table(4), (text) => assertSameAsReference(text, 4)), propertyRuns(2000));
});

Deno.test("parseAsnIpv6Table() reads random tables as the reference parser does", () => {
  fc.assert(fc.property(table(6), (text) => assertSameAsReference(text, 6)), propertyRuns(2000));
});

Deno.test("parseAsnIpv4Table() and parseAsnIpv6Table() agree with the reference on random text", () => {
  const noise = fc.array(
    fc.oneof(fc.constantFrom(",", '"', "\n", "\r", "1", "0", ":", "::", "f", "ff"), fc.string()),
    { maxLength: 30 },
  ).map((parts) => parts.join(""));
  fc.assert(
    fc.property(noise, fc.constantFrom<4 | 6>(4, 6), assertSameAsReference),
    propertyRuns(2000),
  );
});
