import type { AppRecordFields } from "../app_layer/app_record_fields.ts";

/**
 * One captured packet, decoded, as the agent sends it to the server and as
 * `raw_packets` stores it. The first eight fields keep the seed's names; the
 * rest are the decoded header fields. Every field is present in every record:
 * a field the packet does not have is `null`, never missing, so the record is
 * a fixed-shape row.
 *
 * Addresses are strings (dotted quad, RFC 5952 IPv6, colon-separated MAC)
 * because that is how they are stored and shown; decoders produce them only
 * when a record is built, not in the hot loop.
 *
 * The application-layer fields ({@linkcode AppRecordFields}: DNS name, TLS
 * server name and fingerprints, HTTP host, SSH banner, …) come last; the
 * agent extracts them before the payload is cut, so they are there whatever
 * PAYLOAD_CAPTURE keeps.
 */
export interface PacketRecord extends AppRecordFields {
  /** Capture time, epoch seconds with a fractional part (µs or ns precision of the source). */
  timestamp: number;
  /** Capture interface name, e.g. `eth0`, or the file name for offline reads. */
  interface: string;
  /** Source address: IPv4/IPv6 for IP, the ARP sender protocol address for ARP, else null. */
  src_ip: string | null;
  /** Destination address: IPv4/IPv6 for IP, the ARP target protocol address for ARP, else null. */
  dst_ip: string | null;
  /** Protocol name: `TCP`, `UDP`, `ICMP`, `ICMPv6`, `ARP`, an IANA name such as `GRE`, or `IP-<n>`. */
  protocol: string;
  /** Source port for TCP/UDP/SCTP first fragments, else null. */
  src_port: number | null;
  /** Destination port for TCP/UDP/SCTP first fragments, else null. */
  dst_port: number | null;
  /** Bytes on the wire (the pcap `orig_len`). */
  length: number;

  /** Bytes captured (the pcap `caplen`), at most the snap length. */
  caplen: number;
  /**
   * Link-layer type of the capture (a LINKTYPE_ value: 1 Ethernet, 113 SLL, 276 SLL2, 101 raw,
   * 0 null, 239 NFLOG, 117 PFLOG, 9/50 PPP, 104 Cisco HDLC, 105 802.11, 127 radiotap); null only in records from senders that do not say (they carry no bytes either).
   */
  link_type: number | null;
  /** Ethernet source MAC, when the link layer has one (802.11: the SA). */
  eth_src: string | null;
  /** Ethernet destination MAC, when the link layer has one (802.11: the DA). */
  eth_dst: string | null;
  /** EtherType of the network layer after any VLAN tags (0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP). */
  ether_type: number | null;
  /** VLAN id of the outer 802.1Q/802.1ad tag. */
  vlan_id: number | null;
  /** VLAN id of the inner tag of a QinQ frame. */
  vlan_inner_id: number | null;

  /** 4 or 6 for IP packets, else null. */
  ip_version: number | null;
  /** IP protocol number of the transport (after IPv6 extension headers). */
  ip_proto: number | null;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number | null;
  /** IPv4 identification, or the IPv6 fragment header's identification. */
  ip_id: number | null;
  /** IPv4 TOS byte / IPv6 traffic class. */
  ip_tos: number | null;
  /** IPv4 header length with options, or IPv6 40 + extension headers, in bytes. */
  ip_header_length: number | null;
  /** IPv6 flow label. */
  ip_flow_label: number | null;
  /** Fragment offset in bytes (0 for the first fragment and for unfragmented packets). */
  frag_offset: number | null;
  /** IPv4 MF flag or IPv6 fragment header M flag. */
  more_fragments: boolean;
  /** IPv4 DF flag. */
  dont_fragment: boolean;
  /** A non-first fragment: it carries no transport header, so no ports. */
  is_fragment: boolean;

