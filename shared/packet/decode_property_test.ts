import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns } from "../testing/property_runs.ts";
import { concatBytes } from "../concat_bytes.ts";
import { readCaptureBytes } from "../pcap/capture_reader.ts";
import { decodePacket } from "./decode_packet.ts";
import { encodePacket, linkTypeOf, parseIpv6, type TransportSpec } from "./packet_encoder.ts";
import { formatIpv6 } from "./address_format.ts";
import { assertWellFormed, base64Bytes } from "./_record_checks.ts";
import { ipPacket, otherPacket } from "./_packet_arbitraries.ts";
import { etherTypeName } from "./ether_types.ts";
import { ipProtocolName } from "./ip_protocols.ts";

const LINK_TYPES = [
  0,
  1,
  9,
  12,
  14,
  50,
  101,
  104,
  105,
  108,
  113,
  117,
  127,
  228,
  229,
  239,
  276,
  147,
  65535,
];
// ---------------------------------------------------------------- robustness

Deno.test("decodePacket() never throws on random bytes for any link type", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(...LINK_TYPES),
      fc.nat(3000),
      fc.constantFrom("full" as const, "headers" as const, "none" as const),
      (frame, linkType, wireLength, payloadCapture) => {
        const record = decodePacket(frame, {
          linkType,
          timestampSec: 1,
          wireLength,
          payloadCapture,
        });
        assertWellFormed(record, frame, wireLength, linkType);
        if (payloadCapture === "full") assert.deepEqual(base64Bytes(record.data!), frame);
        if (payloadCapture === "none") assert.equal(record.data, null);
      },
    ),
    propertyRuns(3000),
  );
});

Deno.test("decodePacket() never throws on valid frames with bytes changed, cut or mislabelled", () => {
  fc.assert(
    fc.property(
      fc.oneof(ipPacket(), otherPacket),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
      fc.nat(),
      fc.boolean(),
      fc.constantFrom(...LINK_TYPES),
      (spec, patches, cut, relabel, otherLinkType) => {
        const frame = encodePacket(spec);
        for (const [index, value] of patches) {
          if (frame.length > 0) frame[index % frame.length] = value;
        }
        const truncated = frame.subarray(0, cut % (frame.length + 1));
        const linkType = relabel ? otherLinkType : linkTypeOf(spec.link);
        const record = decodePacket(truncated, {
          linkType,
          timestampSec: 0,
          wireLength: frame.length,
          payloadCapture: "headers",
        });
        assertWellFormed(record, truncated, frame.length, linkType);
      },
    ),
    propertyRuns(3000),
  );
});

/**
 * Real frames of the log, PPP and 802.11 link types (the oracle fixtures),
 * whose headers lead the decoder deep into each path before the damage.
 */
const LINK_FIXTURES = [
  "nflog.pcap",
  "nflog_size48.pcap",
  "pflog.pcap",
  "ppp.pcap",
  "ppp_hdlc.pcap",
  "c_hdlc.pcap",
  "wifi_80211.pcap",
  "wifi_radiotap.pcap",
];
const linkFrames = LINK_FIXTURES.flatMap((name) =>
  [...readCaptureBytes(Deno.readFileSync(new URL(`../testdata/${name}`, import.meta.url)))]
    .map((frame) => ({ name, linkType: frame.linkType, data: frame.data.slice() }))
);

Deno.test("decodePacket() never throws on NFLOG, PFLOG, PPP, HDLC and 802.11 frames changed, cut or followed by random bytes", () => {
  assert.equal(new Set(linkFrames.map((f) => f.linkType)).size, 7);
  fc.assert(
    fc.property(
      fc.constantFrom(...linkFrames),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
      fc.nat(),
      fc.uint8Array({ maxLength: 64 }),
      fc.nat(3000),
      ({ linkType, data }, patches, cut, tail, extraWire) => {
        const frame = data.slice();
        for (const [index, value] of patches) {
          if (frame.length > 0) frame[index % frame.length] = value;
        }
        // Cut anywhere, then either stop there or go on with random bytes.
        const kept = frame.subarray(0, cut % (frame.length + 1));
        const bytes = tail.length % 2 === 0 ? kept : concatBytes([kept, tail]);
        const wireLength = bytes.length + (extraWire % 3 === 0 ? extraWire : 0);
        const record = decodePacket(bytes, {
          linkType,
          timestampSec: 0,
          wireLength,
          payloadCapture: "headers",
        });
        assertWellFormed(record, bytes, wireLength, linkType);
      },
    ),
    propertyRuns(3000),
  );
});

