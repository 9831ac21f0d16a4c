/**
 * IP address text <-> bytes helpers for the flow code: Community ID hashes
 * addresses in network byte order, and the ICMP-error quote parser has to
 * print quoted addresses exactly as the packet decoders do (dotted quad,
 * RFC 5952 IPv6) so that they match flow keys.
 *
 * @module
 */

export { parseIp, parseIpInto } from "../packet/address_parse.ts";
// One formatter for addresses everywhere: the decoder's, which prints what tshark prints.
export { formatIpv4, formatIpv6 } from "../packet/address_format.ts";
