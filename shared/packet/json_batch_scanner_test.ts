import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { sampleRecords } from "../testing/sample_records.ts";
import type { ColumnarBatch } from "./columnar_batch.ts";
import { isPresent } from "./columnar_batch.ts";
import { readJsonBatch } from "./json_batch_reader.ts";
import { scanJsonBatch } from "./json_batch_scanner.ts";
import { PACKET_COLUMNS } from "./packet_column_layout.ts";

const ENCODER = new TextEncoder();
const NO_LIMIT = { maxRecords: 1_000_000 };

/** Every cell of a batch as text: a number by its exact value (-0 apart from 0), null as null. */
function cells(batch: ColumnarBatch): (string | null)[][] {
  return Array.from({ length: batch.count }, (_, row) =>
    batch.columns.map((column) => {
      if (!isPresent(column.validity, row)) return null;
      switch (column.storage) {
        case "bool":
          return (column.bits[row >> 3] & (1 << (row & 7))) !== 0 ? "true" : "false";
        case "string":
          return JSON.stringify(column.dictionary[column.indices[row]]);
        case "binary":
          return column.bytes.subarray(column.offsets[row], column.offsets[row + 1]).toHex();
        default: {
          const value = column.values[row];
          return Object.is(value, -0) ? "-0" : String(value);
        }
      }
    }));
}

/** The general path: the body decoded, JSON.parse, readJsonBatch. */
function generalPath(text: string) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false as const };
  }
  return readJsonBatch(parsed);
}

/**
 * The scanner takes `body` only if the general path accepts it, and then
 * builds the same batch. Returns whether the scanner took it.
 */
function assertScanAgrees(body: Uint8Array, label: string): boolean {
  const scanned = scanJsonBatch(body, NO_LIMIT);
  if (scanned === null) return false;
  const general = generalPath(new TextDecoder().decode(body));
  assert.ok(general.ok, `${label}: scanned a body the general path refuses`);
  assert.deepEqual(cells(scanned), cells(general.batch), label);
  return true;
}

function bodyOf(records: unknown[]): Uint8Array {
  return ENCODER.encode(JSON.stringify(records));
}

const withApp = () =>
  sampleRecords(6, { dataBytes: 5 }).map((record, i) => ({
    ...record,
    app_protocol: "http",
    http_method: "GET",
    http_host: ["example.org", "bücher.example", 'x"y\\z'][i % 3],
    http_path: ["/a b", "/é\u00a0\ufeff", "/\t\n\u0001", "/\u2028"][i % 4],
    http_user_agent: "\ufeffbot",
    http_status: 200 + i,
    dns_ttl: 4_294_967_295,
    tls_cipher: 0,
  }));

Deno.test("scanJsonBatch() reads what agents send, as JSON.parse and readJsonBatch do", () => {
  const plain = sampleRecords(500, { dataBytes: 64 });
  assert.ok(assertScanAgrees(bodyOf(plain), "bench records"));
  assert.ok(assertScanAgrees(bodyOf(withApp()), "app fields, escapes, non-ASCII text"));
  assert.ok(assertScanAgrees(bodyOf(sampleRecords(3)), "data null"));
  assert.ok(
    assertScanAgrees(ENCODER.encode(` \n${JSON.stringify(plain.slice(0, 2))}\r\n\t`), "spaces"),
  );
});