Deno.test("decodePacket() flags every cut of a link-type fixture frame short of its network header", () => {
  for (const { name, linkType, data } of linkFrames) {
    const whole = decodePacket(data, { linkType, timestampSec: 0, payloadCapture: "none" });
    for (let caplen = 0; caplen < data.length; caplen++) {
      const record = decodePacket(data.subarray(0, caplen), {
        linkType,
        timestampSec: 0,
        wireLength: data.length,
        payloadCapture: "none",
      });
      assertWellFormed(record, data.subarray(0, caplen), data.length, linkType);
      // Any cut that loses the IP addresses a whole frame has is flagged.
      if (whole.src_ip !== null && record.src_ip === null) {
        assert.ok(record.malformed, `${name} cut at ${caplen}: ${record.protocol}`);
      }
    }
  }
});

// ---------------------------------------------------------------- round trip

function transportNumber(t: TransportSpec): number {
  return { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 }[t.protocol as string] ??
    (t as { number: number }).number;
}

Deno.test("encodePacket() then decodePacket() round-trips every field", () => {
  fc.assert(
    fc.property(
      fc.oneof(ipPacket({ wellFormed: true }), ipPacket({ wellFormed: true }), otherPacket),
      (spec) => {
        const frame = encodePacket(spec);
        const linkType = linkTypeOf(spec.link);
        const record = decodePacket(frame, {
          linkType,
          timestampSec: 1_700_000_000.5,
          interfaceName: "veth0",
          payloadCapture: "headers",
        });
        assertWellFormed(record, frame, frame.length, linkType);
        assert.equal(record.malformed, false, record.malformed_reason ?? "");
        assert.equal(record.timestamp, 1_700_000_000.5);
        assert.equal(record.interface, "veth0");

        const link = spec.link ?? "ethernet";
        const cooked = link === "sll" || link === "sll2";
        const tagged = link === "ethernet" || cooked;
        const vlans = tagged ? spec.ethernet?.vlans ?? [] : [];
        assert.equal(record.eth_src, tagged ? spec.ethernet!.src : null);
        assert.equal(record.eth_dst, link === "ethernet" ? spec.ethernet!.dst : null);
        assert.equal(record.vlan_id, vlans[0]?.id ?? null);
        assert.equal(record.vlan_inner_id, vlans[1]?.id ?? null);
        const payload = spec.payload ?? new Uint8Array(0);
        const kept = base64Bytes(record.data!).length;

        if (spec.arp !== undefined) {
          assert.equal(record.protocol, "ARP");
          assert.equal(record.ether_type, 0x0806);
          assert.equal(record.arp_opcode, spec.arp.opcode);
          assert.equal(record.src_ip, spec.arp.senderIp);
          assert.equal(record.dst_ip, spec.arp.targetIp);
          assert.equal(record.ip_version, null);
          assert.equal(kept, frame.length - payload.length);
          return;
        }
        if (spec.ip === undefined) {
          assert.equal(record.ether_type, spec.etherType);
          assert.equal(record.protocol, etherTypeName(spec.etherType!));
          assert.equal(record.payload_length, payload.length);
          assert.equal(record.src_ip, null);
          assert.equal(kept, frame.length - payload.length);
          return;
        }

        const ip = spec.ip;
        const transport = spec.transport;
        assert.equal(record.ether_type, tagged ? (ip.version === 4 ? 0x0800 : 0x86dd) : null);
        assert.equal(record.ip_version, ip.version);
        let later: boolean;
        let headerLength: number;
        let unparsedHeaderBytes = 0;
        let protocol = transport ? transportNumber(transport) : ip.version === 4 ? 0xfd : 59;
        if (ip.version === 4) {
          assert.equal(record.src_ip, ip.src);
          assert.equal(record.dst_ip, ip.dst);
          assert.equal(record.ttl, ip.ttl);
          assert.equal(record.ip_id, ip.id);
          assert.equal(record.ip_tos, ip.tos);
          assert.equal(record.dont_fragment, ip.dontFragment);
          assert.equal(record.more_fragments, ip.moreFragments);
          assert.equal(record.frag_offset, ip.fragOffset);
          assert.equal(record.ip_flow_label, null);
          later = ip.fragOffset! > 0;
          headerLength = 20 + ((ip.options?.length ?? 0) + 3 & ~3);
        } else {
          assert.deepEqual(parseIpv6(record.src_ip!), parseIpv6(ip.src));
          assert.deepEqual(parseIpv6(record.dst_ip!), parseIpv6(ip.dst));
          assert.equal(record.ttl, ip.hopLimit);
          assert.equal(record.ip_tos, ip.trafficClass);
          assert.equal(record.ip_flow_label, ip.flowLabel);
          assert.equal(record.dont_fragment, false);
          headerLength = 40;
          later = false;
          const fragment = ip.extensionHeaders!.find((e) => e.type === 44);
          assert.equal(record.frag_offset, fragment?.offset ?? 0);
          assert.equal(record.more_fragments, fragment?.more ?? false);
          assert.equal(record.ip_id, fragment?.id ?? null);
          const extensions = ip.extensionHeaders!;
          for (let i = 0; i < extensions.length; i++) {
            const e = extensions[i];
            if (e.type === 44) {
              headerLength += 8;
              if (e.offset > 0) {
                // Decoding stops at a later fragment's header.
                later = true;
                protocol = extensions[i + 1]?.type ?? protocol;
                unparsedHeaderBytes = encodePacket({ ...spec, link: "ipv6", payload: undefined })
                  .length - headerLength;
                break;
              }
            } else if (e.type === 51) {
              headerLength += Math.max(3, Math.ceil((12 + (e.bodyBytes ?? 12)) / 4)) * 4;
            } else {
              headerLength += Math.max(1, Math.ceil((2 + (e.bodyBytes ?? 6)) / 8)) * 8;
            }
          }
        }
        assert.equal(record.ip_header_length, headerLength);
        assert.equal(record.ip_proto, protocol);
        assert.equal(record.protocol, ipProtocolName(protocol));
        assert.equal(record.is_fragment, later);

        const t = later ? undefined : transport;
        assert.equal(record.src_port, t && "srcPort" in t ? t.srcPort : null);
        assert.equal(record.dst_port, t && "dstPort" in t ? t.dstPort : null);
        assert.equal(record.tcp_seq, t?.protocol === "tcp" ? t.seq : null);
        assert.equal(record.tcp_ack, t?.protocol === "tcp" ? t.ack : null);
        assert.equal(record.tcp_flags, t?.protocol === "tcp" ? t.flags : null);
        assert.equal(record.tcp_window, t?.protocol === "tcp" ? t.window : null);
        assert.equal(
          record.tcp_header_length,
          t?.protocol === "tcp" ? 20 + ((t.options?.length ?? 0) + 3 & ~3) : null,
        );
        const icmp = t?.protocol === "icmp" || t?.protocol === "icmpv6" ? t : undefined;
        assert.equal(record.icmp_type, icmp?.type ?? null);
        assert.equal(record.icmp_code, icmp?.code ?? null);
        const echo = icmp !== undefined &&
          (icmp.protocol === "icmp" ? [0, 8] : [128, 129]).includes(icmp.type);
        assert.equal(record.icmp_id, echo ? icmp.id : null);
        assert.equal(record.icmp_seq, echo ? icmp.seq : null);
        assert.equal(record.payload_length, payload.length + unparsedHeaderBytes);
        assert.equal(record.arp_opcode, null);
        // `headers` keeps everything but the payload: the encoder adds no padding.
        assert.equal(kept, frame.length - payload.length - unparsedHeaderBytes);
      },
    ),
    propertyRuns(3000),
  );
});

