import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { decodePacket } from "./decode_packet.ts";
import { assertWellFormed } from "./_record_checks.ts";
import { tunnelAroundRandomBytes, tunnelFrame } from "./_tunnel_arbitraries.ts";

const ETHERNET = 1;

function decode(frame: Uint8Array, wireLength = frame.length) {
  return decodePacket(frame, {
    linkType: ETHERNET,
    timestampSec: 0,
    wireLength,
    payloadCapture: "headers",
  });
}

Deno.test("decodePacket() unwraps every encapsulation of a valid tunnelled frame", () => {
  fc.assert(
    fc.property(tunnelFrame, ({ frame, tunnels }) => {
      const record = decode(frame);
      assertWellFormed(record, frame, frame.length, ETHERNET);
      assert.equal(record.malformed_reason, null);
      assert.equal(record.tunnel_depth, tunnels.length);
      assert.equal(record.tunnel_type, tunnels.at(-1));
    }),
    propertyRuns(2000),
  );
});

Deno.test("decodePacket() never throws on random bytes inside any encapsulation", () => {
  fc.assert(
    fc.property(tunnelAroundRandomBytes, fc.nat(), ({ frame }, cut) => {
      const truncated = frame.subarray(0, cut % (frame.length + 1));
      for (const bytes of [frame, truncated]) {
        assertWellFormed(decode(bytes, frame.length), bytes, frame.length, ETHERNET);
      }
    }),
    propertyRuns(4000),
  );
});

Deno.test("decodePacket() never throws on tunnelled frames with bytes changed or cut", () => {
  fc.assert(
    fc.property(
      tunnelFrame,
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }),
      fc.nat(),
      ({ frame }, patches, cut) => {
        const damaged = frame.slice();
        for (const [index, value] of patches) damaged[index % damaged.length] = value;
        const truncated = damaged.subarray(0, cut % (damaged.length + 1));
        assertWellFormed(decode(truncated, damaged.length), truncated, damaged.length, ETHERNET);
      },
    ),
    propertyRuns(4000),
  );
});
