/**
 * Test support: fast-check arbitraries for tunnelled frames, one to three
 * encapsulations deep, around any packet `_packet_arbitraries.ts` makes.
 *
 * A frame is built inside out. Each encapsulation takes the packet built so
 * far in the form it carries (an Ethernet frame, an IP packet, or an MPLS
 * labelled packet) and gives a packet of its own form: an IP tunnel gives an
 * IP packet, which an Ethernet header turns into a frame when the next
 * encapsulation (or the capture) wants one.
 *
 * @module
 */

import fc from "fast-check";
import { encodePacket, type Ipv4Spec, type Ipv6Spec, type PacketSpec } from "./packet_encoder.ts";
import type { TunnelType } from "./packet_record.ts";
import { ipPacket, otherPacket } from "./_packet_arbitraries.ts";
import { concatBytes } from "../concat_bytes.ts";
import {
  erspanHeader,
  geneveHeader,
  type GeneveOptionSpec,
  grePacket,
  gtpuHeader,
  mplsLabelStack,
  pppoeHeader,
  vxlanHeader,
} from "./tunnel_encoder.ts";

/** What a packet is, for the encapsulation around it. */
type Form = "ethernet" | "ip" | "mpls";

interface Built {
  bytes: Uint8Array;
  form: Form;
}

/** One encapsulation: the forms it carries, and how it wraps one. */
interface Layer {
  type: TunnelType;
  wrap(inner: Built): Built;
}

/** A tunnelled Ethernet frame and the encapsulations in it, outermost first. */
export interface TunnelFrame {
  frame: Uint8Array;
  tunnels: TunnelType[];
}

const u32 = fc.nat(0xffffffff);
const u24 = fc.nat(0xffffff);
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":"));

/** Tunnel endpoint headers: unfragmented, so the tunnel is decoded. */
const outerIp: fc.Arbitrary<Ipv4Spec | Ipv6Spec> = fc.oneof(
  fc.record({
    version: fc.constant(4 as const),
    src: fc.ipV4(),
    dst: fc.ipV4(),
    ttl: fc.nat(255),
    id: fc.nat(0xffff),
    dontFragment: fc.boolean(),
  }),
  fc.record({
    version: fc.constant(6 as const),
    src: fc.ipV6(),
    dst: fc.ipV6(),
    hopLimit: fc.nat(255),
    flowLabel: fc.nat(0xfffff),
  }),
);

/** A packet that is not itself a tunnel by chance (a random port can be 4789). */
function notToTunnelPort(spec: PacketSpec): boolean {
  const transport = spec.transport;
  return transport?.protocol !== "udp" || ![4789, 6081, 2152].includes(transport.dstPort);
}

/** The innermost packet: any IP packet, or (as a frame) ARP and other EtherTypes. */
const innermost: fc.Arbitrary<Built> = fc.oneof(
  ipPacket({ wellFormed: true }).filter(notToTunnelPort).map((spec) => ({
    bytes: encodePacket({ ...spec, link: "raw" }),
    form: "ip" as const,
  })),
  fc.oneof(ipPacket({ wellFormed: true }).filter(notToTunnelPort), otherPacket).map((spec) => ({
    bytes: encodePacket({ ...spec, link: "ethernet" }),
    form: "ethernet" as const,
  })),
);

/** Puts an IP or MPLS packet in an Ethernet frame, when a frame is wanted. */
function asEthernet(inner: Built, src: string, dst: string): Uint8Array {
  if (inner.form === "ethernet") return inner.bytes;
  const etherType = inner.form === "mpls" ? 0x8847 : (inner.bytes[0] >> 4) === 6 ? 0x86dd : 0x0800;
  return encodePacket({ ethernet: { src, dst }, etherType, payload: inner.bytes });
}

/** An IP packet to an IP-based tunnel's far end. */
function overIp(
  ip: Ipv4Spec | Ipv6Spec,
  transport: { protocol: "other"; number: number } | {
    protocol: "udp";
    srcPort: number;
    dstPort: number;
  },
  payload: Uint8Array,
): Built {
  return { bytes: encodePacket({ link: "raw", ip, transport, payload }), form: "ip" };
}

const ipVersionOf = (inner: Built) => (inner.bytes[0] >> 4) === 6 ? 6 : 4;

