import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { DNS_MAX_ANSWERS, parseDnsMessage, parseDnsOverTcp } from "./dns_message.ts";
import { be16, buildDnsMessage, dnsName, dnsPointer } from "./_dns_builder.ts";

const QUERY = 0x0100;
const RESPONSE = 0x8180;
const HEADER = 12;

/**
 * A response to `www.example.com A`: a CNAME to `edge.example.net`, then two
 * A records and an AAAA owned by the CNAME target through compression
 * pointers.
 */
function exampleResponse(): Uint8Array {
  const question = dnsName("www.example.com");
  const target = dnsName("edge.example.net");
  // The CNAME's RDATA starts after the question, its owner pointer and 10 fixed bytes.
  const targetAt = HEADER + question.length + 4 + 2 + 10;
  return buildDnsMessage({
    flags: RESPONSE,
    questions: [{ name: question, type: 1 }],
    answers: [
      { owner: dnsPointer(HEADER), type: 5, ttl: 300, data: target },
      { owner: dnsPointer(targetAt), type: 1, data: [192, 0, 2, 1] },
      { owner: dnsPointer(targetAt), type: 1, data: [192, 0, 2, 2] },
      {
        owner: dnsPointer(targetAt),
        type: 28,
        data: [0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), 1],
      },
    ],
  });
}

function queryFor(name: number[], type = 1): Uint8Array {
  return buildDnsMessage({ flags: QUERY, questions: [{ name, type }] });
}

Deno.test("parseDnsMessage() reads the question, CNAME chain, addresses and first TTL of a response", () => {
  assert.deepEqual(parseDnsMessage(exampleResponse()), {
    dns_query: "www.example.com",
    dns_qtype: 1,
    dns_rcode: 0,
    dns_answers: ["192.0.2.1", "192.0.2.2", "2001:db8::1"],
    dns_cnames: ["edge.example.net"],
    dns_ttl: 300,
  });
});

Deno.test("parseDnsMessage() gives a query no response code and no answers", () => {
  assert.deepEqual(parseDnsMessage(queryFor(dnsName("example.org"), 28)), {
    dns_query: "example.org",
    dns_qtype: 28,
    dns_rcode: null,
    dns_answers: [],
    dns_cnames: [],
    dns_ttl: null,
  });
});

Deno.test("parseDnsMessage() names the root '.' and reads NXDOMAIN", () => {
  const response = buildDnsMessage({ flags: 0x8183, questions: [{ name: [0], type: 255 }] });
  const dns = parseDnsMessage(response);
  assert.equal(dns?.dns_query, ".");
  assert.equal(dns?.dns_qtype, 255);
  assert.equal(dns?.dns_rcode, 3);
});

Deno.test("parseDnsMessage() refuses an opcode DNS does not define", () => {
  assert.equal(parseDnsMessage(buildDnsMessage({ flags: 0x3800 })), null);
  assert.equal(parseDnsMessage(new Uint8Array(11)), null);
});

Deno.test("parseDnsMessage() stops at a compression loop instead of spinning", () => {
  // The question's name is a pointer to itself.
  assert.equal(parseDnsMessage(queryFor(dnsPointer(HEADER)))?.dns_query, null);
  // A label, then a pointer back to that label.
  assert.equal(parseDnsMessage(queryFor([1, 0x61, ...dnsPointer(HEADER)]))?.dns_query, null);
});

Deno.test("parseDnsMessage() shows labels as tshark does: UTF-8, controls escaped", () => {
  const label = (bytes: number[]) => [bytes.length, ...bytes, 3, 0x63, 0x6f, 0x6d, 0];
  const shown = (bytes: number[]) => parseDnsMessage(queryFor(label(bytes)))?.dns_query;
  // Each expectation is what tshark 4.0 prints for dns.qry.name.
  assert.equal(shown([0x61, 0x0a, 0xff]), "a\\n\ufffd.com");
  assert.equal(shown([0x01, 0x09, 0x00, 0x1b]), "\\001\\t\\000\\033.com");
  assert.equal(shown([0x07, 0x08, 0x0c, 0x0d, 0x0b]), "\\a\\b\\f\\r\\v.com");
  assert.equal(shown([0xe2, 0x80, 0x99, 0x41]), "\u2019A.com");
  assert.equal(shown([0x7f, 0x22]), '\\177".com');
});

