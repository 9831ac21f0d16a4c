/**
 * EtherType values the decoders act on, and the names used for the
 * `protocol` of frames that carry neither IP nor ARP.
 *
 * @module
 */

/** IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** Reverse ARP. */
export const ETHERTYPE_RARP = 0x8035;
/** 802.1Q customer VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** 802.1ad service VLAN tag (the outer tag of QinQ). */
export const ETHERTYPE_QINQ = 0x88a8;
/** Pre-standard QinQ outer tag used by some switches. */
export const ETHERTYPE_QINQ_OLD = 0x9100;
/** IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** MPLS unicast. */
export const ETHERTYPE_MPLS = 0x8847;
/** MPLS multicast. */
export const ETHERTYPE_MPLS_MULTICAST = 0x8848;
/** PPPoE discovery stage. */
export const ETHERTYPE_PPPOE_DISCOVERY = 0x8863;
/** PPPoE session stage. */
export const ETHERTYPE_PPPOE_SESSION = 0x8864;
/** Link Layer Discovery Protocol. */
export const ETHERTYPE_LLDP = 0x88cc;

/** Protocol name of 802.3 frames with an LLC header (STP, CDP, …). */
export const PROTOCOL_LLC = "LLC";

const NAMES: ReadonlyMap<number, string> = new Map([
  [ETHERTYPE_IPV4, "IPv4"],
  [ETHERTYPE_ARP, "ARP"],
  [0x0842, "WoL"],
  [0x22f0, "AVTP"],
  [0x22f3, "TRILL"],
  [ETHERTYPE_RARP, "RARP"],
  [0x809b, "AppleTalk"],
  [0x80f3, "AARP"],
  [ETHERTYPE_VLAN, "802.1Q"],
  [0x8137, "IPX"],
  [0x8808, "EthernetFlowControl"],
  [0x8809, "LACP"],
  [ETHERTYPE_MPLS, "MPLS"],
  [ETHERTYPE_MPLS_MULTICAST, "MPLS"],
  [ETHERTYPE_PPPOE_DISCOVERY, "PPPoED"],
  [ETHERTYPE_PPPOE_SESSION, "PPPoE"],
  [0x886d, "IntelANS"],
  [0x888e, "EAPOL"],
  [0x8892, "PROFINET"],
  [0x889a, "HyperSCSI"],
  [0x88a2, "AoE"],
  [0x88a4, "EtherCAT"],
  [ETHERTYPE_QINQ, "802.1ad"],
  [0x88b8, "GOOSE"],
  [0x88ba, "SV"],
  [ETHERTYPE_LLDP, "LLDP"],
  [0x88e1, "HomePlug"],
  [0x88e5, "MACsec"],
  [0x88e7, "PBB"],
  [0x88f7, "PTP"],
  [0x88fb, "PRP"],
  [0x8902, "CFM"],
  [0x8906, "FCoE"],
  [0x8914, "FIP"],
  [0x892f, "HSR"],
  [0x893a, "IEEE1905"],
  [0x9000, "LOOP"],
]);

let fallbackNames: string[] | undefined;

/**
 * The protocol name for an EtherType: a short well-known name such as `LLDP`,
 * or `ETH-0x88b5` (four lowercase hex digits) for the rest. Names are interned,
 * so the hot loop never builds a string.
 *
 * @example
 * ```ts
 * etherTypeName(0x88cc); // "LLDP"
 * etherTypeName(0x88b5); // "ETH-0x88b5"
 * ```
 */
export function etherTypeName(etherType: number): string {
  const known = NAMES.get(etherType);
  if (known !== undefined) return known;
  fallbackNames ??= new Array<string>(0x10000);
  const index = etherType & 0xffff;
  return fallbackNames[index] ??= "ETH-0x" +
    index.toString(16).padStart(4, "0");
}
