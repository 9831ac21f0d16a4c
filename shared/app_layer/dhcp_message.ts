/**
 * DHCP (RFC 2131/2132) messages: the host name a client gives (option 12)
 * and the address it asks for (option 50), which name a device on the LAN.
 *
 * @module
 */

import { displayText, ipv4Text } from "./_bytes.ts";

/** What a DHCP message tells; field names are those a packet record and a flow carry. */
export interface DhcpMetadata {
  /** DHCP message type (option 53: 1 DISCOVER, 3 REQUEST, 5 ACK, …), or null for plain BOOTP. */
  dhcp_message_type: number | null;
  /** Host Name option (12), or null. */
  dhcp_hostname: string | null;
  /** Requested IP Address option (50), or null. */
  dhcp_requested_ip: string | null;
}

/** The fixed BOOTP part before the magic cookie (RFC 2131 §2). */
const FIXED_BYTES = 236;
const MAGIC_COOKIE = 0x63825363;
const OPTION_PAD = 0;
const OPTION_END = 255;
const OPTION_HOSTNAME = 12;
const OPTION_REQUESTED_IP = 50;
const OPTION_MESSAGE_TYPE = 53;

/** Whether the bytes hold a BOOTP header and the DHCP magic cookie. */
export function looksLikeDhcp(bytes: Uint8Array): boolean {
  return bytes.length >= FIXED_BYTES + 4 && (bytes[0] === 1 || bytes[0] === 2) &&
    ((bytes[236] << 24 >>> 0) | (bytes[237] << 16) | (bytes[238] << 8) | bytes[239]) >>> 0 ===
      MAGIC_COOKIE;
}

/**
 * Parses a DHCP message's options. Never throws; null when the bytes lack
 * the BOOTP header or the magic cookie. Options are read until the end
 * option or the first one cut short, so a truncated message gives the
 * options before the cut. Options overloaded into `sname`/`file` (option 52)
 * are not read: clients do not put these two there.
 */
export function parseDhcpMessage(bytes: Uint8Array): DhcpMetadata | null {
  if (!looksLikeDhcp(bytes)) return null;
  const result: DhcpMetadata = {
    dhcp_message_type: null,
    dhcp_hostname: null,
    dhcp_requested_ip: null,
  };
  let at = FIXED_BYTES + 4;
  while (at < bytes.length) {
    const code = bytes[at];
    if (code === OPTION_END) break;
    if (code === OPTION_PAD) {
      at++;
      continue;
    }
    if (at + 1 >= bytes.length) break;
    const length = bytes[at + 1];
    const data = at + 2;
    if (data + length > bytes.length) break;
    if (code === OPTION_HOSTNAME && result.dhcp_hostname === null && length > 0) {
      result.dhcp_hostname = displayText(bytes, data, data + length);
    } else if (code === OPTION_REQUESTED_IP && length === 4) {
      result.dhcp_requested_ip = ipv4Text(bytes, data);
    } else if (code === OPTION_MESSAGE_TYPE && length === 1) {
      result.dhcp_message_type = bytes[data];
    }
    at = data + length;
  }
  return result;
}
