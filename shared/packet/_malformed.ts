/**
 * Reasons a frame is flagged malformed. They are constants so the hot loop
 * only stores a pointer, and callers can count or group records by reason.
 *
 * @module
 */

/** Frame is shorter than its link-layer header. */
export const LINK_TRUNCATED = "link: truncated header";
/** The link type has no decoder. */
export const LINK_UNSUPPORTED = "link: unsupported link type";
/** Raw-IP frame whose first nibble is neither 4 nor 6. */
export const RAW_BAD_VERSION = "raw: bad IP version";
/** A VLAN tag is cut off. */
export const VLAN_TRUNCATED = "vlan: truncated tag";
/** ARP header or addresses cut off. */
export const ARP_TRUNCATED = "arp: truncated header";
/** IPv4 header shorter than 20 bytes captured. */
export const IPV4_TRUNCATED = "ipv4: truncated header";
/** IPv4 version nibble is not 4. */
export const IPV4_BAD_VERSION = "ipv4: bad version";
/** IPv4 IHL below 5. */
export const IPV4_BAD_HEADER_LENGTH = "ipv4: bad header length";
/** IPv4 total length smaller than its header. */
export const IPV4_BAD_TOTAL_LENGTH = "ipv4: bad total length";
/** IPv4 total length larger than the frame on the wire. */
export const IPV4_LENGTH_EXCEEDS_FRAME = "ipv4: total length exceeds frame";
/** An IPv4 option's length is below 2 or runs past the header. */
export const IPV4_BAD_OPTION = "ipv4: bad option";
/** IPv4 options cut off. */
export const IPV4_TRUNCATED_OPTIONS = "ipv4: truncated options";
/** IPv6 fixed header shorter than 40 bytes captured. */
export const IPV6_TRUNCATED = "ipv6: truncated header";
/** IPv6 version nibble is not 6. */
export const IPV6_BAD_VERSION = "ipv6: bad version";
/** IPv6 payload length larger than the frame on the wire. */
export const IPV6_LENGTH_EXCEEDS_FRAME = "ipv6: payload length exceeds frame";
/** An IPv6 extension header is cut off by the snap length. */
export const IPV6_TRUNCATED_EXTENSION = "ipv6: truncated extension header";
/** An IPv6 extension header runs past the payload length. */
export const IPV6_BAD_EXTENSION = "ipv6: extension header exceeds payload";
/** A hop-by-hop or destination option runs past its extension header. */
export const IPV6_BAD_OPTION = "ipv6: bad extension header option";
/** More IPv6 extension headers than any real stack sends. */
export const IPV6_TOO_MANY_EXTENSIONS = "ipv6: too many extension headers";
/** TCP fixed header cut off. */
export const TCP_TRUNCATED = "tcp: truncated header";
/** TCP data offset below 5. */
export const TCP_BAD_HEADER_LENGTH = "tcp: bad header length";
/** TCP data offset larger than the IP payload. */
export const TCP_HEADER_EXCEEDS_PAYLOAD = "tcp: header length exceeds IP payload";
/** TCP options cut off by the snap length. */
export const TCP_TRUNCATED_OPTIONS = "tcp: truncated options";
/** UDP header cut off. */
export const UDP_TRUNCATED = "udp: truncated header";
/** UDP length below 8. */
export const UDP_BAD_LENGTH = "udp: bad length";
/** UDP length larger than the IP payload of an unfragmented packet. */
export const UDP_LENGTH_EXCEEDS_PAYLOAD = "udp: length exceeds IP payload";
/** ICMP header cut off. */
export const ICMP_TRUNCATED = "icmp: truncated header";
/** ICMPv6 header cut off. */
export const ICMPV6_TRUNCATED = "icmpv6: truncated header";
/** SCTP common header cut off. */
export const SCTP_TRUNCATED = "sctp: truncated header";
/** More nested encapsulations than `MAX_TUNNEL_DEPTH` (8). */
export const TUNNEL_TOO_DEEP = "tunnel: too many nested encapsulations";
/** The Ethernet header a tunnel carries is cut off. */
export const TUNNEL_INNER_ETHERNET_TRUNCATED = "tunnel: truncated inner Ethernet header";
/** GRE header (or its optional fields) cut off. */
export const GRE_TRUNCATED = "gre: truncated header";
/** GRE source route entries (RFC 1701) run past the packet. */
export const GRE_BAD_ROUTING = "gre: bad routing";
/** ERSPAN header cut off. */
export const ERSPAN_TRUNCATED = "erspan: truncated header";
/** PPP protocol field cut off. */
export const PPP_TRUNCATED = "ppp: truncated header";
/** VXLAN header cut off. */
export const VXLAN_TRUNCATED = "vxlan: truncated header";
/** Geneve header or its options cut off. */
export const GENEVE_TRUNCATED = "geneve: truncated header";
/** Geneve options that do not fill the options length exactly. */
export const GENEVE_BAD_OPTION = "geneve: bad option length";
/** GTP-U header or its extension headers cut off. */
export const GTPU_TRUNCATED = "gtpu: truncated header";
/** A GTP-U extension header of length 0, or running past the message. */
export const GTPU_BAD_EXTENSION = "gtpu: bad extension header";
/** GTP-U message length larger than the UDP payload. */
export const GTPU_BAD_LENGTH = "gtpu: length exceeds UDP payload";
/** An MPLS label stack cut off before its bottom entry. */
export const MPLS_TRUNCATED = "mpls: truncated label stack";
/** PPPoE session header cut off. */
export const PPPOE_TRUNCATED = "pppoe: truncated header";
/** PPPoE payload length larger than the frame. */
export const PPPOE_BAD_LENGTH = "pppoe: length exceeds frame";
/** NFLOG TLVs cut off by the snap length before the packet's TLV. */
export const NFLOG_TRUNCATED = "nflog: truncated TLV";
/** An NFLOG TLV shorter than its own 4-byte header, or running past the frame. */
export const NFLOG_BAD_TLV = "nflog: bad TLV length";
/** A pf log header length too short to hold the address family, action and interface. */
export const PFLOG_BAD_HEADER_LENGTH = "pflog: bad header length";
/** pf log header cut off. */
export const PFLOG_TRUNCATED = "pflog: truncated header";
/** Radiotap header cut off, or its length shorter than its fixed part. */
export const RADIOTAP_TRUNCATED = "radiotap: truncated header";
/** 802.11 MAC header (or the LLC/SNAP header after it) cut off. */
export const WLAN_TRUNCATED = "802.11: truncated header";
