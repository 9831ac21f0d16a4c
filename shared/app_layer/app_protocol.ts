/**
 * Which application protocol a flow direction speaks, from its first payload
 * bytes: a TLS server on 8443 or HTTP on 8080 is still found. Ports are only
 * a hint, used where content alone is ambiguous (DNS-shaped messages, whose
 * port tells DNS from mDNS and LLMNR).
 *
 * @module
 */

import type { AppProtocol } from "./app_metadata.ts";
import { u16 } from "./_bytes.ts";
import { looksLikeDhcp } from "./dhcp_message.ts";
import { looksLikeHttpRequest, looksLikeHttpResponse } from "./http_message.ts";
import { looksLikeQuicLongHeader } from "./quic_header.ts";
import { looksLikeSsh } from "./ssh_banner.ts";
import { isTlsRecordHeader, TLS_CONTENT_HANDSHAKE } from "./tls_record.ts";

/** The transport and ports of the packet whose payload is recognised. */
export interface RecogniseHint {
  /** `tcp` or `udp`. */
  transport: "tcp" | "udp";
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
}

const PORT_DNS = 53;
const PORT_MDNS = 5353;
const PORT_LLMNR = 5355;
const PORT_DHCP_SERVER = 67;
const PORT_DHCP_CLIENT = 68;
const DNS_HEADER_BYTES = 12;

function onPort(hint: RecogniseHint, port: number): boolean {
  return hint.srcPort === port || hint.dstPort === port;
}

/**
 * Whether a DNS header is plausible: an opcode DNS defines, a question count
 * of at most 16 (in practice 0 or 1), and record counts a datagram could
 * hold. Content alone cannot prove DNS, so the caller adds the port.
 */
function plausibleDnsHeader(bytes: Uint8Array, at: number): boolean {
  if (bytes.length - at < DNS_HEADER_BYTES) return false;
  const opcode = (bytes[at + 2] >> 3) & 0x0f;
  if (opcode === 3 || opcode > 6) return false;
  const questions = u16(bytes, at + 4);
  const records = u16(bytes, at + 6) + u16(bytes, at + 8) + u16(bytes, at + 10);
  return questions <= 16 && records <= 2048;
}

/**
 * Recognises the application protocol of a flow direction from its first
 * payload bytes. Never throws; null when nothing matches.
 *
 * @example
 * ```ts
 * recogniseAppProtocol(payload, { transport: "tcp", srcPort: 51000, dstPort: 8443 }); // "tls"
 * ```
 */
export function recogniseAppProtocol(payload: Uint8Array, hint: RecogniseHint): AppProtocol | null {
  if (hint.transport === "tcp") {
    // What a TCP message may start with is also known to `mayBeginMessage`
    // (tcp_app_stream.ts), which passes over other segments unread: a new
    // protocol here must be added there too.
    if (isTlsRecordHeader(payload) && payload[0] === TLS_CONTENT_HANDSHAKE) return "tls";
    if (looksLikeHttpRequest(payload) || looksLikeHttpResponse(payload)) return "http";
    if (looksLikeSsh(payload)) return "ssh";
    // DNS over TCP: a length prefix, then a DNS header, on the DNS port.
    if (
      onPort(hint, PORT_DNS) && payload.length >= 2 + DNS_HEADER_BYTES &&
      u16(payload, 0) >= DNS_HEADER_BYTES && plausibleDnsHeader(payload, 2)
    ) {
      return "dns";
    }
    return null;
  }
  if (looksLikeQuicLongHeader(payload)) return "quic";
  if (
    looksLikeDhcp(payload) && (onPort(hint, PORT_DHCP_SERVER) || onPort(hint, PORT_DHCP_CLIENT))
  ) {
    return "dhcp";
  }
  if (plausibleDnsHeader(payload, 0)) {
    if (onPort(hint, PORT_MDNS)) return "mdns";
    if (onPort(hint, PORT_LLMNR)) return "llmnr";
    if (onPort(hint, PORT_DNS)) return "dns";
  }
  if (looksLikeDhcp(payload)) return "dhcp";
  return null;
}
