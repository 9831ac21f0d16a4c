/**
 * IEEE 802.11 link layers: bare 802.11 frames (LINKTYPE 105) and frames
 * behind a radiotap header (127), as Wi-Fi monitor-mode captures hold them.
 * Unprotected data frames go through their LLC/SNAP header to the EtherType
 * path like Ethernet; the source and destination addresses are the frame's
 * SA and DA, chosen by the ToDS/FromDS bits as tshark's `wlan.sa`/`wlan.da`.
 * Management, control and protected frames are recorded with no network
 * layer.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import { PROTOCOL_LLC } from "./ether_types.ts";
import { decodeEtherType } from "./_decode_link.ts";
import { RADIOTAP_TRUNCATED, WLAN_TRUNCATED } from "./_malformed.ts";

/** Protocol name of 802.11 management frames (beacons, probes, authentication, …). */
export const PROTOCOL_WLAN_MANAGEMENT = "802.11 management";
/** Protocol name of 802.11 control frames (ACK, RTS, CTS, block ack, …). */
export const PROTOCOL_WLAN_CONTROL = "802.11 control";
/** Protocol name of a data frame whose body is encrypted (WEP, TKIP, CCMP, GCMP). */
export const PROTOCOL_WLAN_PROTECTED = "802.11 protected";
/** Protocol name of any other 802.11 frame: null data, A-MSDU, unknown versions and types. */
export const PROTOCOL_WLAN = "802.11";

const RADIOTAP_FIXED_BYTES = 8;
/** Present-word bit 31: another present word follows. */
const RADIOTAP_PRESENT_EXT = 0x80000000;
const RADIOTAP_PRESENT_TSFT = 0x1;
const RADIOTAP_PRESENT_FLAGS = 0x2;
const RADIOTAP_TSFT_BYTES = 8;
/** Flags bit: the frame ends with its 4-byte FCS. */
const RADIOTAP_FLAG_FCS = 0x10;
/** Flags bit: padding after the 802.11 header, up to a 4-byte boundary. */
const RADIOTAP_FLAG_DATAPAD = 0x20;
const FCS_BYTES = 4;

const WLAN_TYPE_MANAGEMENT = 0;
const WLAN_TYPE_CONTROL = 1;
const WLAN_TYPE_DATA = 2;
const WLAN_FLAG_TO_DS = 0x01;
const WLAN_FLAG_FROM_DS = 0x02;
const WLAN_FLAG_PROTECTED = 0x40;
/** In a QoS data frame, the order bit says an HT control field follows the QoS control. */
const WLAN_FLAG_ORDER = 0x80;
/** Data subtypes with this bit carry a QoS control field. */
const WLAN_SUBTYPE_QOS = 0x8;
/** Data subtypes with this bit (null, CF-ack, CF-poll) carry no body. */
const WLAN_SUBTYPE_NO_DATA = 0x4;
/** QoS control bit 7: the body is an A-MSDU, not one LLC frame. */
const WLAN_QOS_AMSDU = 0x80;
const WLAN_ADDR1 = 4;
const WLAN_ADDR2 = 10;
const WLAN_ADDR3 = 16;
const WLAN_ADDR4 = 24;
const WLAN_HEADER_BYTES = 24;
const WLAN_MANAGEMENT_HEADER_BYTES = 24;
const MAC_BYTES = 6;
const QOS_CONTROL_BYTES = 2;
const HT_CONTROL_BYTES = 4;
/** LLC SNAP header: DSAP, SSAP 0xAA, control 0x03, a 3-byte OUI, then the EtherType. */
const SNAP_HEADER_BYTES = 8;
const LLC_SAP_SNAP = 0xaa;
const LLC_CONTROL_UI = 0x03;
/** The bridge-tunnel OUI 00-00-F8 (802.1H), which carries an EtherType like RFC 1042's 00-00-00. */
const OUI_BRIDGE_TUNNEL = 0xf8;

/**
 * Decodes a radiotap header (its length is little-endian at offset 2) and
 * the 802.11 frame after it. When the radiotap flags say the frame ends with
 * an FCS, the 4 bytes are not the packet's, as tshark reads them; the data
 * padding flag aligns the body as well.
 */
export function decodeRadiotap(bytes: Uint8Array, view: DataView, h: PacketHeaders): void {
  if (h.caplen < RADIOTAP_FIXED_BYTES) return truncated(RADIOTAP_TRUNCATED, h.caplen, h);
  const length = view.getUint16(2, true);
  if (length < RADIOTAP_FIXED_BYTES || length > h.caplen) {
    return truncated(RADIOTAP_TRUNCATED, h.caplen, h);
  }
  // Skip the present words; the first word's fields come first after them.
  const first = view.getUint32(4, true);
  let p = 4;
  let present = first;
  while ((present & RADIOTAP_PRESENT_EXT) !== 0 && p + 8 <= length) {
    p += 4;
    present = view.getUint32(p, true);
  }
  p += 4;
  let flags = 0;
  if ((first & RADIOTAP_PRESENT_TSFT) !== 0) p = ((p + 7) & ~7) + RADIOTAP_TSFT_BYTES;
  if ((first & RADIOTAP_PRESENT_FLAGS) !== 0 && p < length) flags = bytes[p];
  if ((flags & RADIOTAP_FLAG_FCS) !== 0) {
    // The FCS is on the wire after the frame; tshark leaves it out of the frame's payload.
    const wireEnd = h.wireEnd - FCS_BYTES;
    h.wireEnd = wireEnd > length ? wireEnd : length;
    if (h.captureEnd > h.wireEnd) h.captureEnd = h.wireEnd;
  }
  decodeIeee80211(bytes, view, length, (flags & RADIOTAP_FLAG_DATAPAD) !== 0, h);
}

