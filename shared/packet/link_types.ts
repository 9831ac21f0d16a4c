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
/** Raw IP as `DLT_RAW` is numbered on most BSDs and Linux before libpcap mapped it to 101. */
export const LINKTYPE_RAW_12 = 12;
/** Raw IP as `DLT_RAW` is numbered on OpenBSD. */
export const LINKTYPE_RAW_14 = 14;
/** Raw IP, version taken from the first nibble. */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: a 4-byte address family, normally in network byte order. */
export const LINKTYPE_LOOP = 108;
/** Linux cooked capture v1 (`tcpdump -i any` on older libpcap, `-y LINUX_SLL`). */
export const LINKTYPE_LINUX_SLL = 113;
/** Raw IPv4 only. */
export const LINKTYPE_IPV4 = 228;
/** Raw IPv6 only. */
export const LINKTYPE_IPV6 = 229;
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
    case LINKTYPE_RAW_12:
    case LINKTYPE_RAW_14:
    case LINKTYPE_RAW:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}
