/**
 * Link-layer decoders: Ethernet II with 802.1Q/802.1ad tags, Linux cooked
 * SLL and SLL2, raw IP, BSD/OpenBSD loopback and Cisco HDLC here; PPP,
 * 802.11 (bare and radiotap), NFLOG and PFLOG in their own files. Each
 * finds the network layer's offset and type and hands over to it.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import {
  LINKTYPE_C_HDLC,
  LINKTYPE_ETHERNET,
  LINKTYPE_IEEE802_11,
  LINKTYPE_IEEE802_11_RADIOTAP,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NFLOG,
  LINKTYPE_NULL,
  LINKTYPE_PFLOG,
  LINKTYPE_PPP,
  LINKTYPE_PPP_HDLC,
  LINKTYPE_RAW,
  LINKTYPE_RAW_12,
  LINKTYPE_RAW_14,
} from "./link_types.ts";
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_MPLS,
  ETHERTYPE_MPLS_MULTICAST,
  ETHERTYPE_PPPOE_SESSION,
  ETHERTYPE_QINQ,
  ETHERTYPE_QINQ_OLD,
  ETHERTYPE_RARP,
  ETHERTYPE_VLAN,
  etherTypeName,
  PROTOCOL_LLC,
} from "./ether_types.ts";
import { decodeArp, decodeIpv4, decodeIpv6, PROTOCOL_ARP, PROTOCOL_RARP } from "./_decode_ip.ts";
import { decodeBsdFamily, PROTOCOL_UNKNOWN } from "./_decode_bsd_family.ts";
import { decodeMpls } from "./_decode_mpls.ts";
import { decodePppLink, decodePppoeSession } from "./_decode_ppp.ts";
import { decodeIeee80211, decodeRadiotap } from "./_decode_wifi.ts";
import { decodeNflog, decodePflog } from "./_decode_log_links.ts";
import { LINK_TRUNCATED, LINK_UNSUPPORTED, RAW_BAD_VERSION, VLAN_TRUNCATED } from "./_malformed.ts";

export { PROTOCOL_UNKNOWN };
/** Protocol name of Linux netlink frames captured on `any`. */
export const PROTOCOL_NETLINK = "NETLINK";

const ETHERNET_HEADER_BYTES = 14;
/** Largest 802.3 length; values above it are EtherTypes, as tshark reads them. */
const IEEE_802_3_MAX_LENGTH = 1500;
/** EtherType 0, which tshark treats as a type (not a zero length) right after the MACs. */
const ETHERTYPE_UNKNOWN = 0x0000;
const VLAN_TAG_BYTES = 4;
const VLAN_ID_MASK = 0x0fff;
const SLL_HEADER_BYTES = 16;
const SLL2_HEADER_BYTES = 20;
const LOOPBACK_HEADER_BYTES = 4;
const MAC_BYTES = 6;
const ARPHRD_NETLINK = 824;

/** Dispatches on `h.linkType` and decodes the whole frame. */
export function decodeLink(
  bytes: Uint8Array,
  view: DataView,
  h: PacketHeaders,
): void {
  switch (h.linkType) {
    case LINKTYPE_ETHERNET:
      if (h.caplen < ETHERNET_HEADER_BYTES) return truncatedLink(h);
      h.ethDstOffset = 0;
      h.ethSrcOffset = MAC_BYTES;
      decodeEtherType(bytes, view, ETHERNET_HEADER_BYTES, view.getUint16(12), h);
      return;
    case LINKTYPE_LINUX_SLL:
      if (h.caplen < SLL_HEADER_BYTES) {
        // Keep the sender's address if it was captured, as tshark does.
        if (h.caplen >= 12 && view.getUint16(4) === MAC_BYTES) h.ethSrcOffset = 6;
        return truncatedLink(h);
      }
      if (view.getUint16(4) === MAC_BYTES) h.ethSrcOffset = 6;
      decodeCooked(bytes, view, SLL_HEADER_BYTES, view.getUint16(2), view.getUint16(14), h);
      return;
    case LINKTYPE_LINUX_SLL2:
      if (h.caplen < SLL2_HEADER_BYTES) {
        // The protocol comes first in SLL2; keep it and the address if captured.
        if (h.caplen >= 2 && view.getUint16(0) > LINUX_SLL_MAX_PSEUDO_TYPE) {
          h.etherType = view.getUint16(0);
        }
        if (h.caplen >= 18 && bytes[11] === MAC_BYTES) h.ethSrcOffset = 12;
        return truncatedLink(h);
      }
      if (bytes[11] === MAC_BYTES) h.ethSrcOffset = 12;
      decodeCooked(bytes, view, SLL2_HEADER_BYTES, view.getUint16(8), view.getUint16(0), h);
      return;
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_12:
    case LINKTYPE_RAW_14:
      if (h.caplen < 1) return truncatedLink(h);
      switch (bytes[0] >> 4) {
        case 4:
          return decodeIpv4(bytes, view, 0, h);
        case 6:
          return decodeIpv6(bytes, view, 0, h);
        default:
          h.protocol = PROTOCOL_UNKNOWN;
          h.markMalformed(RAW_BAD_VERSION);
          return;
      }
    case LINKTYPE_IPV4:
      return decodeIpv4(bytes, view, 0, h);
    case LINKTYPE_IPV6:
      return decodeIpv6(bytes, view, 0, h);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      decodeLoopback(bytes, view, h);
      return;
    default:
      return decodeOtherLink(bytes, view, h);
  }
}

