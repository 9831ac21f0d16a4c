import assert from "node:assert/strict";
import { parseIp } from "../packet/address_parse.ts";
import { AsnTableError, parseAsnIpv4Table, parseAsnIpv6Table } from "./asn_ranges.ts";

const ip = (text: string) => parseIp(text)!;
const num = (text: string) => {
  const b = ip(text);
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
};

Deno.test("parseAsnIpv4Table() finds the range holding an address, and nothing between ranges", () => {
  const table = parseAsnIpv4Table(
    [
      `${num("1.0.0.0")},${num("1.0.0.255")},13335,"Cloudflare, Inc."`,
      `${num("1.0.4.0")},${num("1.0.7.255")},38803,Gtelecom Pty Ltd`,
      `${num("8.8.8.0")},${num("8.8.8.255")},15169,"The ""Quoted"" Org"`,
      `${num("9.9.9.0")},${num("9.9.9.255")},19281,`,
      "",
    ].join("\r\n"),
  );
  assert.equal(table.size, 4);
  assert.deepEqual(table.find(ip("1.0.0.0")), { asn: 13335, organization: "Cloudflare, Inc." });
  assert.deepEqual(table.find(ip("1.0.0.255")), { asn: 13335, organization: "Cloudflare, Inc." });
  assert.equal(table.find(ip("1.0.1.0")), null);
  assert.equal(table.find(ip("0.255.255.255")), null);
  assert.deepEqual(table.find(ip("1.0.7.255"))?.asn, 38803);
  assert.deepEqual(table.find(ip("8.8.8.8")), { asn: 15169, organization: 'The "Quoted" Org' });
  assert.deepEqual(table.find(ip("9.9.9.9")), { asn: 19281, organization: null });
  assert.equal(table.find(ip("200.0.0.1")), null);
  assert.equal(table.find(ip("2001:db8::1")), null, "an IPv6 address has no place in it");
});

Deno.test("parseAsnIpv4Table() lets a range that starts inside the one before win the overlap", () => {
  const table = parseAsnIpv4Table(`100,299,1,A\n200,250,2,B\n400,500,3,C\n`);
  const at = (n: number) =>
    table.find(Uint8Array.of(n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255));
  assert.equal(at(150)?.asn, 1);
  assert.equal(at(220)?.asn, 2);
  assert.equal(at(260), null, "the earlier range was cut where the later one starts");
  assert.equal(at(450)?.asn, 3);
});

Deno.test("parseAsnIpv4Table() and parseAsnIpv6Table() name the line at fault", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["too few fields", "1,2,3\n", /line 1: expected 4 fields/],
    ["a bad AS number", "1,2,x,Org\n", /line 1: bad AS number 'x'/],
    ["a reversed range", "5,2,1,Org\n", /line 1: bad range/],
    [
      "starts out of order",
      "10,20,1,A\n5,8,2,B\n",
      /line 2: ranges do not start in ascending order/,
    ],
    ["an open quote", '1,2,3,"Org\n', /line 1: unterminated quoted field/],
  ];
  for (const [name, text, message] of cases) {
    await t.step(name, () => assert.throws(() => parseAsnIpv4Table(text), message));
  }
  await t.step("a bad IPv6 address", () => {
    assert.throws(() => parseAsnIpv6Table("2001:db8::,nope,1,Org\n"), AsnTableError);
  });
});

Deno.test("parseAsnIpv6Table() finds the range holding an address across 64-bit halves", () => {
  const table = parseAsnIpv6Table(
    [
      "2001::,2001::ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC",
      "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC",
      "2001:4860:4860::,2001:4860:4860::ffff,64512,Overlap",
      '2606:4700::,2606:4700:ffff:ffff:ffff:ffff:ffff:ffff,13335,"Cloudflare, Inc."',
    ].join("\n"),
  );
  assert.equal(table.size, 4);
  assert.equal(table.find(ip("2001::1"))?.asn, 6939);
  assert.equal(table.find(ip("2001:4860::1"))?.asn, 15169);
  assert.equal(table.find(ip("2001:4860:4860::8888"))?.asn, 64512);
  assert.equal(table.find(ip("2001:4860:4860::1:0")), null, "cut by the overlap");
  assert.equal(table.find(ip("2001:4861::")), null);
  assert.deepEqual(table.find(ip("2606:4700:4700::1111")), {
    asn: 13335,
    organization: "Cloudflare, Inc.",
  });
  assert.equal(table.find(ip("2606:4701::")), null);
  assert.equal(table.find(ip("8.8.8.8")), null);
});
