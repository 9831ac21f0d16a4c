/**
 * PPP (RFC 1661) as tunnels carry it: PPTP's enhanced GRE and PPPoE
 * sessions. Only the protocol field matters here: IPv4 and IPv6 go on to
 * the IP decoders, and the link's own control protocols (LCP, IPCP, PAP, …)
 * are named.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import { decodeInnerIp, decodeInnerUnknown } from "./_decode_tunnel.ts";
import { PPP_TRUNCATED } from "./_malformed.ts";

const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
/** HDLC-like framing's all-stations address and unnumbered-information control (RFC 1662). */
const PPP_ADDRESS = 0xff;
const PPP_CONTROL = 0x03;

/** Protocol names of PPP's control protocols, as tshark names their layers. */
const PPP_NAMES: ReadonlyMap<number, string> = new Map([
  [0xc021, "LCP"],
  [0x8021, "IPCP"],
  [0x8057, "IPV6CP"],
  [0xc023, "PAP"],
  [0xc223, "CHAP"],
  [0x80fd, "CCP"],
  [0xc025, "LQR"],
  [0xc227, "EAP"],
  [0x8281, "MPLSCP"],
]);
/** Protocol name of any other PPP payload. */
export const PROTOCOL_PPP = "PPP";

/**
 * Decodes the PPP frame at `offset`. `framed` allows the HDLC-like address
 * and control bytes in front (GRE carries them unless compressed; PPPoE
 * never does). A protocol field whose first byte is odd is one byte long
 * (protocol-field compression).
 */
export function decodePpp(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  wireEnd: number,
  framed: boolean,
  h: PacketHeaders,
): void {
  const end = wireEnd < h.captureEnd ? wireEnd : h.captureEnd;
  if (
    framed && offset + 2 <= end && bytes[offset] === PPP_ADDRESS &&
    bytes[offset + 1] === PPP_CONTROL
  ) {
    offset += 2;
  }
  if (offset >= end) {
    h.markMalformed(PPP_TRUNCATED);
    h.headerEnd = end;
    return;
  }
  let protocol: number;
  if ((bytes[offset] & 1) === 1) {
    protocol = bytes[offset];
    offset += 1;
  } else {
    if (offset + 2 > end) {
      h.markMalformed(PPP_TRUNCATED);
      h.headerEnd = end;
      return;
    }
    protocol = view.getUint16(offset);
    offset += 2;
  }
  switch (protocol) {
    case PPP_IPV4:
      decodeInnerIp(bytes, view, offset, wireEnd, 4, h);
      return;
    case PPP_IPV6:
      decodeInnerIp(bytes, view, offset, wireEnd, 6, h);
      return;
    default:
      decodeInnerUnknown(offset, wireEnd, PPP_NAMES.get(protocol) ?? PROTOCOL_PPP, h);
  }
}