/**
 * A VTEP's source port, a flow hash in the ephemeral range: tshark decodes
 * the lower port of a datagram first, so a low source port would hide the
 * tunnel from it.
 */
const vtepPort = fc.integer({ min: 49152, max: 65535 });
const vxlan: fc.Arbitrary<Layer> = fc.record({
  ip: outerIp,
  vni: u24,
  src: mac,
  dst: mac,
  port: vtepPort,
})
  .map(({ ip, vni, src, dst, port }) => ({
    type: "vxlan",
    wrap: (inner) =>
      overIp(
        ip,
        { protocol: "udp", srcPort: port, dstPort: 4789 },
        concatBytes([vxlanHeader({ vni }), asEthernet(inner, src, dst)]),
      ),
  }));

const geneveOption: fc.Arbitrary<GeneveOptionSpec> = fc.record({
  optionClass: fc.nat(0xffff),
  type: fc.nat(255),
  data: fc.nat(6).map((words) => new Uint8Array(words * 4).fill(0xa5)),
});
const geneve: fc.Arbitrary<Layer> = fc.record({
  ip: outerIp,
  vni: u24,
  options: fc.array(geneveOption, { maxLength: 3 }),
  bridged: fc.boolean(),
  src: mac,
  dst: mac,
}).map(({ ip, vni, options, bridged, src, dst }) => ({
  type: "geneve",
  wrap: (inner) => {
    const ethernet = bridged || inner.form !== "ip";
    const protocolType = ethernet ? 0x6558 : ipVersionOf(inner) === 6 ? 0x86dd : 0x0800;
    const payload = ethernet ? asEthernet(inner, src, dst) : inner.bytes;
    return overIp(
      ip,
      { protocol: "udp", srcPort: 49152, dstPort: 6081 },
      concatBytes([geneveHeader({ vni, options, protocolType }), payload]),
    );
  },
}));

const gre: fc.Arbitrary<Layer> = fc.record({
  ip: outerIp,
  key: fc.option(u32, { nil: undefined }),
  sequence: fc.option(u32, { nil: undefined }),
  checksum: fc.boolean(),
  bridged: fc.boolean(),
  src: mac,
  dst: mac,
}).map(({ ip, key, sequence, checksum, bridged, src, dst }) => ({
  type: "gre",
  wrap: (inner) => {
    const ethernet = bridged || inner.form === "ethernet";
    const protocolType = ethernet
      ? 0x6558
      : inner.form === "mpls"
      ? 0x8847
      : ipVersionOf(inner) === 6
      ? 0x86dd
      : 0x0800;
    const payload = ethernet ? asEthernet(inner, src, dst) : inner.bytes;
    return overIp(
      ip,
      { protocol: "other", number: 47 },
      grePacket({ protocolType, key, sequence, checksum }, payload),
    );
  },
}));

const erspan: fc.Arbitrary<Layer> = fc.record({
  ip: outerIp,
  type: fc.constantFrom(1, 2, 3),
  sessionId: fc.nat(0x3ff),
  subheader: fc.boolean(),
  src: mac,
  dst: mac,
}).map(({ ip, type, sessionId, subheader, src, dst }) => ({
  type: "erspan",
  wrap: (inner) => {
    const frame = asEthernet(inner, src, dst);
    const body = type === 1 ? grePacket({ protocolType: 0x88be }, frame) : grePacket(
      { protocolType: type === 2 ? 0x88be : 0x22eb, sequence: 1 },
      concatBytes([
        erspanHeader({ type: type as 2 | 3, sessionId, platformSubheader: subheader }),
        frame,
      ]),
    );
    return overIp(ip, { protocol: "other", number: 47 }, body);
  },
}));

const gtpu: fc.Arbitrary<Layer> = fc.record({
  ip: outerIp,
  teid: u32,
  sequence: fc.option(fc.nat(0xffff), { nil: undefined }),
  extensions: fc.array(
    fc.record({
      type: fc.constantFrom(0x85, 0x40, 0x20),
      content: fc.nat(2).map((n) => new Uint8Array(n * 4 + 2)),
    }),
    { maxLength: 2 },
  ),
}).map(({ ip, teid, sequence, extensions }) => ({
  type: "gtpu",
  wrap: (inner) => {
    const header = gtpuHeader({ teid, sequence, extensions, payloadBytes: inner.bytes.length });
    return overIp(
      ip,
      { protocol: "udp", srcPort: 2152, dstPort: 2152 },
      concatBytes([header, inner.bytes]),
    );
  },
}));

