import assert from "node:assert/strict";
import { decodePacket } from "./decode_packet.ts";
import { encodePacket, type Ipv4Spec, type Ipv6Spec, type PacketSpec } from "./packet_encoder.ts";
import { MAX_TUNNEL_DEPTH, type PacketRecord } from "./packet_record.ts";
import { concatBytes } from "./tunnel_encoder.ts";

const V4_OUTER: Ipv4Spec = { version: 4, src: "192.0.2.1", dst: "192.0.2.2" };
const V6_OUTER: Ipv6Spec = { version: 6, src: "2001:db8::1", dst: "2001:db8::2" };
const V4_INNER: Ipv4Spec = { version: 4, src: "10.0.0.1", dst: "10.0.0.2", ttl: 33 };
const V6_INNER: Ipv6Spec = { version: 6, src: "fd00::1", dst: "fd00::2", hopLimit: 33 };
const TCP = { protocol: "tcp", srcPort: 51000, dstPort: 443, flags: 0x12 } as const;

function decode(frame: Uint8Array, linkType = 1): PacketRecord {
  return decodePacket(frame, { linkType, timestampSec: 0, payloadCapture: "headers" });
}

/** An IP packet with no link header, to put inside a tunnel. */
function rawIp(spec: Omit<PacketSpec, "link">): Uint8Array {
  return encodePacket({ ...spec, link: "raw" });
}

Deno.test("decodePacket() records the inner packet of IP-in-IP, with the outer addresses", async (t) => {
  for (
    const [name, outer, inner] of [
      ["4in4", V4_OUTER, V4_INNER],
      ["6in4", V4_OUTER, V6_INNER],
      ["4in6", V6_OUTER, V4_INNER],
      ["6in6", V6_OUTER, V6_INNER],
    ] as const
  ) {
    await t.step(name, () => {
      const innerBytes = rawIp({ ip: inner, transport: TCP, payload: new Uint8Array(5) });
      const frame = encodePacket({
        ip: outer,
        transport: { protocol: "other", number: inner.version === 4 ? 4 : 41 },
        payload: innerBytes,
      });
      const record = decode(frame);
      assert.equal(record.malformed_reason, null);
      assert.equal(record.tunnel_type, "ipip");
      assert.equal(record.tunnel_src_ip, outer.src);
      assert.equal(record.tunnel_dst_ip, outer.dst);
      assert.equal(record.tunnel_id, null);
      assert.equal(record.tunnel_depth, 1);
      assert.equal(record.src_ip, inner.src);
      assert.equal(record.dst_ip, inner.dst);
      assert.equal(record.ip_version, inner.version);
      assert.equal(record.ether_type, inner.version === 4 ? 0x0800 : 0x86dd);
      assert.equal(record.ttl, 33);
      assert.equal(record.protocol, "TCP");
      assert.equal([record.src_port, record.dst_port, record.tcp_flags].join(), "51000,443,18");
      assert.equal(record.payload_length, 5);
      assert.equal(record.eth_src, "02:00:00:00:00:01", "the frame's own link layer stays");
      // `headers` keeps every header, outer and inner, and no inner payload.
      assert.equal(atob(record.data!).length, frame.length - 5);
    });
  }
});

Deno.test("decodePacket() stops at the tunnel depth limit and flags the frame", () => {
  let packet = rawIp({ ip: V4_INNER, transport: { protocol: "udp", srcPort: 1, dstPort: 2 } });
  for (let i = 0; i < MAX_TUNNEL_DEPTH + 2; i++) {
    packet = rawIp({ ip: V4_OUTER, transport: { protocol: "other", number: 4 }, payload: packet });
  }
  const record = decode(
    encodePacket({ ip: V6_OUTER, transport: { protocol: "other", number: 4 }, payload: packet }),
  );
  assert.equal(record.malformed_reason, "tunnel: too many nested encapsulations");
  assert.equal(record.tunnel_depth, MAX_TUNNEL_DEPTH);
  assert.equal(record.tunnel_src_ip, "2001:db8::1", "the outermost header");
  assert.equal(record.src_ip, V4_OUTER.src, "the last packet decoded");
  assert.equal(record.protocol, "IPv4");
});

Deno.test("decodePacket() leaves the tunnel in an outer fragment undecoded", () => {
  const inner = rawIp({ ip: V4_INNER, transport: TCP });
  const record = decode(encodePacket({
    ip: { ...V4_OUTER, moreFragments: true },
    transport: { protocol: "other", number: 4 },
    payload: inner,
  }));
  assert.equal(record.tunnel_type, null);
  assert.equal(record.src_ip, V4_OUTER.src);
  assert.equal(record.protocol, "IPv4");
  assert.equal(record.payload_length, inner.length);
  assert.equal(record.malformed, false);
});

Deno.test("decodePacket() reads an inner packet only up to the end of the outer one", () => {
  // The inner header claims 40 bytes where the outer packet holds 24; the
  // frame's Ethernet padding after the outer packet must not make up for it.
  const inner = rawIp({
    ip: V4_INNER,
    transport: { protocol: "other", number: 253 },
    payload: new Uint8Array(4),
  });
  new DataView(inner.buffer).setUint16(2, 40);
  const frame = concatBytes(
    encodePacket({ ip: V4_OUTER, transport: { protocol: "other", number: 4 }, payload: inner }),
    new Uint8Array(16),
  );
  const record = decode(frame);
  assert.equal(record.tunnel_type, "ipip");
  assert.equal(record.src_ip, V4_INNER.src);
  assert.equal(record.malformed_reason, "ipv4: total length exceeds frame");
  assert.equal(record.payload_length, 4);
});