Deno.test("scanJsonBatch() leaves every other form to the general path", () => {
  const [record] = sampleRecords(1, { dataBytes: 3 });
  const text = JSON.stringify([record]);
  const { timestamp, ...rest } = record;
  const others = [
    "",
    "[]",
    "{}",
    "null",
    text.replace(":", ": "),
    text.replace('"timestamp"', '"tim\\u0065stamp"'),
    JSON.stringify([{ ...rest, timestamp }]),
    JSON.stringify([rest]),
    JSON.stringify([{ ...record, extra: 1 }]),
    JSON.stringify([{ ...record, src_port: -1 }]),
    JSON.stringify([{ ...record, src_port: "80" }]),
    JSON.stringify([{ ...record, interface: "" }]),
    JSON.stringify([{ ...record, tcp_flags: [1] }]),
    JSON.stringify([{ ...record, interface: "eth\u00000" }]),
    JSON.stringify([{ ...record, interface: "\ud800" }]),
    text + "x",
    text.slice(0, -1),
    `\ufeff${text}`,
  ];
  for (const other of others) {
    assert.equal(scanJsonBatch(ENCODER.encode(other), NO_LIMIT), null, other.slice(0, 80));
  }
  const three = bodyOf(sampleRecords(3));
  assert.equal(scanJsonBatch(three, { maxRecords: 2 }), null, "more records than the limit");
  assert.notEqual(scanJsonBatch(three, { maxRecords: 3 }), null, "as many as the limit");
});

Deno.test("scanJsonBatch() reads each text as its bytes, body after body, whatever texts came before", () => {
  // Texts of the same length that differ in one character, many to a column, in
  // several bodies one after another: a text made for one body and kept for the
  // next must be given only for the same bytes.
  const texts = (i: number) => [
    `10.0.${i % 7}.${i % 11}`,
    `10.0.${i % 11}.${i % 7}`,
    `eth${i % 10}`,
    `et${i % 10}h`,
    `02:00:00:00:00:${(i % 16).toString(16).padStart(2, "0")}`,
    `é${i % 3}`,
  ];
  for (let body = 0; body < 6; body++) {
    const records = sampleRecords(200, { seed: body + 1, dataBytes: 2 }).map((record, i) => {
      const [a, b, name, other, mac, accented] = texts(i * (body + 1) + body);
      return {
        ...record,
        src_ip: a,
        dst_ip: b,
        interface: i % 3 === 0 ? other : i % 3 === 1 ? accented : name,
        eth_src: mac,
        http_host: i % 4 === 0 ? name : null,
      };
    });
    assert.ok(assertScanAgrees(bodyOf(records), `body ${body}`), `body ${body}`);
  }
});

Deno.test("scanJsonBatch() with checkUtf8 refuses invalid UTF-8 in a text and takes the rest", () => {
  const records = withApp();
  const valid = bodyOf(records);
  assert.notEqual(scanJsonBatch(valid, { ...NO_LIMIT, checkUtf8: true }), null, "non-ASCII text");
  const ascii = bodyOf(sampleRecords(20, { dataBytes: 4 }));
  assert.notEqual(scanJsonBatch(ascii, { ...NO_LIMIT, checkUtf8: true }), null, "ASCII");
  // A lone continuation byte, a truncated sequence, an overlong form, a surrogate.
  for (const bad of [[0x80], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff]]) {
    for (const field of ['"interface":"', '"http_host":"', '"http_path":"']) {
      const at = valid.indexOf(0x22, new TextDecoder().decode(valid).indexOf(field) + 1) +
        field.length - 1;
      const body = new Uint8Array([...valid.subarray(0, at), ...bad, ...valid.subarray(at)]);
      const label = `${field} ${bad}`;
      assert.equal(scanJsonBatch(body, { ...NO_LIMIT, checkUtf8: true }), null, label);
    }
  }
});

/** A record whose timestamp is `number` as written is scanned when in range, and as JSON.parse reads it. */
function assertTimestampRead(record: object, number: string): void {
  const text = JSON.stringify([record]).replace(/"timestamp":[^,]*/, `"timestamp":${number}`);
  const body = ENCODER.encode(text);
  const value = JSON.parse(number);
  if (value >= 0 && value <= 32_503_680_000) assert.ok(assertScanAgrees(body, number), number);
  else assert.equal(scanJsonBatch(body, NO_LIMIT), null, number);
}

