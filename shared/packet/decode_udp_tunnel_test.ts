import assert from "node:assert/strict";
import { encodePacket } from "./packet_encoder.ts";
import { concatBytes } from "../concat_bytes.ts";
import { geneveHeader, gtpuHeader, vxlanHeader } from "./tunnel_encoder.ts";
import {
  decode,
  INNER_ETHERNET,
  overUdp,
  rawIp,
  TCP,
  V4_INNER,
  V4_OUTER,
  V6_INNER,
  V6_OUTER,
} from "./_tunnel_test_frames.ts";

const innerFrame = encodePacket(INNER_ETHERNET);

Deno.test("decodePacket() records the Ethernet frame inside VXLAN, with its VNI", async (t) => {
  await t.step("over IPv4 and IPv6", () => {
    for (const outer of [V4_OUTER, V6_OUTER]) {
      const record = decode(
        overUdp(4789, concatBytes([vxlanHeader({ vni: 0xabcdef }), innerFrame]), outer),
      );
      assert.equal(record.malformed_reason, null);
      assert.deepEqual(
        [
          record.tunnel_type,
          record.tunnel_id,
          record.tunnel_src_ip,
          record.tunnel_dst_ip,
          record.tunnel_depth,
        ],
        ["vxlan", 0xabcdef, outer.src, outer.dst, 1],
      );
      assert.deepEqual(
        [
          record.eth_src,
          record.vlan_id,
          record.src_ip,
          record.dst_ip,
          record.protocol,
          record.src_port,
        ],
        ["02:00:00:00:00:aa", 30, V4_INNER.src, V4_INNER.dst, "UDP", 5353],
      );
    }
  });
  await t.step("only to port 4789 and with the I flag; else plain UDP", () => {
    const payload = concatBytes([vxlanHeader({ vni: 1 }), innerFrame]);
    for (
      const frame of [
        overUdp(4790, payload),
        overUdp(40000, payload, V4_OUTER, 4789),
        overUdp(4789, concatBytes([vxlanHeader({ vni: 1, flags: 0 }), innerFrame])),
        overUdp(4789, new Uint8Array(0)),
      ]
    ) {
      const record = decode(frame);
      assert.deepEqual([record.tunnel_type, record.src_ip, record.protocol, record.malformed], [
        null,
        V4_OUTER.src,
        "UDP",
        false,
      ]);
    }
  });
  await t.step("a header or inner frame cut off is flagged", () => {
    let record = decode(overUdp(4789, vxlanHeader({ vni: 5 }).subarray(0, 6)));
    assert.deepEqual([record.tunnel_type, record.src_ip, record.malformed_reason], [
      "vxlan",
      V4_OUTER.src,
      "vxlan: truncated header",
    ]);
    record = decode(
      overUdp(4789, concatBytes([vxlanHeader({ vni: 5 }), innerFrame.subarray(0, 10)])),
    );
    assert.deepEqual([record.tunnel_id, record.malformed_reason], [
      5,
      "tunnel: truncated inner Ethernet header",
    ]);
  });
});

Deno.test("decodePacket() records the packet inside Geneve, with its VNI", async (t) => {
  await t.step("an Ethernet frame behind options", () => {
    const header = geneveHeader({
      vni: 0x123456,
      options: [
        { optionClass: 0x0103, type: 0x80, data: new Uint8Array(8) },
        { optionClass: 0xffff, type: 1, data: new Uint8Array(0) },
      ],
    });
    const record = decode(overUdp(6081, concatBytes([header, innerFrame])));
    assert.equal(record.malformed_reason, null);
    assert.deepEqual([record.tunnel_type, record.tunnel_id, record.eth_dst, record.src_ip], [
      "geneve",
      0x123456,
      "02:00:00:00:00:bb",
      V4_INNER.src,
    ]);
  });
  await t.step("an IP packet, named by its protocol type", () => {
    const inner = rawIp({ ip: V6_INNER, transport: TCP });
    const record = decode(
      overUdp(6081, concatBytes([geneveHeader({ vni: 9, protocolType: 0x86dd }), inner])),
    );
    assert.deepEqual([record.tunnel_id, record.src_ip, record.dst_port, record.ether_type], [
      9,
      V6_INNER.src,
      443,
      0x86dd,
    ]);
  });
  await t.step("another version is not Geneve", () => {
    const record = decode(
      overUdp(6081, concatBytes([geneveHeader({ vni: 9, version: 1 }), innerFrame])),
    );
    assert.deepEqual([record.tunnel_type, record.protocol], [null, "UDP"]);
  });
  await t.step("options that do not fill their length are flagged; the length still rules", () => {
    const header = geneveHeader({
      vni: 3,
      options: [{ optionClass: 1, type: 1, data: new Uint8Array(4) }],
    });
    header[8 + 3] = 2; // the option now claims 8 data bytes where the header holds 4
    const record = decode(overUdp(6081, concatBytes([header, innerFrame])));
    assert.deepEqual([record.malformed_reason, record.src_ip], [
      "geneve: bad option length",
      V4_INNER.src,
    ]);
  });
  await t.step("options cut off are flagged", () => {
    const header = geneveHeader({
      vni: 3,
      options: [{ optionClass: 1, type: 1, data: new Uint8Array(8) }],
    });
    const record = decode(overUdp(6081, header.subarray(0, 14)));
    assert.deepEqual([record.tunnel_type, record.tunnel_id, record.malformed_reason], [
      "geneve",
      3,
      "geneve: truncated header",
    ]);
  });
});

