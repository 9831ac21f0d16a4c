import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { parseDhcpMessage } from "./dhcp_message.ts";

/** A DHCPREQUEST with the given options after the magic cookie. */
function dhcpRequest(options: number[]): Uint8Array {
  const fixed = new Uint8Array(236);
  fixed.set([1, 1, 6, 0]); // BOOTREQUEST, Ethernet, 6-byte address
  return new Uint8Array([...fixed, 0x63, 0x82, 0x53, 0x63, ...options]);
}

const REQUEST_OPTIONS = [
  53,
  1,
  3, // DHCPREQUEST
  0, // pad
  50,
  4,
  192,
  168,
  1,
  42,
  12,
  6,
  ...new TextEncoder().encode("laptop"),
  255,
];

Deno.test("parseDhcpMessage() reads the message type, host name and requested address", () => {
  assert.deepEqual(parseDhcpMessage(dhcpRequest(REQUEST_OPTIONS)), {
    dhcp_message_type: 3,
    dhcp_hostname: "laptop",
    dhcp_requested_ip: "192.168.1.42",
  });
});

Deno.test("parseDhcpMessage() refuses bytes without the magic cookie", () => {
  const message = dhcpRequest(REQUEST_OPTIONS);
  message[236] = 0;
  assert.equal(parseDhcpMessage(message), null);
  assert.equal(parseDhcpMessage(new Uint8Array(100)), null);
});

Deno.test("parseDhcpMessage() keeps the options before a cut", () => {
  const message = dhcpRequest(REQUEST_OPTIONS);
  for (let cut = 0; cut < message.length; cut++) {
    const part = parseDhcpMessage(message.subarray(0, cut));
    if (cut < 240) {
      assert.equal(part, null);
      continue;
    }
    assert.ok(part !== null);
    if (cut < 250) assert.equal(part.dhcp_requested_ip, null);
    if (cut >= 250) assert.equal(part.dhcp_requested_ip, "192.168.1.42");
    assert.ok(part.dhcp_hostname === null || part.dhcp_hostname === "laptop");
  }
});

Deno.test("parseDhcpMessage() never throws on random options", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }), (options) => {
      parseDhcpMessage(dhcpRequest(options));
    }),
    propertyRuns(3000),
  );
});