  /** TCP sequence number. */
  tcp_seq: number | null;
  /** TCP acknowledgement number. */
  tcp_ack: number | null;
  /** TCP flags byte: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80. */
  tcp_flags: number | null;
  /** TCP window field (unscaled). */
  tcp_window: number | null;
  /** TCP header length with options, in bytes. */
  tcp_header_length: number | null;
  /** ICMP/ICMPv6 type. */
  icmp_type: number | null;
  /** ICMP/ICMPv6 code. */
  icmp_code: number | null;
  /** ICMP/ICMPv6 echo identifier (echo request/reply only). */
  icmp_id: number | null;
  /** ICMP/ICMPv6 echo sequence number (echo request/reply only). */
  icmp_seq: number | null;
  /** ARP operation (1 request, 2 reply). */
  arp_opcode: number | null;

  /**
   * The encapsulation the packet was carried in, or null for a packet seen as
   * sent. With a tunnel, every other field describes the inner packet (the
   * innermost one decoded), and these tunnel fields keep what identifies the
   * tunnel: its type here is that of the innermost encapsulation, the one that
   * delivered the inner packet.
   */
  tunnel_type: TunnelType | null;
  /** Source address of the outermost IP header of a tunnelled packet (null without one, e.g. MPLS or PPPoE alone). */
  tunnel_src_ip: string | null;
  /** Destination address of the outermost IP header of a tunnelled packet. */
  tunnel_dst_ip: string | null;
  /**
   * The innermost tunnel's identifier: VXLAN or Geneve VNI, GRE key, ERSPAN
   * session id, GTP-U TEID, PPPoE session id, or the MPLS bottom-of-stack
   * label; null when that tunnel has none (GRE without a key, IP-in-IP).
   */
  tunnel_id: number | null;
  /** Encapsulations decoded to reach the inner packet: 0 without a tunnel. */
  tunnel_depth: number;

  /** Transport payload bytes per the headers (IP payload when there is no known transport). */
  payload_length: number;
  /** True when the packet was truncated or a header was invalid; what could be read is kept. */
  malformed: boolean;
  /** Why the packet is flagged malformed, e.g. `tcp: truncated header`. */
  malformed_reason: string | null;
  /** Captured bytes (up to the snap length, or headers only), base64; null when payload capture is off. */
  data: string | null;
}

/**
 * Encapsulations the decoders unwrap. ERSPAN is GRE-carried port mirroring,
 * `ipip` any IP-in-IP (4in4, 6in4, 4in6, 6in6).
 */
export const TUNNEL_TYPES = [
  "mpls",
  "pppoe",
  "gre",
  "erspan",
  "vxlan",
  "geneve",
  "gtpu",
  "ipip",
] as const;

/**
 * Most encapsulations decoded in one frame. Real stacks nest two or three
 * (MPLS carrying GRE carrying Ethernet); the limit bounds the recursion on
 * crafted frames, which are flagged malformed past it.
 */
export const MAX_TUNNEL_DEPTH = 8;

/** One of {@link TUNNEL_TYPES}. */
export type TunnelType = typeof TUNNEL_TYPES[number];

/** TCP flag bits as they appear in `tcp_flags`. */
export const TCP_FLAG_FIN = 0x01;
/** TCP SYN flag. */
export const TCP_FLAG_SYN = 0x02;
/** TCP RST flag. */
export const TCP_FLAG_RST = 0x04;
/** TCP PSH flag. */
export const TCP_FLAG_PSH = 0x08;
/** TCP ACK flag. */
export const TCP_FLAG_ACK = 0x10;
/** TCP URG flag. */
export const TCP_FLAG_URG = 0x20;
/** TCP ECE flag. */
export const TCP_FLAG_ECE = 0x40;
/** TCP CWR flag. */
export const TCP_FLAG_CWR = 0x80;

/** IP protocol numbers the decoders name. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** IP protocol number of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** IP protocol number of SCTP. */
export const IPPROTO_SCTP = 132;
