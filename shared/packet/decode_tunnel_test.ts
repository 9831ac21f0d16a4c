import assert from "node:assert/strict";
import { encodePacket } from "./packet_encoder.ts";
import { MAX_TUNNEL_DEPTH } from "./packet_record.ts";
import {
  decode,
  INNER_ETHERNET,
  overIp,
  rawIp,
  TCP,
  V4_INNER,
  V4_OUTER,
  V6_INNER,
  V6_OUTER,
} from "./_tunnel_test_frames.ts";
import { concatBytes } from "../concat_bytes.ts";
import { erspanHeader, grePacket } from "./tunnel_encoder.ts";

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
  const frame = concatBytes([
    encodePacket({ ip: V4_OUTER, transport: { protocol: "other", number: 4 }, payload: inner }),
    new Uint8Array(16),
  ]);
  const record = decode(frame);
  assert.equal(record.tunnel_type, "ipip");
  assert.equal(record.src_ip, V4_INNER.src);
  assert.equal(record.malformed_reason, "ipv4: total length exceeds frame");
  assert.equal(record.payload_length, 4);
});

Deno.test("decodePacket() records the packet inside GRE, with its key", async (t) => {
  await t.step("IPv4 with key, sequence number and checksum", () => {
    const inner = rawIp({ ip: V4_INNER, transport: TCP });
    const record = decode(
      overIp(
        47,
        grePacket({ protocolType: 0x0800, key: 0xfeedf00d, sequence: 9, checksum: true }, inner),
      ),
    );
    assert.equal(record.malformed_reason, null);
    assert.deepEqual(
      [record.tunnel_type, record.tunnel_id, record.tunnel_src_ip, record.src_ip, record.dst_port],
      ["gre", 0xfeedf00d, V4_OUTER.src, V4_INNER.src, 443],
    );
  });
  await t.step("IPv6 over IPv6 without a key", () => {
    const inner = rawIp({ ip: V6_INNER, transport: TCP });
    const record = decode(overIp(47, grePacket({ protocolType: 0x86dd }, inner), V6_OUTER));
    assert.deepEqual(
      [record.tunnel_type, record.tunnel_id, record.tunnel_dst_ip, record.dst_ip],
      ["gre", null, V6_OUTER.dst, V6_INNER.dst],
    );
  });
  await t.step(
    "an Ethernet frame (transparent bridging): its MACs and VLAN replace the outer ones",
    () => {
      const record = decode(
        overIp(47, grePacket({ protocolType: 0x6558, key: 7 }, encodePacket(INNER_ETHERNET))),
      );
      assert.deepEqual(
        [record.tunnel_type, record.tunnel_id, record.eth_src, record.eth_dst, record.vlan_id],
        ["gre", 7, "02:00:00:00:00:aa", "02:00:00:00:00:bb", 30],
      );
      assert.deepEqual([record.src_ip, record.protocol, record.dst_port], [
        V4_INNER.src,
        "UDP",
        53,
      ]);
    },
  );
  await t.step("PPTP's enhanced GRE carrying PPP, framed or not", () => {
    const inner = rawIp({ ip: V4_INNER, transport: TCP });
    for (const ppp of [[0xff, 0x03, 0x00, 0x21], [0x00, 0x21], [0x21]]) {
      const record = decode(overIp(
        47,
        grePacket(
          { protocolType: 0x880b, version: 1, key: 4321, sequence: 1, ack: 0 },
          concatBytes([Uint8Array.from(ppp), inner]),
        ),
      ));
      assert.equal(record.malformed_reason, null);
      assert.deepEqual([record.tunnel_type, record.tunnel_id, record.src_ip], [
        "gre",
        4321,
        V4_INNER.src,
      ]);
    }
  });
  await t.step("PPP's own control protocols are named", () => {
    const record = decode(overIp(
      47,
      grePacket(
        { protocolType: 0x880b, version: 1, key: 1 },
        Uint8Array.of(0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4),
      ),
    ));
    assert.deepEqual([record.tunnel_type, record.protocol, record.src_ip, record.payload_length], [
      "gre",
      "LCP",
      null,
      4,
    ]);
  });
  await t.step("RFC 1701 source routes are skipped", () => {
    const inner = rawIp({ ip: V4_INNER, transport: TCP });
    const routes = Uint8Array.of(0x08, 0x00, 0, 4, 192, 0, 2, 9, 0, 0, 0, 0);
    const gre = concatBytes([Uint8Array.of(0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0), routes, inner]);
    const record = decode(overIp(47, gre));
    assert.equal(record.malformed_reason, null);
    assert.equal(record.src_ip, V4_INNER.src);
  });
  await t.step("another version or payload stays the outer packet's, unflagged", () => {
    for (
      const gre of [
        Uint8Array.of(0x00, 0x02, 0x08, 0x00, 1, 2),
        Uint8Array.of(0, 0, 0x88, 0x3e, 1, 2),
      ]
    ) {
      const record = decode(overIp(47, gre));
      assert.deepEqual([record.tunnel_type, record.protocol, record.src_ip, record.malformed], [
        null,
        "GRE",
        V4_OUTER.src,
        false,
      ]);
    }
  });
  await t.step("a key cut off is flagged, the outer packet kept", () => {
    const record = decode(overIp(47, Uint8Array.of(0x20, 0x00, 0x08, 0x00, 0, 0)));
    assert.deepEqual([record.tunnel_type, record.src_ip, record.malformed_reason], [
      "gre",
      V4_OUTER.src,
      "gre: truncated header",
    ]);
  });
});