// ---------------------------------------------------------------- formatting

Deno.test("formatIpv6() prints RFC 5952 form, as the WHATWG URL parser does, except inet_ntop's IPv4 forms", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        // Mostly-zero addresses exercise the `::` choice.
        fc.array(fc.constantFrom(0, 0, 0, 1, 0xff, 0xab), { minLength: 16, maxLength: 16 })
          .map((a) => Uint8Array.from(a)),
      ),
      (bytes) => {
        const text = formatIpv6(bytes, 0);
        assert.deepEqual(parseIpv6(text), bytes);
        const zeroRun = bytes.subarray(0, 10).every((b) => b === 0);
        const mapped = zeroRun && bytes[10] === 0xff && bytes[11] === 0xff;
        const compatible = zeroRun && bytes[10] === 0 && bytes[11] === 0 &&
          (bytes[12] !== 0 || bytes[13] !== 0);
        if (mapped || compatible) {
          assert.match(text, /^::(ffff:)?\d+\.\d+\.\d+\.\d+$/);
        } else {
          const url = new URL(`http://[${text}]/`).hostname.slice(1, -1);
          assert.equal(text, url);
        }
      },
    ),
    propertyRuns(5000),
  );
});

Deno.test("decodePacket() rejects invalid options by name", () => {
  const frame = encodePacket({ ip: { version: 4, src: "192.0.2.1", dst: "192.0.2.2" } });
  assert.throws(
    // @ts-expect-error: testing a value outside the type
    () => decodePacket(frame, { linkType: 1, timestampSec: 0, payloadCapture: "some" }),
    /'payloadCapture' must be "full", "headers" or "none": current value is some/,
  );
  assert.throws(
    () => decodePacket(frame, { linkType: 1, timestampSec: 0, wireLength: -1 }),
    /'wireLength' must be >= 0: current value is -1/,
  );
});
