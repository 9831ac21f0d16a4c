import assert from "node:assert/strict";
import { encodePacket } from "./packet_encoder.ts";
import { concatBytes, vxlanHeader } from "./tunnel_encoder.ts";
import {
  decode,
  INNER_ETHERNET,
  overUdp,
  V4_INNER,
  V4_OUTER,
  V6_OUTER,
} from "./_tunnel_test_frames.ts";

const innerFrame = encodePacket(INNER_ETHERNET);

Deno.test("decodePacket() records the Ethernet frame inside VXLAN, with its VNI", async (t) => {
  await t.step("over IPv4 and IPv6", () => {
    for (const outer of [V4_OUTER, V6_OUTER]) {
      const record = decode(
        overUdp(4789, concatBytes(vxlanHeader({ vni: 0xabcdef }), innerFrame), outer),
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
    const payload = concatBytes(vxlanHeader({ vni: 1 }), innerFrame);
    for (
      const frame of [
        overUdp(4790, payload),
        overUdp(40000, payload, V4_OUTER, 4789),
        overUdp(4789, concatBytes(vxlanHeader({ vni: 1, flags: 0 }), innerFrame)),
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
      overUdp(4789, concatBytes(vxlanHeader({ vni: 5 }), innerFrame.subarray(0, 10))),
    );
    assert.deepEqual([record.tunnel_id, record.malformed_reason], [
      5,
      "tunnel: truncated inner Ethernet header",
    ]);
  });
});
