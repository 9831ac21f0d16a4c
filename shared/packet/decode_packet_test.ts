import { APP_RECORD_FIELD_NAMES, NO_APP_FIELDS } from "../app_layer/app_record_fields.ts";
import { blankPacketRecord } from "../testing/blank_packet_record.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { decodePacket } from "./decode_packet.ts";
import { validatePacketBatch } from "./packet_schema.ts";
import { readCaptureBytes } from "../pcap/capture_reader.ts";

const TESTDATA = new URL("../testdata/", import.meta.url);

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(
    { length: clean.length / 2 },
    (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16),
  );
}

// Ethernet / IPv4 (DF, TTL 64, id 0x1c46) / TCP SYN 40000 -> 443 with MSS,
// SACK-permitted, timestamps, NOP, window scale (20 bytes of options), plus 4
// bytes of payload, written out by hand from RFC 791 and RFC 9293.
const SYN = hex(`
  02 00 00 00 00 02  02 00 00 00 00 01  08 00
  45 b8 00 40  1c 46 40 00  40 06 00 00  c0 00 02 01  c6 33 64 07
  9c 40 01 bb  00 00 03 e8  00 00 00 00  a0 c2 fa f0  00 00 00 00
  02 04 05 b4  04 02 08 0a  00 01 e2 40  00 00 00 00  01 03 03 07
  de ad be ef
`);

Deno.test("decodePacket() reads every field of a hand-written TCP SYN", () => {
  const record = decodePacket(SYN, {
    linkType: 1,
    timestampSec: 1_700_000_000.123456,
    wireLength: 1514,
    interfaceName: "eth0",
    payloadCapture: "none",
  });
  assert.deepEqual(record, {
    timestamp: 1_700_000_000.123456,
    interface: "eth0",
    src_ip: "192.0.2.1",
    dst_ip: "198.51.100.7",
    protocol: "TCP",
    src_port: 40000,
    dst_port: 443,
    length: 1514,
    caplen: 78,
    link_type: 1,
    eth_src: "02:00:00:00:00:01",
    eth_dst: "02:00:00:00:00:02",
    ether_type: 0x0800,
    vlan_id: null,
    vlan_inner_id: null,
    ip_version: 4,
    ip_proto: 6,
    ttl: 64,
    ip_id: 0x1c46,
    ip_tos: 0xb8,
    ip_header_length: 20,
    ip_flow_label: null,
    frag_offset: 0,
    more_fragments: false,
    dont_fragment: true,
    is_fragment: false,
    tcp_seq: 1000,
    tcp_ack: 0,
    tcp_flags: 0xc2,
    tcp_window: 64240,
    tcp_header_length: 40,
    icmp_type: null,
    icmp_code: null,
    icmp_id: null,
    icmp_seq: null,
    arp_opcode: null,
    tunnel_type: null,
    tunnel_src_ip: null,
    tunnel_dst_ip: null,
    tunnel_id: null,
    tunnel_depth: 0,
    payload_length: 4,
    malformed: false,
    malformed_reason: null,
    data: null,
    ...NO_APP_FIELDS,
  });
});

Deno.test("decodePacket() records list their fields in the order of a blank record, app fields last", () => {
  // The app-layer fields are written out in decode_packet.ts rather than spread
  // from NO_APP_FIELDS: a field added there must be added here too, in order.
  const record = decodePacket(SYN, { linkType: 1, timestampSec: 0, wireLength: 78 });
  const keys = Object.keys(record);
  assert.deepEqual(keys, Object.keys(blankPacketRecord()));
  assert.deepEqual(keys.slice(-APP_RECORD_FIELD_NAMES.length), [...APP_RECORD_FIELD_NAMES]);
});

Deno.test("decodePacket() keeps all bytes, the headers, or nothing, per payloadCapture", async (t) => {
  const options = { linkType: 1, timestampSec: 0 } as const;
  await t.step("full", () => {
    assert.equal(decodePacket(SYN, { ...options, payloadCapture: "full" }).data, SYN.toBase64());
  });
  await t.step("headers stops after the TCP options", () => {
    const data = decodePacket(SYN, { ...options, payloadCapture: "headers" }).data!;
    assert.equal(data, SYN.subarray(0, 74).toBase64());
  });
  await t.step("none", () => {
    assert.equal(decodePacket(SYN, { ...options, payloadCapture: "none" }).data, null);
  });
  await t.step("defaults: headers, wire length = captured length, interface unknown", () => {
    const record = decodePacket(SYN, options);
    assert.equal(record.data, SYN.subarray(0, 74).toBase64());
    assert.equal(record.length, 78);
    assert.equal(record.interface, "unknown");
  });
});

Deno.test("decodePacket() flags a SYN cut inside its options and keeps the fixed header", () => {
  const record = decodePacket(SYN.subarray(0, 60), {
    linkType: 1,
    timestampSec: 0,
    wireLength: 78,
  });
  assert.equal(record.malformed, true);
  assert.equal(record.malformed_reason, "tcp: truncated options");
  assert.equal(record.tcp_flags, 0xc2);
  assert.equal(record.tcp_header_length, 40);
  assert.equal(record.payload_length, 4);
  assert.equal(record.caplen, 60);
  assert.equal(record.length, 78);
});

Deno.test("decodePacket() records of every fixture frame pass the ingest schema", async () => {
  let checked = 0;
  for await (const entry of Deno.readDir(TESTDATA)) {
    if (!/\.(pcap|pcapng)$/.test(entry.name)) continue;
    const bytes = await Deno.readFile(new URL(entry.name, TESTDATA));
    const records = [...readCaptureBytes(bytes)].map((frame) =>
      decodePacket(frame.data, {
        linkType: frame.linkType,
        timestampSec: frame.timestampSec,
        wireLength: frame.wireLength,
        interfaceName: frame.interfaceName ?? entry.name,
        payloadCapture: "full",
      })
    );
    const result = validatePacketBatch(JSON.parse(JSON.stringify(records)));
    assert.ok(result.ok, `${entry.name}: ${JSON.stringify(!result.ok && result.issue)}`);
    checked += records.length;
  }
  assert.ok(checked > 300);
});

Deno.test("decodePacket() records of random bytes pass the ingest schema", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147),
      fc.nat(65_535),
      (frame, linkType, wireLength) => {
        const record = decodePacket(frame, { linkType, timestampSec: 1, wireLength });
        const result = validatePacketBatch([JSON.parse(JSON.stringify(record))]);
        assert.ok(result.ok, JSON.stringify(!result.ok && result.issue));
      },
    ),
    propertyRuns(2000),
  );
});
