/**
 * IP protocol numbers and the IANA keywords used as the `protocol` of a
 * packet record.
 *
 * @module
 */

import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from "./packet_record.ts";

/** IPv6 Hop-by-Hop Options extension header. */
export const IPPROTO_HOPOPTS = 0;
/** IGMP. */
export const IPPROTO_IGMP = 2;
/** IPv4 in IP. */
export const IPPROTO_IPIP = 4;
/** IPv6 in IP. */
export const IPPROTO_IPV6 = 41;
/** IPv6 Routing extension header. */
export const IPPROTO_ROUTING = 43;
/** IPv6 Fragment extension header. */
export const IPPROTO_FRAGMENT = 44;
/** GRE. */
export const IPPROTO_GRE = 47;
/** IPsec Encapsulating Security Payload. */
export const IPPROTO_ESP = 50;
/** IPsec Authentication Header. */
export const IPPROTO_AH = 51;
/** IPv6 No Next Header. */
export const IPPROTO_NONE = 59;
/** IPv6 Destination Options extension header. */
export const IPPROTO_DSTOPTS = 60;

const IANA_NAMES: Readonly<Record<number, string>> = {
  0: "HOPOPT",
  [IPPROTO_ICMP]: "ICMP",
  [IPPROTO_IGMP]: "IGMP",
  3: "GGP",
  [IPPROTO_IPIP]: "IPv4",
  5: "ST",
  [IPPROTO_TCP]: "TCP",
  8: "EGP",
  9: "IGP",
  [IPPROTO_UDP]: "UDP",
  27: "RDP",
  29: "ISO-TP4",
  33: "DCCP",
  [IPPROTO_IPV6]: "IPv6",
  [IPPROTO_ROUTING]: "IPv6-Route",
  [IPPROTO_FRAGMENT]: "IPv6-Frag",
  46: "RSVP",
  [IPPROTO_GRE]: "GRE",
  [IPPROTO_ESP]: "ESP",
  [IPPROTO_AH]: "AH",
  [IPPROTO_ICMPV6]: "ICMPv6",
  [IPPROTO_NONE]: "IPv6-NoNxt",
  [IPPROTO_DSTOPTS]: "IPv6-Opts",
  88: "EIGRP",
  89: "OSPF",
  94: "IPIP",
  97: "ETHERIP",
  98: "ENCAP",
  103: "PIM",
  108: "IPComp",
  112: "VRRP",
  115: "L2TP",
  124: "ISIS",
  [IPPROTO_SCTP]: "SCTP",
  135: "Mobility Header",
  136: "UDPLite",
  137: "MPLS-in-IP",
  139: "HIP",
  140: "Shim6",
  143: "Ethernet",
};

let names: string[] | undefined;

/**
 * The protocol name for an IP protocol number: the IANA keyword for common
 * protocols (`TCP`, `UDP`, `ICMP`, `ICMPv6`, `GRE`, `ESP`, …), else `IP-<n>`.
 * The 256 names are built once on first use, so the hot loop only indexes an
 * array.
 *
 * @example
 * ```ts
 * ipProtocolName(47); // "GRE"
 * ipProtocolName(253); // "IP-253"
 * ```
 */
export function ipProtocolName(protocol: number): string {
  if (names === undefined) {
    names = new Array<string>(256);
    for (let n = 0; n < 256; n++) names[n] = IANA_NAMES[n] ?? `IP-${n}`;
  }
  return names[protocol & 0xff];
}
