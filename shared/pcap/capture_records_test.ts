import assert from "node:assert/strict";
import { configDefault } from "../config.ts";
import { decodePacket } from "../packet/decode_packet.ts";
import { captureRecords } from "./capture_records.ts";
import { readCapture } from "./capture_reader.ts";

const CAPTURE = new URL("../testdata/edge_cases.pcap", import.meta.url).pathname;

Deno.test("captureRecords() decodes every frame in file order as the agent does", async () => {
  const expected = [];
  for await (const frame of readCapture(CAPTURE)) {
    expected.push(decodePacket(frame.data, {
      linkType: frame.linkType,
      timestampSec: frame.timestampSec,
      wireLength: frame.wireLength,
      interfaceName: "capture",
      payloadCapture: configDefault("payloadCapture"),
    }));
  }
  assert.ok(expected.length > 0);
  const records = [];
  for await (const batch of captureRecords(CAPTURE)) records.push(...batch);
  assert.deepEqual(records, expected);
  const named = [];
  for await (const batch of captureRecords(CAPTURE, { interfaceName: "eth9" })) {
    named.push(...batch);
  }
  assert.ok(named.every((r) => r.interface === "eth9"));
});

Deno.test("captureRecords() names an empty interface name", async () => {
  await assert.rejects(
    () => captureRecords(CAPTURE, { interfaceName: "" }).next(),
    /'interfaceName' must be a non-empty string/,
  );
});
