/**
 * Test support: fast-check arbitraries for frames the encoder can build.
 *
 * @module
 */

import fc from "fast-check";
import type {
  EncoderLink,
  Ipv4Spec,
  Ipv6ExtensionSpec,
  Ipv6Spec,
  PacketSpec,
  TransportSpec,
} from "./packet_encoder.ts";
import { formatMac } from "./address_format.ts";

/**
 * With `wellFormed`, option bytes are NOP padding rather than random, so
 * that tshark (which parses options) sees nothing malformed either.
 */
export interface ArbitraryOptions {
  /** @default {false} */
  wellFormed?: boolean;
}

const optionBytes = (o: ArbitraryOptions) =>
  fc.option(
    o.wellFormed
      ? fc.nat(40).map((n) => new Uint8Array(n).fill(1))
      : fc.uint8Array({ maxLength: 40 }),
    { nil: undefined },
  );
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => formatMac(b, 0));
const vlanTags = fc.array(
  fc.record({
    id: fc.nat(4095),
    tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100),
    priority: fc.nat(7),
  }),
  { maxLength: 3 },
);
const port = fc.nat(0xffff);
const u32 = fc.nat(0xffffffff);

const ipv4Spec = (o: ArbitraryOptions): fc.Arbitrary<Ipv4Spec> =>
  fc.record({
    version: fc.constant(4 as const),
    src: fc.ipV4(),
    dst: fc.ipV4(),
    ttl: fc.nat(255),
    id: fc.nat(0xffff),
    tos: fc.nat(255),
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragOffset: fc.oneof(fc.constant(0), fc.nat(8191).map((n) => n * 8)),
    options: optionBytes(o),
  });

const extensionHeader: fc.Arbitrary<Ipv6ExtensionSpec> = fc.oneof(
  fc.record({
    type: fc.constantFrom(0 as const, 43 as const, 60 as const, 51 as const),
    bodyBytes: fc.nat(40),
  }),
  fc.record({
    type: fc.constant(44 as const),
    offset: fc.nat(8191).map((n) => n * 8),
    more: fc.boolean(),
    id: u32,
  }),
);

const ipv6Spec: fc.Arbitrary<Ipv6Spec> = fc.record({
  version: fc.constant(6 as const),
  src: fc.ipV6(),
  dst: fc.ipV6(),
  hopLimit: fc.nat(255),
  trafficClass: fc.nat(255),
  flowLabel: fc.nat(0xfffff),
  // At most one fragment header, as real stacks send.
  extensionHeaders: fc.array(extensionHeader, { maxLength: 4 }).filter((list) =>
    list.filter((e) => e.type === 44).length <= 1
  ),
});

const transportSpec = (v6: boolean, o: ArbitraryOptions): fc.Arbitrary<TransportSpec> =>
  fc.oneof(
    fc.record({
      protocol: fc.constant("tcp" as const),
      srcPort: port,
      dstPort: port,
      seq: u32,
      ack: u32,
      flags: fc.nat(255),
      window: port,
      urgent: port,
      options: optionBytes(o),
    }),
    fc.record({ protocol: fc.constant("udp" as const), srcPort: port, dstPort: port }),
    fc.record({
      protocol: fc.constant("sctp" as const),
      srcPort: port,
      dstPort: port,
      verificationTag: u32,
    }),
    fc.record({
      protocol: fc.constant(v6 ? "icmpv6" as const : "icmp" as const),
      type: fc.oneof(fc.constantFrom(0, 8, 128, 129), fc.nat(255)),
      code: fc.nat(255),
      id: port,
      seq: port,
    }),
    fc.record({
      protocol: fc.constant("other" as const),
      // Not the tunnel protocols (4, 41, 47): _tunnel_arbitraries.ts builds those.
      number: fc.constantFrom(2, 50, 88, 89, 103, 253),
    }),
  );

/** IP frames on every link layer the encoder knows, with any transport. */
export const ipPacket = (o: ArbitraryOptions = {}): fc.Arbitrary<PacketSpec> =>
  fc.oneof(ipv4Spec(o), ipv6Spec).chain((ip) =>
    fc.record({
      link: fc.constantFrom<EncoderLink>(
        "ethernet",
        "sll",
        "sll2",
        "raw",
        "null",
        "loop",
        ip.version === 4 ? "ipv4" : "ipv6",
      ),
      nullByteOrder: fc.constantFrom("little" as const, "big" as const),
      ethernet: fc.record({ src: mac, dst: mac, vlans: vlanTags }),
      ip: fc.constant(ip),
      transport: fc.option(transportSpec(ip.version === 6, o), { nil: undefined }),
      payload: fc.uint8Array({ maxLength: 64 }),
    })
  );

/** ARP and other non-IP frames on Ethernet and cooked links. */
export const otherPacket: fc.Arbitrary<PacketSpec> = fc.oneof(
  fc.record({
    link: fc.constantFrom<EncoderLink>("ethernet", "sll", "sll2"),
    ethernet: fc.record({ src: mac, dst: mac, vlans: vlanTags }),
    arp: fc.record({
      opcode: fc.nat(0xffff),
      senderMac: mac,
      senderIp: fc.ipV4(),
      targetMac: mac,
      targetIp: fc.ipV4(),
    }),
    payload: fc.uint8Array({ maxLength: 18 }),
  }),
  fc.record({
    link: fc.constantFrom<EncoderLink>("ethernet", "sll", "sll2"),
    ethernet: fc.record({ src: mac, dst: mac, vlans: vlanTags }),
    etherType: fc.integer({ min: 0x0601, max: 0xffff }).filter((t) =>
      ![0x0800, 0x86dd, 0x0806, 0x8035, 0x8100, 0x88a8, 0x9100].includes(t) &&
      // MPLS and PPPoE sessions are tunnels: _tunnel_arbitraries.ts builds those.
      ![0x8847, 0x8848, 0x8864].includes(t) &&
      // tshark alone carries IP in these (Roofnet, a vendor 0xfff2).
      !(t >= 0x0641 && t <= 0x0645) && t !== 0xfff2
    ),
    payload: fc.uint8Array({ maxLength: 64 }),
  }),
);
