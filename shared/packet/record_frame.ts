/**
 * Rebuilds a frame from a stored packet record's decoded headers, for pcap
 * export of packets stored without their bytes (`PAYLOAD_CAPTURE=none`, or
 * a seed-style sender). Addresses, ports, flags, sequence numbers, TTL and
 * the other header fields are the original ones; the payload is left out
 * (the pcap record's wire length still says how long the packet was), and
 * checksums are computed afresh over the rebuilt bytes.
 *
 * @module
 */
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "./link_types.ts";
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type PacketRecord,
} from "./packet_record.ts";
import {
  encodePacket,
  type EncoderLink,
  type PacketSpec,
  type TransportSpec,
} from "./packet_encoder.ts";

const LINKS: ReadonlyMap<number, EncoderLink> = new Map([
  [LINKTYPE_ETHERNET, "ethernet"],
  [LINKTYPE_RAW, "raw"],
  [LINKTYPE_IPV4, "ipv4"],
  [LINKTYPE_IPV6, "ipv6"],
  [LINKTYPE_NULL, "null"],
  [LINKTYPE_LOOP, "loop"],
  [LINKTYPE_LINUX_SLL, "sll"],
  [LINKTYPE_LINUX_SLL2, "sll2"],
]);

/** True when {@link recordFrame} can build frames of this link type. */
export function canRebuildLinkType(linkType: number): boolean {
  return LINKS.has(linkType);
}

function transportOf(r: PacketRecord): TransportSpec | undefined {
  if (r.is_fragment) return undefined;
  switch (r.ip_proto) {
    case IPPROTO_TCP:
      return r.src_port === null || r.dst_port === null ? undefined : {
        protocol: "tcp",
        srcPort: r.src_port,
        dstPort: r.dst_port,
        seq: r.tcp_seq ?? 0,
        ack: r.tcp_ack ?? 0,
        flags: (r.tcp_flags ?? 0) & 0xff,
        window: r.tcp_window ?? 0,
      };
    case IPPROTO_UDP:
      return r.src_port === null || r.dst_port === null
        ? undefined
        : { protocol: "udp", srcPort: r.src_port, dstPort: r.dst_port };
    case IPPROTO_SCTP:
      return r.src_port === null || r.dst_port === null
        ? undefined
        : { protocol: "sctp", srcPort: r.src_port, dstPort: r.dst_port };
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return r.icmp_type === null ? undefined : {
        protocol: r.ip_proto === IPPROTO_ICMP ? "icmp" : "icmpv6",
        type: r.icmp_type,
        code: r.icmp_code ?? 0,
        id: r.icmp_id ?? 0,
        seq: r.icmp_seq ?? 0,
      };
    default:
      return r.ip_proto === null ? undefined : { protocol: "other", number: r.ip_proto };
  }
}

/**
 * The frame of `record` rebuilt from its headers, in the link layer of
 * `linkType` (a LINKTYPE_ value {@link canRebuildLinkType} accepts), or null
 * when the record holds too little to rebuild (no IP addresses and no ARP).
 */
export function recordFrame(record: PacketRecord, linkType: number): Uint8Array | null {
  let link = LINKS.get(linkType);
  if (link === undefined) {
    throw new RangeError(
      `Cannot rebuild a frame as 'linkType' ${linkType} has no encoder: use ethernet, raw, sll or sll2`,
    );
  }
  if (link === "ipv4" && record.ip_version === 6) link = "ipv6";
  if (link === "ipv6" && record.ip_version === 4) link = "ipv4";
  const ethernet = {
    src: record.eth_src ?? undefined,
    dst: record.eth_dst ?? undefined,
    vlans: [record.vlan_id, record.vlan_inner_id].filter((id) => id !== null).map((id, i, all) => ({
      id: id!,
      tpid: all.length === 2 && i === 0 ? 0x88a8 : 0x8100,
    })),
  };
  const spec: PacketSpec = { link, ethernet };
  if (record.src_ip !== null && record.dst_ip !== null && record.ip_version !== null) {
    const fragOffset = record.frag_offset ?? 0;
    spec.ip = record.ip_version === 4
      ? {
        version: 4,
        src: record.src_ip,
        dst: record.dst_ip,
        ttl: record.ttl ?? 64,
        id: record.ip_id ?? 0,
        tos: record.ip_tos ?? 0,
        dontFragment: record.dont_fragment,
        moreFragments: record.more_fragments,
        fragOffset,
      }
      : {
        version: 6,
        src: record.src_ip,
        dst: record.dst_ip,
        hopLimit: record.ttl ?? 64,
        trafficClass: record.ip_tos ?? 0,
        flowLabel: record.ip_flow_label ?? 0,
        extensionHeaders: record.is_fragment || record.more_fragments
          ? [{ type: 44, offset: fragOffset, more: record.more_fragments, id: record.ip_id ?? 0 }]
          : [],
      };
    spec.transport = transportOf(record);
    if (spec.transport === undefined && record.ip_proto !== null) {
      spec.transport = { protocol: "other", number: record.ip_proto };
    }
  } else if (record.arp_opcode !== null && record.src_ip !== null && record.dst_ip !== null) {
    spec.arp = {
      opcode: record.arp_opcode,
      senderMac: record.eth_src ?? "00:00:00:00:00:00",
      senderIp: record.src_ip,
      targetMac: record.eth_dst ?? "00:00:00:00:00:00",
      targetIp: record.dst_ip,
    };
  } else {
    return null;
  }
  return encodePacket(spec);
}
