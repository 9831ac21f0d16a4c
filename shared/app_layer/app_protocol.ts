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

/** A QUIC long header's fixed bits: header form and fixed bit (RFC 9000 §17.2). */
const QUIC_LONG_HEADER_BITS = 0xc0;
/** Fewest bytes of a QUIC long header `looksLikeQuicLongHeader` reads. */
const QUIC_LONG_HEADER_MIN_BYTES = 7;
/** Fewest bytes of a DHCP message `looksLikeDhcp` accepts: BOOTP's fixed part and the cookie. */
const DHCP_MIN_BYTES = 240;

/**
 * Whether a UDP datagram whose payload starts with `firstByte` and holds
 * `length` bytes (as captured) may be one {@linkcode recogniseAppProtocol}
 * names: a QUIC long header, a BOOTP message (opcode 1 or 2), or anything
 * on a DNS, mDNS or LLMNR port. False means it names none, so the caller
 * need not make a view of the payload (a UDP flood's every datagram).
 * A new UDP protocol in `recogniseAppProtocol` must be added here too.
 */
export function mayRecogniseDatagram(
  firstByte: number,
  length: number,
  hint: RecogniseHint,
): boolean {
  if (length < QUIC_LONG_HEADER_MIN_BYTES) return false; // shorter than any header read below
  return (firstByte & QUIC_LONG_HEADER_BITS) === QUIC_LONG_HEADER_BITS ||
    ((firstByte === 1 || firstByte === 2) && length >= DHCP_MIN_BYTES) ||
    onPort(hint, PORT_DNS) || onPort(hint, PORT_MDNS) || onPort(hint, PORT_LLMNR);
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
  // What a datagram may start with is also known to `mayRecogniseDatagram`
  // (above), which lets a caller pass over others unread: a new protocol
  // here must be added there too.
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
