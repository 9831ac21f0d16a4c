import assert from "node:assert/strict";
import { encodePacket } from "./packet_encoder.ts";
import { concatBytes } from "../concat_bytes.ts";
import { grePacket, mplsLabelStack, pppoeHeader } from "./tunnel_encoder.ts";
import { decode, overIp, rawIp, TCP, V4_INNER, V4_OUTER, V6_INNER } from "./_tunnel_test_frames.ts";

/** An Ethernet frame with `etherType` and `payload`, as a provider edge sends it. */
function overEthernet(etherType: number, payload: Uint8Array, vlans = [{ id: 7 }]) {
  return encodePacket({ ethernet: { vlans }, etherType, payload });
}

Deno.test("decodePacket() records the packet under an MPLS label stack, with its bottom label", async (t) => {
  await t.step("IPv4 under one label, IPv6 under three", () => {
    for (
      const [labels, inner, version] of [
        [[16], rawIp({ ip: V4_INNER, transport: TCP }), 4],
        [[1000, 2000, 0xfffff], rawIp({ ip: V6_INNER, transport: TCP }), 6],
      ] as const
    ) {
      const stack = mplsLabelStack(labels.map((label) => ({ label })));
      const record = decode(overEthernet(0x8847, concatBytes([stack, inner])));
      assert.equal(record.malformed_reason, null);
      assert.deepEqual(
        [record.tunnel_type, record.tunnel_id, record.tunnel_src_ip, record.tunnel_depth],
        ["mpls", labels.at(-1), null, 1],
      );
      assert.deepEqual([record.ip_version, record.dst_port, record.vlan_id, record.ether_type], [
        version,
        443,
        7,
        version === 4 ? 0x0800 : 0x86dd,
      ]);
    }
  });
  await t.step("a payload that is not IP is named MPLS", () => {
    const record = decode(
      overEthernet(0x8847, concatBytes([mplsLabelStack([{ label: 99 }]), new Uint8Array(20)])),
    );
    assert.deepEqual(
      [
        record.tunnel_type,
        record.tunnel_id,
        record.protocol,
        record.ether_type,
        record.payload_length,
      ],
      ["mpls", 99, "MPLS", 0x8847, 20],
    );
  });
  await t.step("a stack with no bottom entry is flagged", () => {
    const stack = mplsLabelStack([{ label: 1 }, { label: 2 }]).subarray(0, 6);
    const record = decode(overEthernet(0x8848, stack));
    assert.deepEqual([record.tunnel_type, record.tunnel_id, record.malformed_reason], [
      "mpls",
      null,
      "mpls: truncated label stack",
    ]);
  });
  await t.step("MPLS over GRE", () => {
    const inner = concatBytes([
      mplsLabelStack([{ label: 300 }]),
      rawIp({ ip: V4_INNER, transport: TCP }),
    ]);
    const record = decode(overIp(47, grePacket({ protocolType: 0x8847, key: 5 }, inner)));
    assert.deepEqual(
      [
        record.tunnel_type,
        record.tunnel_id,
        record.tunnel_src_ip,
        record.tunnel_depth,
        record.src_ip,
      ],
      ["mpls", 300, V4_OUTER.src, 2, V4_INNER.src],
    );
  });
});

Deno.test("decodePacket() records the packet inside a PPPoE session, with its session id", async (t) => {
  const inner = rawIp({ ip: V4_INNER, transport: TCP, payload: new Uint8Array(4) });
  await t.step("IPv4, with the protocol field whole or compressed", () => {
    for (const compressed of [false, true]) {
      const header = pppoeHeader({
        sessionId: 0xbeef,
        pppProtocol: 0x0021,
        compressed,
        payloadBytes: inner.length,
      });
      const record = decode(overEthernet(0x8864, concatBytes([header, inner])));
      assert.equal(record.malformed_reason, null);
      assert.deepEqual(
        [
          record.tunnel_type,
          record.tunnel_id,
          record.tunnel_src_ip,
          record.src_ip,
          record.payload_length,
        ],
        ["pppoe", 0xbeef, null, V4_INNER.src, 4],
      );
    }
  });
  await t.step("IPv6", () => {
    const v6 = rawIp({ ip: V6_INNER, transport: TCP });
    const header = pppoeHeader({ sessionId: 1, pppProtocol: 0x0057, payloadBytes: v6.length });
    assert.equal(decode(overEthernet(0x8864, concatBytes([header, v6]))).src_ip, V6_INNER.src);
  });
  await t.step("the session's own control protocol is named", () => {
    const lcp = Uint8Array.of(1, 1, 0, 4);
    const header = pppoeHeader({ sessionId: 2, pppProtocol: 0xc021, payloadBytes: lcp.length });
    const record = decode(overEthernet(0x8864, concatBytes([header, lcp])));
    assert.deepEqual([record.tunnel_id, record.protocol, record.payload_length], [2, "LCP", 4]);
  });
  await t.step("the length, not Ethernet padding, ends the payload", () => {
    const header = pppoeHeader({
      sessionId: 3,
      pppProtocol: 0x0021,
      payloadBytes: inner.length - 4,
    });
    const record = decode(
      concatBytes([overEthernet(0x8864, concatBytes([header, inner])), new Uint8Array(10)]),
    );
    assert.equal(record.malformed_reason, "ipv4: total length exceeds frame");
    const long = pppoeHeader({
      sessionId: 3,
      pppProtocol: 0x0021,
      payloadBytes: inner.length + 50,
    });
    assert.equal(
      decode(overEthernet(0x8864, concatBytes([long, inner]))).malformed_reason,
      "pppoe: length exceeds frame",
    );
  });
  await t.step("discovery is its own protocol, not a tunnel", () => {
    const padi = Uint8Array.of(0x11, 0x09, 0, 0, 0, 4, 0x01, 0x01, 0, 0);
    const record = decode(overEthernet(0x8863, padi, []));
    assert.deepEqual([record.protocol, record.tunnel_type, record.ether_type, record.malformed], [
      "PPPoED",
      null,
      0x8863,
      false,
    ]);
  });
  await t.step("another version is plain PPPoE", () => {
    const record = decode(overEthernet(0x8864, Uint8Array.of(0x21, 0, 0, 1, 0, 0)));
    assert.deepEqual([record.protocol, record.tunnel_type, record.malformed], [
      "PPPoE",
      null,
      false,
    ]);
  });
});