/**
 * The firewall-log, serial and 802.11 link types. Kept out of
 * {@linkcode decodeLink}'s switch so that the common link types' dispatch
 * is unchanged: with these cases in it, 5 A/B pairs of the decode bench ran
 * 0-3 % slower on Ethernet (median pair 1.027); from here, no slower.
 */
function decodeOtherLink(bytes: Uint8Array, view: DataView, h: PacketHeaders): void {
  switch (h.linkType) {
    case LINKTYPE_NFLOG:
      return decodeNflog(bytes, view, h);
    case LINKTYPE_PFLOG:
      return decodePflog(bytes, view, h);
    case LINKTYPE_IEEE802_11_RADIOTAP:
      return decodeRadiotap(bytes, view, h);
    case LINKTYPE_IEEE802_11:
      return decodeIeee80211(bytes, view, 0, false, h);
    case LINKTYPE_PPP:
      return decodePppLink(bytes, view, h);
    case LINKTYPE_PPP_HDLC:
      // RFC 1662 framing starts 0xFF; Cisco's HDLC framing of PPP links starts 0x0F or 0x8F.
      if (h.caplen > 0 && (bytes[0] & 0x7f) === CHDLC_ADDRESS_UNICAST) {
        return decodeCiscoHdlc(bytes, view, h);
      }
      return decodePppLink(bytes, view, h);
    case LINKTYPE_C_HDLC:
      return decodeCiscoHdlc(bytes, view, h);
    default:
      h.protocol = PROTOCOL_UNKNOWN;
      h.markMalformed(LINK_UNSUPPORTED);
  }
}

function truncatedLink(h: PacketHeaders): void {
  h.protocol = PROTOCOL_UNKNOWN;
  h.headerEnd = h.caplen;
  h.markMalformed(LINK_TRUNCATED);
}

/** 802.2 LLC frames in a Linux cooked header. */
const LINUX_SLL_P_802_2 = 0x0004;
/**
 * Cooked-header protocol values up to this are Linux `ETH_P_` pseudo types,
 * not EtherTypes ("yes, 1536 - that's how Linux does it", as tshark puts it).
 */
const LINUX_SLL_MAX_PSEUDO_TYPE = 1536;

/** Linux cooked header: the protocol field is an EtherType except for netlink and pseudo types. */
function decodeCooked(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  hardwareType: number,
  protocol: number,
  h: PacketHeaders,
): void {
  if (hardwareType === ARPHRD_NETLINK) {
    h.protocol = PROTOCOL_NETLINK;
    h.headerEnd = offset;
    h.payloadLength = h.wireEnd - offset;
    return;
  }
  if (protocol <= LINUX_SLL_MAX_PSEUDO_TYPE) {
    h.protocol = protocol === LINUX_SLL_P_802_2 ? PROTOCOL_LLC : PROTOCOL_UNKNOWN;
    h.headerEnd = offset;
    h.payloadLength = h.wireEnd - offset;
    return;
  }
  decodeEtherType(bytes, view, offset, protocol, h);
}

/**
 * Follows an EtherType through any VLAN tags to the network layer. The first
 * tag is the outer (service) VLAN, the second the inner (customer) VLAN.
 */