Deno.test("parseDnsMessage() keeps at most DNS_MAX_ANSWERS addresses", () => {
  const count = DNS_MAX_ANSWERS + 5;
  const dns = parseDnsMessage(buildDnsMessage({
    flags: RESPONSE,
    questions: [{ name: dnsName("many.example"), type: 1 }],
    answers: Array.from({ length: count }, (_, i) => ({
      owner: dnsPointer(HEADER),
      type: 1,
      data: [10, 0, 0, i],
    })),
  }));
  assert.equal(dns?.dns_answers.length, DNS_MAX_ANSWERS);
  assert.equal(dns?.dns_answers[3], "10.0.0.3");
});

Deno.test("parseDnsMessage() lists mDNS names from answers, PTR and SRV targets", () => {
  const instance = dnsName("Office Printer._ipp._tcp.local");
  const host = dnsName("printer.local");
  const mdns = parseDnsMessage(
    buildDnsMessage({
      flags: 0x8400,
      answers: [
        { owner: dnsName("_ipp._tcp.local"), type: 12, ttl: 4500, data: instance },
        { owner: instance, type: 33, class: 0x8001, data: [0, 0, 0, 0, ...be16(631), ...host] },
        { owner: host, type: 1, class: 0x8001, data: [192, 168, 1, 20] },
      ],
    }),
    { listNames: true },
  );
  assert.equal(mdns?.dns_query, null);
  assert.deepEqual(mdns?.dns_names, [
    "_ipp._tcp.local",
    "Office Printer._ipp._tcp.local",
    "printer.local",
  ]);
  assert.deepEqual(mdns?.dns_answers, ["192.168.1.20"]);
});

Deno.test("parseDnsOverTcp() reads the message after its length prefix", () => {
  const message = exampleResponse();
  const segment = new Uint8Array([...be16(message.length), ...message]);
  assert.equal(parseDnsOverTcp(segment)?.dns_cnames[0], "edge.example.net");
  assert.equal(parseDnsOverTcp(segment.subarray(0, 10)), null);
});

Deno.test("parseDnsMessage() never throws on random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, listNames) => {
      parseDnsMessage(bytes, { listNames });
      parseDnsOverTcp(bytes);
    }),
    propertyRuns(3000),
  );
});

Deno.test("parseDnsMessage() on a truncated response gives null or a prefix of the whole answer", () => {
  const bytes = exampleResponse();
  const whole = parseDnsMessage(bytes)!;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bytes.length }), (cut) => {
      const part = parseDnsMessage(bytes.subarray(0, cut));
      if (cut < HEADER) return assert.equal(part, null);
      assert.ok(part !== null);
      assert.ok(part.dns_query === null || part.dns_query === whole.dns_query);
      assert.deepEqual(part.dns_answers, whole.dns_answers.slice(0, part.dns_answers.length));
      assert.deepEqual(part.dns_cnames, whole.dns_cnames.slice(0, part.dns_cnames.length));
      assert.ok(part.dns_ttl === null || part.dns_ttl === whole.dns_ttl);
    }),
  );
});

Deno.test("parseDnsMessage() never throws on mutated messages", () => {
  const bytes = exampleResponse();
  const edit = fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.array(edit, { maxLength: 8 }), (edits) => {
      const copy = bytes.slice();
      for (const [at, value] of edits) copy[at] = value;
      parseDnsMessage(copy, { listNames: true });
    }),
    propertyRuns(3000),
  );
});

Deno.test("parseDnsMessage() lists names without changing any other field, on mutated messages", () => {
  // Without `listNames` an answer's owner name is only walked, not read: the
  // walk must stop where reading it would (the same record count, TTL, answers).
  const bytes = exampleResponse();
  const edit = fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(
      fc.array(edit, { maxLength: 8 }),
      fc.integer({ min: 0, max: bytes.length }),
      (edits, cut) => {
        const copy = bytes.slice(0, cut);
        for (const [at, value] of edits) if (at < copy.length) copy[at] = value;
        const plain = parseDnsMessage(copy);
        const listed = parseDnsMessage(copy, { listNames: true });
        if (listed === null) return assert.equal(plain, null);
        const { dns_names: _names, ...rest } = listed;
        assert.deepEqual(plain, rest);
      },
    ),
    propertyRuns(3000),
  );
});
