import assert from "node:assert/strict";
import { decodePacket, type PacketRecord } from "../packet/mod.ts";
import { readCaptureBytes } from "../pcap/capture_reader.ts";
import { concatBytes } from "../concat_bytes.ts";
import { readIcmpQuote } from "./_icmp_quote.ts";

const TESTDATA = new URL("../testdata/", import.meta.url);

/** The ICMP and ICMPv6 errors of a fixture, decoded with their bytes. */
function errors(name: string): PacketRecord[] {
  const frames = readCaptureBytes(Deno.readFileSync(new URL(name, TESTDATA)));
  return [...frames].flatMap((frame) => {
    const record = decodePacket(frame.data, {
      linkType: frame.linkType,
      timestampSec: 0,
      wireLength: frame.wireLength,
      payloadCapture: "full",
    });
    const error = (record.ip_proto === 1 && record.icmp_type === 3) ||
      (record.ip_proto === 58 && record.icmp_type === 1);
    return error ? [record] : [];
  });
}

function decode(frame: Uint8Array, linkType: number): PacketRecord {
  return decodePacket(frame, { linkType, timestampSec: 0, payloadCapture: "full" });
}

Deno.test("readIcmpQuote() finds the quoted datagram behind an NFLOG header's TLVs", () => {
  const found = errors("nflog.pcap");
  assert.ok(found.length > 0, "nflog.pcap holds a port unreachable");
  for (const record of found) {
    const quote = readIcmpQuote(record);
    assert.ok(quote !== null);
    assert.equal(quote.ipProto, 17);
    assert.equal(quote.dstPort, 9997);
  }
});

Deno.test("readIcmpQuote() reads past the PFLOG, PPP and Cisco HDLC headers", () => {
  const [record] = errors("ipv4_tcp_udp_icmp.pcap");
  const ethernet = Uint8Array.from(atob(record.data!), (c) => c.charCodeAt(0));
  const ip = ethernet.subarray(14);
  const want = readIcmpQuote(record);
  assert.ok(want !== null);
  const pflog = new Uint8Array(64);
  pflog[0] = 61; // FreeBSD's header length, padded to 64
  pflog[1] = 2;
  const wrapped: [number, Uint8Array][] = [
    [117, concatBytes([pflog, ip])],
    [9, concatBytes([Uint8Array.of(0x00, 0x21), ip])],
    [9, concatBytes([Uint8Array.of(0xff, 0x03, 0x00, 0x21), ip])],
    [50, concatBytes([Uint8Array.of(0xff, 0x03, 0x00, 0x21), ip])],
    [50, concatBytes([Uint8Array.of(0x0f, 0x00, 0x08, 0x00), ip])],
    [104, concatBytes([Uint8Array.of(0x8f, 0x00, 0x08, 0x00), ip])],
  ];
  for (const [linkType, frame] of wrapped) {
    assert.deepEqual(readIcmpQuote(decode(frame, linkType)), want, `link type ${linkType}`);
  }
});