export function decodeEtherType(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  etherType: number,
  h: PacketHeaders,
): void {
  const end = h.captureEnd;
  while (
    etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ ||
    etherType === ETHERTYPE_QINQ_OLD
  ) {
    if (offset + VLAN_TAG_BYTES > end) {
      if (offset + 2 <= end) recordVlan(view.getUint16(offset) & VLAN_ID_MASK, h);
      h.protocol = etherTypeName(etherType);
      h.headerEnd = end;
      h.markMalformed(VLAN_TRUNCATED);
      return;
    }
    recordVlan(view.getUint16(offset) & VLAN_ID_MASK, h);
    etherType = view.getUint16(offset + 2);
    offset += VLAN_TAG_BYTES;
  }
  h.headerEnd = offset;
  const tagged = h.vlanId >= 0;
  if (etherType <= IEEE_802_3_MAX_LENGTH && (tagged || etherType !== ETHERTYPE_UNKNOWN)) {
    // An 802.3 length: an LLC header (STP, CDP, …) follows.
    h.protocol = PROTOCOL_LLC;
    const onWire = h.wireEnd - offset;
    h.payloadLength = etherType < onWire ? etherType : onWire > 0 ? onWire : 0;
    return;
  }
  h.etherType = etherType;
  switch (etherType) {
    case ETHERTYPE_IPV4:
      return decodeIpv4(bytes, view, offset, h);
    case ETHERTYPE_IPV6:
      return decodeIpv6(bytes, view, offset, h);
    case ETHERTYPE_ARP:
      return decodeArp(bytes, view, offset, PROTOCOL_ARP, h);
    case ETHERTYPE_RARP:
      return decodeArp(bytes, view, offset, PROTOCOL_RARP, h);
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MULTICAST:
      return decodeMpls(bytes, view, offset, h.wireEnd, h);
    case ETHERTYPE_PPPOE_SESSION:
      h.protocol = etherTypeName(etherType);
      h.headerEnd = offset;
      h.payloadLength = h.wireEnd > offset ? h.wireEnd - offset : 0;
      return decodePppoeSession(bytes, view, offset, h);
    default: {
      h.protocol = etherTypeName(etherType);
      const onWire = h.wireEnd - offset;
      h.payloadLength = onWire > 0 ? onWire : 0;
    }
  }
}

/** The first tag is the outer (service) VLAN, the second the inner one. */
function recordVlan(vlanId: number, h: PacketHeaders): void {
  if (h.vlanId < 0) h.vlanId = vlanId;
  else if (h.vlanInnerId < 0) h.vlanInnerId = vlanId;
}

/** Cisco HDLC address bytes: 0x0F unicast, 0x8F broadcast (the top bit). */
const CHDLC_ADDRESS_UNICAST = 0x0f;
const CHDLC_HEADER_BYTES = 4;
/** Cisco's Serial Line ARP, which reuses the RARP EtherType with its own layout. */
const CHDLC_SLARP = 0x8035;
const PROTOCOL_SLARP = "SLARP";

/** Cisco HDLC: address, control, then an EtherType for the network layer. */
function decodeCiscoHdlc(bytes: Uint8Array, view: DataView, h: PacketHeaders): void {
  if (h.caplen < CHDLC_HEADER_BYTES) return truncatedLink(h);
  const protocol = view.getUint16(2);
  if (protocol === CHDLC_SLARP) {
    h.etherType = protocol;
    h.protocol = PROTOCOL_SLARP;
    h.headerEnd = CHDLC_HEADER_BYTES;
    h.payloadLength = h.wireEnd - CHDLC_HEADER_BYTES;
    return;
  }
  decodeEtherType(bytes, view, CHDLC_HEADER_BYTES, protocol, h);
}

/**
 * BSD loopback header: an address family in the capturing host's byte order
 * (LINKTYPE_NULL) or, normally, network order (LINKTYPE_LOOP). Families fit
 * in 16 bits, so a value with high bits set was written in the other order.
 */
function decodeLoopback(
  bytes: Uint8Array,
  view: DataView,
  h: PacketHeaders,
): void {
  if (h.caplen < LOOPBACK_HEADER_BYTES) return truncatedLink(h);
  let family = view.getUint32(0, true);
  if ((family & 0xffff0000) !== 0) family = view.getUint32(0, false);
  h.headerEnd = LOOPBACK_HEADER_BYTES;
  decodeBsdFamily(bytes, view, family, LOOPBACK_HEADER_BYTES, h);
}