/**
 * Decodes the 802.11 frame at `offset`. `dataPad` (a radiotap flag) says
 * the header is padded to a multiple of 4 bytes before the body.
 */
export function decodeIeee80211(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  dataPad: boolean,
  h: PacketHeaders,
): void {
  const end = h.captureEnd;
  const available = end - offset;
  if (available < 2) return truncated(WLAN_TRUNCATED, end, h);
  const control = bytes[offset];
  const flags = bytes[offset + 1];
  const version = control & 0x3;
  const type = (control >> 2) & 0x3;
  const subtype = control >> 4;
  if (version !== 0 || type > WLAN_TYPE_DATA) return other(PROTOCOL_WLAN, offset + 2, h);
  if (type === WLAN_TYPE_CONTROL) return other(PROTOCOL_WLAN_CONTROL, offset + 2, h);
  const direction = flags & (WLAN_FLAG_TO_DS | WLAN_FLAG_FROM_DS);
  if (type === WLAN_TYPE_MANAGEMENT) {
    // A management frame's DA and SA are its first two addresses.
    if (available >= WLAN_ADDR1 + MAC_BYTES) h.ethDstOffset = offset + WLAN_ADDR1;
    if (available >= WLAN_ADDR2 + MAC_BYTES) h.ethSrcOffset = offset + WLAN_ADDR2;
    if (available < WLAN_MANAGEMENT_HEADER_BYTES) return truncated(WLAN_TRUNCATED, end, h);
    return other(PROTOCOL_WLAN_MANAGEMENT, offset + WLAN_MANAGEMENT_HEADER_BYTES, h);
  }
  // Data: DA and SA by direction (IEEE 802.11-2020 table 9-30).
  const da = direction === 0 || direction === WLAN_FLAG_FROM_DS ? WLAN_ADDR1 : WLAN_ADDR3;
  const sa = direction === 0 || direction === WLAN_FLAG_TO_DS
    ? WLAN_ADDR2
    : direction === WLAN_FLAG_FROM_DS
    ? WLAN_ADDR3
    : WLAN_ADDR4;
  if (available >= da + MAC_BYTES) h.ethDstOffset = offset + da;
  if (available >= sa + MAC_BYTES) h.ethSrcOffset = offset + sa;
  const qosControl = direction === (WLAN_FLAG_TO_DS | WLAN_FLAG_FROM_DS)
    ? WLAN_HEADER_BYTES + MAC_BYTES
    : WLAN_HEADER_BYTES;
  const qos = (subtype & WLAN_SUBTYPE_QOS) !== 0;
  let header = qosControl;
  if (qos) {
    header += QOS_CONTROL_BYTES;
    if ((flags & WLAN_FLAG_ORDER) !== 0) header += HT_CONTROL_BYTES;
  }
  if (available < header) return truncated(WLAN_TRUNCATED, end, h);
  const amsdu = qos && (bytes[offset + qosControl] & WLAN_QOS_AMSDU) !== 0;
  if (dataPad) header = (header + 3) & ~3;
  const body = offset + header;
  if ((flags & WLAN_FLAG_PROTECTED) !== 0) return other(PROTOCOL_WLAN_PROTECTED, body, h);
  if ((subtype & WLAN_SUBTYPE_NO_DATA) !== 0 || amsdu) return other(PROTOCOL_WLAN, body, h);
  if (body >= h.wireEnd) return other(PROTOCOL_WLAN, body, h);
  if (body + SNAP_HEADER_BYTES > end) {
    // Cut by the snap length, or a body too short to be LLC/SNAP.
    if (body + SNAP_HEADER_BYTES <= h.wireEnd) return truncated(WLAN_TRUNCATED, end, h);
    return other(PROTOCOL_LLC, body, h);
  }
  if (
    bytes[body] !== LLC_SAP_SNAP || bytes[body + 1] !== LLC_SAP_SNAP ||
    bytes[body + 2] !== LLC_CONTROL_UI || bytes[body + 3] !== 0 || bytes[body + 4] !== 0 ||
    (bytes[body + 5] !== 0 && bytes[body + 5] !== OUI_BRIDGE_TUNNEL)
  ) {
    return other(PROTOCOL_LLC, body, h);
  }
  decodeEtherType(bytes, view, body + SNAP_HEADER_BYTES, view.getUint16(body + 6), h);
}

/** A frame with no network layer: `protocol` names it, the rest is payload. */
function other(protocol: string, offset: number, h: PacketHeaders): void {
  const headerEnd = offset < h.captureEnd ? offset : h.captureEnd;
  h.protocol = protocol;
  h.headerEnd = headerEnd;
  h.payloadLength = h.wireEnd > offset ? h.wireEnd - offset : 0;
}

function truncated(reason: string, end: number, h: PacketHeaders): void {
  h.protocol = PROTOCOL_WLAN;
  h.headerEnd = end;
  h.markMalformed(reason);
}