const ipip: fc.Arbitrary<Layer> = outerIp.map((ip) => ({
  type: "ipip",
  wrap: (inner) =>
    overIp(ip, { protocol: "other", number: ipVersionOf(inner) === 6 ? 41 : 4 }, inner.bytes),
}));

const mpls: fc.Arbitrary<Layer> = fc.array(
  fc.record({ label: fc.integer({ min: 16, max: 0xfffff }), ttl: fc.nat(255) }),
  { minLength: 1, maxLength: 4 },
).map((labels) => ({
  type: "mpls",
  wrap: (inner) => ({ bytes: concatBytes([mplsLabelStack(labels), inner.bytes]), form: "mpls" }),
}));

const pppoe: fc.Arbitrary<Layer> = fc.record({
  sessionId: fc.nat(0xffff),
  compressed: fc.boolean(),
  src: mac,
  dst: mac,
}).map(({ sessionId, compressed, src, dst }) => ({
  type: "pppoe",
  wrap: (inner) => {
    const pppProtocol = ipVersionOf(inner) === 6 ? 0x0057 : 0x0021;
    const header = pppoeHeader({
      sessionId,
      pppProtocol,
      compressed,
      payloadBytes: inner.bytes.length,
    });
    return {
      bytes: encodePacket({
        ethernet: { src, dst },
        etherType: 0x8864,
        payload: concatBytes([header, inner.bytes]),
      }),
      form: "ethernet",
    };
  },
}));

/** The forms each encapsulation carries. */
const CARRIES: Readonly<Record<TunnelType, readonly Form[]>> = {
  vxlan: ["ethernet", "ip", "mpls"],
  geneve: ["ethernet", "ip", "mpls"],
  gre: ["ethernet", "ip", "mpls"],
  erspan: ["ethernet", "ip", "mpls"],
  gtpu: ["ip"],
  ipip: ["ip"],
  mpls: ["ip"],
  pppoe: ["ip"],
};

const anyLayer = fc.oneof(vxlan, geneve, gre, erspan, gtpu, ipip, mpls, pppoe);

/**
 * Ethernet frames with one to three encapsulations around any packet, as
 * valid as their parts (for tshark to agree with), with the tunnel types
 * outermost first.
 */
export const tunnelFrame: fc.Arbitrary<TunnelFrame> = fc.tuple(
  innermost,
  fc.array(anyLayer, { minLength: 1, maxLength: 3 }),
  mac,
  mac,
).map(([inner, layers, src, dst]) => {
  let built = inner;
  const tunnels: TunnelType[] = [];
  for (const layer of layers) {
    // A layer that cannot carry this form wraps it as an Ethernet frame, or
    // is left out (an IP-only tunnel around an Ethernet frame).
    if (!CARRIES[layer.type].includes(built.form)) continue;
    // tshark takes a GTP-U payload for IPv4 only from 0x45 to 0x4e, so an
    // IPv4 header with 40 bytes of options (0x4f), which we decode, is data
    // to it: such a pair is not compared.
    if (layer.type === "gtpu" && built.bytes[0] === 0x4f) continue;
    built = layer.wrap(built);
    tunnels.unshift(layer.type);
  }
  return { frame: asEthernet(built, src, dst), tunnels };
}).filter((t) => t.tunnels.length > 0);

/**
 * Ethernet frames with one encapsulation around random bytes, which it
 * takes for an Ethernet frame, an IP packet or an MPLS stack: what a
 * damaged or hostile tunnel delivers.
 */
export const tunnelAroundRandomBytes: fc.Arbitrary<TunnelFrame> = fc.tuple(
  anyLayer,
  fc.uint8Array({ maxLength: 120 }),
  fc.constantFrom<Form>("ethernet", "ip", "mpls"),
).map(([layer, bytes, form]) => ({
  frame: asEthernet(layer.wrap({ bytes, form }), "02:00:00:00:00:01", "02:00:00:00:00:02"),
  tunnels: [layer.type],
}));
