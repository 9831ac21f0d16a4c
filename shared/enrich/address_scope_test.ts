import assert from "node:assert/strict";
import { AddressParseError, type AddressScope, addressScope } from "./address_scope.ts";

const CASES: [string, AddressScope][] = [
  ["8.8.8.8", "public"],
  ["1.1.1.1", "public"],
  ["9.255.255.255", "public"],
  ["11.0.0.0", "public"],
  ["10.0.0.0", "private"],
  ["10.255.255.255", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["172.32.0.0", "public"],
  ["192.168.1.10", "private"],
  ["100.64.0.0", "cgnat"],
  ["100.127.255.255", "cgnat"],
  ["100.128.0.0", "public"],
  ["127.0.0.1", "loopback"],
  ["169.254.10.20", "link-local"],
  ["192.0.2.55", "documentation"],
  ["198.51.100.1", "documentation"],
  ["203.0.113.200", "documentation"],
  ["198.18.0.1", "benchmarking"],
  ["198.19.255.255", "benchmarking"],
  ["224.0.0.251", "multicast"],
  ["239.255.255.250", "multicast"],
  ["255.255.255.255", "broadcast"],
  ["240.0.0.1", "reserved"],
  ["192.0.0.8", "reserved"],
  ["0.0.0.0", "unspecified"],
  ["2001:4860:4860::8888", "public"],
  ["2606:4700:4700::1111", "public"],
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["fe80::1", "link-local"],
  ["febf:ffff::1", "link-local"],
  ["fd12:3456::1", "unique-local"],
  ["fc00::1", "unique-local"],
  ["ff02::fb", "multicast"],
  ["2001:db8::1", "documentation"],
  ["3fff:123::1", "documentation"],
  ["2001:2::1", "benchmarking"],
  ["2001:0:4136:e378::1", "reserved"],
  ["100::1", "reserved"],
  ["4000::1", "reserved"],
  ["::ffff:10.0.0.1", "private"],
  ["::ffff:8.8.8.8", "public"],
  ["64:ff9b::c000:201", "documentation"],
  ["64:ff9b::808:808", "public"],
  ["64:ff9b:1::1", "private"],
];

Deno.test("addressScope() labels every special-purpose range, IPv4 and IPv6", async (t) => {
  for (const [address, scope] of CASES) {
    await t.step(`${address} is ${scope}`, () => assert.equal(addressScope(address), scope));
  }
});

Deno.test("addressScope() names text that is not an address", () => {
  for (const text of ["", "1.2.3", "10.0.0.256", "example.com", "2001:db8::1::2"]) {
    assert.throws(() => addressScope(text), AddressParseError, text);
  }
  assert.throws(() => addressScope("1.2.3"), /Cannot classify '1.2.3'/);
});