Deno.test("decodePacket() records the user packet inside GTP-U, with its TEID", async (t) => {
  const inner = rawIp({ ip: V4_INNER, transport: TCP, payload: new Uint8Array(3) });
  await t.step("a plain G-PDU, and one with sequence number and extension headers", () => {
    for (
      const header of [
        gtpuHeader({ teid: 0xdeadbeef, payloadBytes: inner.length }),
        gtpuHeader({
          teid: 0xdeadbeef,
          sequence: 7,
          payloadBytes: inner.length,
          extensions: [
            { type: 0x85, content: Uint8Array.of(0x10, 0x09) }, // PDU session container
            { type: 0x40, content: Uint8Array.of(0x08, 0x68, 0, 0, 0, 0) },
          ],
        }),
      ]
    ) {
      const record = decode(overUdp(2152, concatBytes([header, inner]), V4_OUTER, 2152));
      assert.equal(record.malformed_reason, null);
      assert.deepEqual(
        [
          record.tunnel_type,
          record.tunnel_id,
          record.tunnel_src_ip,
          record.src_ip,
          record.dst_port,
        ],
        ["gtpu", 0xdeadbeef, V4_OUTER.src, V4_INNER.src, 443],
      );
      assert.equal(record.payload_length, 3);
    }
  });
  await t.step("an IPv6 user packet", () => {
    const v6 = rawIp({ ip: V6_INNER, transport: TCP });
    const record = decode(
      overUdp(2152, concatBytes([gtpuHeader({ teid: 1, payloadBytes: v6.length }), v6])),
    );
    assert.deepEqual([record.src_ip, record.ip_version], [V6_INNER.src, 6]);
  });
  await t.step("an IPv4 packet with 40 bytes of options (tshark takes only 0x45..0x4e)", () => {
    const options = new Uint8Array(40).fill(1);
    const packet = rawIp({ ip: { ...V4_INNER, options }, transport: TCP });
    assert.equal(packet[0], 0x4f);
    const record = decode(
      overUdp(2152, concatBytes([gtpuHeader({ teid: 4, payloadBytes: packet.length }), packet])),
    );
    assert.deepEqual([record.malformed_reason, record.src_ip, record.ip_header_length], [
      null,
      V4_INNER.src,
      60,
    ]);
  });
  await t.step("echo requests and GTP' are path signalling: plain UDP", () => {
    for (
      const header of [
        gtpuHeader({ teid: 0, messageType: 1, sequence: 1, payloadBytes: 0 }),
        Uint8Array.of(0x20, 0xff, 0, 0, 0, 0, 0, 1),
      ]
    ) {
      const record = decode(overUdp(2152, header));
      assert.deepEqual([record.tunnel_type, record.protocol, record.malformed], [
        null,
        "UDP",
        false,
      ]);
    }
  });
  await t.step("a zero-length or overlong extension header is flagged", () => {
    const header = gtpuHeader({
      teid: 2,
      payloadBytes: inner.length,
      extensions: [{ type: 0x85, content: Uint8Array.of(0x10, 0x09) }],
    });
    const zero = header.slice();
    zero[12] = 0;
    assert.equal(
      decode(overUdp(2152, concatBytes([zero, inner]))).malformed_reason,
      "gtpu: bad extension header",
    );
    const overlong = header.slice();
    overlong[12] = 200;
    const record = decode(overUdp(2152, concatBytes([overlong, inner])));
    assert.deepEqual([record.tunnel_id, record.malformed_reason], [
      2,
      "gtpu: bad extension header",
    ]);
  });
  await t.step("a length past the datagram is flagged; the datagram's end rules", () => {
    const header = gtpuHeader({ teid: 3, payloadBytes: inner.length + 100 });
    const record = decode(overUdp(2152, concatBytes([header, inner])));
    assert.deepEqual([record.malformed_reason, record.src_ip], [
      "gtpu: length exceeds UDP payload",
      V4_INNER.src,
    ]);
  });
});