Deno.test("decodePacket() records the mirrored frame inside ERSPAN, with its session id", async (t) => {
  const frame = encodePacket(INNER_ETHERNET);
  const cases: [string, Uint8Array, number | null][] = [
    ["type I", grePacket({ protocolType: 0x88be }, frame), null],
    [
      "type II",
      grePacket(
        { protocolType: 0x88be, sequence: 1 },
        concatBytes([erspanHeader({ type: 2, sessionId: 1023, index: 5 }), frame]),
      ),
      1023,
    ],
    [
      "type III",
      grePacket(
        { protocolType: 0x22eb, sequence: 2 },
        concatBytes([erspanHeader({ type: 3, sessionId: 77 }), frame]),
      ),
      77,
    ],
    [
      "type III with the platform subheader",
      grePacket(
        { protocolType: 0x22eb, sequence: 3 },
        concatBytes([erspanHeader({ type: 3, sessionId: 78, platformSubheader: true }), frame]),
      ),
      78,
    ],
  ];
  for (const [name, gre, session] of cases) {
    await t.step(name, () => {
      const record = decode(overIp(47, gre));
      assert.equal(record.malformed_reason, null);
      assert.deepEqual(
        [
          record.tunnel_type,
          record.tunnel_id,
          record.tunnel_src_ip,
          record.eth_src,
          record.vlan_id,
          record.src_ip,
        ],
        ["erspan", session, V4_OUTER.src, "02:00:00:00:00:aa", 30, V4_INNER.src],
      );
    });
  }
  await t.step("a type III frame that is not Ethernet is named, not guessed", () => {
    const gre = grePacket(
      { protocolType: 0x22eb, sequence: 2 },
      concatBytes([erspanHeader({ type: 3, sessionId: 9, frameType: 2 }), rawIp({ ip: V4_INNER })]),
    );
    const record = decode(overIp(47, gre));
    assert.deepEqual([
      record.tunnel_type,
      record.tunnel_id,
      record.protocol,
      record.src_ip,
      record.malformed,
    ], [
      "erspan",
      9,
      "ERSPAN",
      null,
      false,
    ]);
  });
  await t.step("a header cut off is flagged", () => {
    const record = decode(
      overIp(47, grePacket({ protocolType: 0x88be, sequence: 1 }, Uint8Array.of(0x10, 0, 0, 5, 0))),
    );
    assert.deepEqual([record.tunnel_type, record.tunnel_id, record.malformed_reason], [
      "erspan",
      5,
      "erspan: truncated header",
    ]);
  });
});
