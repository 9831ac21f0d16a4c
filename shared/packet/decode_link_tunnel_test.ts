import assert from "node:assert/strict";
import { encodePacket } from "./packet_encoder.ts";
import { concatBytes, grePacket, mplsLabelStack } from "./tunnel_encoder.ts";
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
      const record = decode(overEthernet(0x8847, concatBytes(stack, inner)));
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
      overEthernet(0x8847, concatBytes(mplsLabelStack([{ label: 99 }]), new Uint8Array(20))),
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
    const inner = concatBytes(
      mplsLabelStack([{ label: 300 }]),
      rawIp({ ip: V4_INNER, transport: TCP }),
    );
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
