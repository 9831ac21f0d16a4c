/**
 * Application-layer metadata: pure parsers over payload bytes that say what
 * a flow carries (the DNS name asked, the TLS server name and client
 * fingerprint, the HTTP host, the SSH software, the DHCP host name). The
 * agent calls them at the edge; training and tests call the same functions.
 * Every parser takes bytes, never throws on them, and returns null or a
 * partial result for bytes that are not (or not all of) its protocol. Result
 * fields are named as the packet record and the flow carry them.
 *
 * @example
 * ```ts
 * import { parseDnsMessage } from "@traffic-analyzer/shared/app_layer";
 * const dns = parseDnsMessage(udpPayload);
 * if (dns !== null) console.log(dns.dns_query, dns.dns_answers);
 * ```
 *
 * @module
 */

export {
  DNS_MAX_ANSWERS,
  DNS_MAX_CNAMES,
  DNS_MAX_NAMES,
  type DnsMetadata,
  type LocalNameMetadata,
  parseDnsMessage,
  type ParseDnsOptions,
  parseDnsOverTcp,
} from "./dns_message.ts";
