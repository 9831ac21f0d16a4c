/**
 * MPLS (RFC 3032): a stack of 4-byte label entries, the last with the
 * bottom-of-stack bit, then the labelled packet. MPLS does not say what it
 * carries, so the payload is read by its first nibble, as every router and
 * tshark do: 4 is IPv4, 6 is IPv6. An Ethernet pseudowire (first nibble 0,
 * with or without a control word) cannot be told apart from a control word
 * reliably, so such a payload is named `MPLS`, not guessed.
 *
 * @module
 */

import type { PacketHeaders } from "./packet_headers.ts";
import { beginTunnel, decodeInnerIp } from "./_decode_tunnel.ts";
import { MPLS_TRUNCATED } from "./_malformed.ts";

const LABEL_ENTRY_BYTES = 4;
const BOTTOM_OF_STACK = 0x100;

/** Protocol name of MPLS frames whose payload is not IP. */
export const PROTOCOL_MPLS = "MPLS";

/**
 * Decodes the label stack at `offset` and the packet under it; `wireEnd`
 * is where the labelled packet ends on the wire. The bottom label is the
 * tunnel id: the one that names the service (VPN, pseudowire) rather than
 * the transport path.
 */
export function decodeMpls(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  wireEnd: number,
  h: PacketHeaders,
): void {
  h.protocol = PROTOCOL_MPLS;
  h.headerEnd = offset;
  h.payloadLength = wireEnd > offset ? wireEnd - offset : 0;
  if (!beginTunnel(h, "mpls")) return;
  const end = wireEnd < h.captureEnd ? wireEnd : h.captureEnd;
  let p = offset;
  for (;;) {
    if (p + LABEL_ENTRY_BYTES > end) {
      h.markMalformed(MPLS_TRUNCATED);
      h.headerEnd = end > offset ? end : offset;
      return;
    }
    const entry = view.getUint32(p);
    p += LABEL_ENTRY_BYTES;
    if ((entry & BOTTOM_OF_STACK) !== 0) {
      h.tunnelId = entry >>> 12;
      break;
    }
  }
  if (!decodeInnerIp(bytes, view, p, wireEnd, 0, h)) {
    h.headerEnd = p;
    h.payloadLength = wireEnd > p ? wireEnd - p : 0;
  }
}