Deno.test("scanJsonBatch() makes of each number what JSON.parse makes of it", () => {
  const [record] = sampleRecords(1);
  const numbers = [
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1",
    "1.5",
    "0.1",
    "0.30000000000000004",
    "1764000000.0012347",
    "1764057600.123456",
    "1764057600.1234565",
    "12345.678901234567890123",
    "123456789012345",
    "0.000000000000000000000123",
    "4294967295",
    "1e3",
    "1E+3",
    "25e-1",
    "0.000001",
    "32503680000",
    "32503680000.000004",
    "-1",
    "1e400",
  ];
  for (const number of numbers) assertTimestampRead(record, number);
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 32_503_680_000, noNaN: true }),
      fc.nat({ max: 20 }),
      (value, digits) => {
        for (const timestamp of [String(value), value.toFixed(digits), value.toExponential()]) {
          assertTimestampRead(record, timestamp);
        }
      },
    ),
    propertyRuns(2000),
  );
});

/** A value of any JSON type, leaning on the edges of the field checks and of JSON's grammar. */
const oddValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 70_000 }),
  fc.double(),
  fc.constantFrom(0, 4, 6, 255, 256, 4095, 2 ** 32 - 1, 2 ** 32, 1.5, 1e21, 5e-7),
  fc.constantFrom("", "10.0.0.1", "::1", "2001:db8::1", "fe80::1%eth0", "AAAA", "AAA=", "A==="),
  fc.constantFrom("02:00:00:00:00:01", "vxlan", "mpls", "tls", "dns", "\ufeffx", "é"),
  fc.string({ unit: "binary" }),
  fc.constantFrom("eth\u00000", "\ud800", "a\udfffb", "\ud83d\ude00", '"', "\\"),
  fc.constantFrom([], {}, [1], { a: 1 }),
);

Deno.test("scanJsonBatch() takes a record with odd values exactly when the general path does", () => {
  const base = [...sampleRecords(40, { dataBytes: 6 }), ...withApp()] as unknown as Record<
    string,
    unknown
  >[];
  const fields = PACKET_COLUMNS.map(({ name }) => name as string);
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.nat({ max: base.length - 1 }), fc.constantFrom(...fields), oddValue),
        { minLength: 1, maxLength: 4 },
      ),
      (changes) => {
        const batch = changes.map(([index, field, value]) => ({ ...base[index], [field]: value }));
        batch.push({ ...batch[0] });
        // Keys in place, as JSON.stringify writes them: taken exactly when the general path takes it.
        const body = bodyOf(batch);
        assert.equal(
          assertScanAgrees(body, JSON.stringify(changes)),
          generalPath(new TextDecoder().decode(body)).ok,
          JSON.stringify(changes),
        );
      },
    ),
    propertyRuns(2000),
  );
});

/** Bytes that change a JSON text's meaning most, for the mutations below. */
const MUTATION_TEXT = [...'"\\,:{}[]-+.0159eEnultrfa \n\t', "\u00e9", "\u0000", "\ufeff", "\u2028"];

Deno.test("scanJsonBatch() takes a mutated body only as the general path does", () => {
  const body = JSON.stringify([...sampleRecords(3, { dataBytes: 4 }), ...withApp().slice(0, 2)]);
  const taken = { count: 0 };
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.constantFrom("insert", "delete", "replace"),
          fc.nat({ max: body.length - 1 }),
          fc.constantFrom(...MUTATION_TEXT),
        ),
        { minLength: 1, maxLength: 3 },
      ),
      (mutations) => {
        let text = body;
        for (const [kind, at, piece] of mutations) {
          const from = Math.min(at, text.length);
          const to = kind === "insert" ? from : Math.min(from + 1, text.length);
          text = text.slice(0, from) + (kind === "delete" ? "" : piece) + text.slice(to);
        }
        if (!text.isWellFormed()) return;
        if (assertScanAgrees(ENCODER.encode(text), JSON.stringify(mutations))) taken.count++;
      },
    ),
    propertyRuns(4000),
  );
  // Most single-byte changes inside a value still give a valid body: some must be scanned.
  assert.ok(taken.count > 0);
});
