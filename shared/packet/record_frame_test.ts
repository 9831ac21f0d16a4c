import assert from "node:assert/strict";
import { readCaptureBytes } from "../pcap/capture_reader.ts";
import { decodePacket } from "./decode_packet.ts";
import { canRebuildLinkType, recordFrame } from "./record_frame.ts";
import type { PacketRecord } from "./packet_record.ts";

/** Header fields a rebuilt frame must give back unchanged. */
const KEPT: (keyof PacketRecord)[] = [
  "src_ip",
  "dst_ip",
  "protocol",
  "src_port",
  "dst_port",
  "eth_src",
  "eth_dst",
  "vlan_id",
  "vlan_inner_id",
  "ip_version",
  "ip_proto",
  "ttl",
  "ip_id",
  "ip_tos",
  "ip_flow_label",
  "frag_offset",
  "more_fragments",
  "dont_fragment",
  "is_fragment",
  "tcp_seq",
  "tcp_ack",
  "tcp_flags",
  "tcp_window",
  "icmp_type",
  "icmp_code",
  "icmp_id",
  "icmp_seq",
  "arp_opcode",
];

const CAPTURES = [
  "ipv4_tcp_udp_icmp.pcap",
  "ipv6_tcp_udp_icmpv6.pcap",
  "vlan.pcap",
  "big_endian_vlan.pcap",
  "fragments.pcap",
  "linux_sll.pcap",
  "linux_sll2.pcap",
  "raw_ip.pcap",
  "null_le.pcap",
];

Deno.test("recordFrame() rebuilds frames whose decoded headers equal the originals", async (t) => {
  for (const name of CAPTURES) {
    await t.step(name, async () => {
      const bytes = await Deno.readFile(new URL(`../testdata/${name}`, import.meta.url));
      let rebuilt = 0;
      for (const frame of readCaptureBytes(bytes)) {
        const original = decodePacket(frame.data, {
          linkType: frame.linkType,
          timestampSec: frame.timestampSec,
          wireLength: frame.wireLength,
        });
        if (original.malformed || !canRebuildLinkType(frame.linkType)) continue;
        const data = recordFrame(original, frame.linkType);
        if (data === null) continue;
        const again = decodePacket(data, {
          linkType: frame.linkType,
          timestampSec: frame.timestampSec,
        });
        for (const field of KEPT) {
          assert.deepEqual(
            again[field],
            original[field],
            `${name}: ${field} of ${JSON.stringify(original)}`,
          );
        }
        rebuilt++;
      }
      assert.ok(rebuilt > 0, `${name}: some frames rebuilt`);
    });
  }
});

Deno.test("recordFrame() refuses a link type it has no encoder for", () => {
  assert.throws(
    () => recordFrame({ src_ip: "10.0.0.1" } as PacketRecord, 127),
    /'linkType' 127 has no encoder/,
  );
  assert.ok(!canRebuildLinkType(127));
  assert.ok(canRebuildLinkType(1));
});
