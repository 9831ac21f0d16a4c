/**
 * Link-layer header types (tcpdump.org `LINKTYPE_` values) that the decoders
 * understand. Capture files and libpcap report these numbers; the decoder
 * dispatches on them.
 *
 * @module
 */

/** BSD loopback: a 4-byte address family in the byte order of the capturing host. */
export const LINKTYPE_NULL = 0;
/** Ethernet II, possibly with 802.1Q/802.1ad tags. */
export const LINKTYPE_ETHERNET = 1;
/** PPP (RFC 1661), with or without the RFC 1662 address and control bytes in front. */
export const LINKTYPE_PPP = 9;
/** Raw IP as `DLT_RAW` is numbered on most BSDs and Linux before libpcap mapped it to 101. */
export const LINKTYPE_RAW_12 = 12;
/** Raw IP as `DLT_RAW` is numbered on OpenBSD. */
export const LINKTYPE_RAW_14 = 14;
/** PPP in HDLC-like framing (RFC 1662), or Cisco HDLC when the first byte is 0x0F or 0x8F. */
export const LINKTYPE_PPP_HDLC = 50;
/** Raw IP, version taken from the first nibble. */
export const LINKTYPE_RAW = 101;
/** Cisco HDLC: address, control and an EtherType (`tcpdump` on Cisco serial links). */
export const LINKTYPE_C_HDLC = 104;
/** IEEE 802.11 frames without a radio header (monitor mode with `-y IEEE802_11`). */
export const LINKTYPE_IEEE802_11 = 105;
/** OpenBSD loopback: a 4-byte address family, normally in network byte order. */
export const LINKTYPE_LOOP = 108;
/** Linux cooked capture v1 (`tcpdump -i any` on older libpcap, `-y LINUX_SLL`). */
export const LINKTYPE_LINUX_SLL = 113;
/** OpenBSD/FreeBSD pf log (`tcpdump -r /var/log/pflog`): a pfloghdr, then the IP packet. */
export const LINKTYPE_PFLOG = 117;
/** IEEE 802.11 behind a radiotap header (monitor mode, the usual Wi-Fi capture). */
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;
/** Raw IPv4 only. */
export const LINKTYPE_IPV4 = 228;
/** Raw IPv6 only. */
export const LINKTYPE_IPV6 = 229;
/** Linux netfilter log (`tcpdump -i nflog:N`): a header, then TLVs, the packet in one. */
export const LINKTYPE_NFLOG = 239;
/** Linux cooked capture v2 (`-y LINUX_SLL2`). */
export const LINKTYPE_LINUX_SLL2 = 276;

/**
 * Whether {@linkcode decodePacket} understands a link type. A capture loop
 * checks this once per interface instead of flagging every packet.
 *
 * @example
 * ```ts
 * if (!isSupportedLinkType(1)) throw new Error("unsupported");
 * ```
 */
export function isSupportedLinkType(linkType: number): boolean {
  switch (linkType) {
    case LINKTYPE_NULL:
    case LINKTYPE_ETHERNET:
    case LINKTYPE_PPP:
    case LINKTYPE_RAW_12:
    case LINKTYPE_RAW_14:
    case LINKTYPE_PPP_HDLC:
    case LINKTYPE_RAW:
    case LINKTYPE_C_HDLC:
    case LINKTYPE_IEEE802_11:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_PFLOG:
    case LINKTYPE_IEEE802_11_RADIOTAP:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_NFLOG:
    case LINKTYPE_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}
