/**
 * Application-layer metadata: pure parsers over payload bytes that say what
 * a flow carries (the DNS name asked, the TLS server name and client
 * fingerprints, the HTTP host, the SSH software, the DHCP host name). The
 * agent calls them at the edge; training and tests call the same functions.
 * Every parser takes bytes, never throws on them, and returns null or a
 * partial result for bytes that are not (or not all of) its protocol.
 * Result fields are named as the packet record and the flow carry them
 * ({@linkcode AppMetadata}).
 *
 * For a stream of packets, {@linkcode AppLayerExtractor} keeps the per-flow
 * state some protocols need (a ClientHello over several TCP segments or QUIC
 * Initials) and recognises protocols by content, whatever the port.
 *
 * @example
 * ```ts
 * import { AppLayerExtractor } from "@traffic-analyzer/shared/app_layer";
 * const extractor = new AppLayerExtractor();
 * const found = extractor.extract({
 *   transport: "udp",
 *   directionKey: "10.0.0.5:51000>192.0.2.53:53/udp",
 *   srcPort: 51000,
 *   dstPort: 53,
 *   tcpSeq: 0,
 *   syn: false,
 *   payload,
 * });
 * const metadata = found instanceof Promise ? await found : found;
 * ```
 *
 * @module
 */

export * from "./app_metadata.ts";
export {
  APP_RECORD_FIELD_NAMES,
  APP_TEXT_LIMITS,
  type AppRecordFields,
  appRecordFields,
  clipText,
  NO_APP_FIELDS,
} from "./app_record_fields.ts";
export { HeaderAppExtractor } from "./header_app_extractor.ts";
export { mayRecogniseDatagram, recogniseAppProtocol, type RecogniseHint } from "./app_protocol.ts";
export {
  AppLayerExtractor,
  type AppLayerExtractorOptions,
  type AppPacket,
} from "./app_layer_extractor.ts";
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
export {
  type ClientHello,
  isGrease,
  parseClientHello,
  parseServerHello,
  type ServerHello,
  TLS_MAX_ALPN,
} from "./tls_hello.ts";
export { readFirstHandshake, TLS_MAX_HELLO_BYTES, type TlsHandshakeRead } from "./tls_record.ts";
export {
  parseTlsStream,
  type TlsClientMetadata,
  tlsClientMetadata,
  type TlsServerMetadata,
  tlsServerMetadata,
  type TlsStreamRead,
} from "./tls_metadata.ts";
export { type Ja3, ja3 } from "./ja3.ts";
export { ja4, type Ja4Transport } from "./ja4.ts";
export { TcpStreamPrefix, type TcpStreamPrefixOptions } from "./tcp_stream_prefix.ts";
export {
  type OpeningSegment,
  TcpAppStream,
  type TcpAppStreamOptions,
  type TcpSegment,
} from "./tcp_app_stream.ts";
export {
  parseQuicInitial,
  QuicInitialReader,
  type QuicInitialReaderOptions,
} from "./quic_initial.ts";
export { deriveQuicInitialSecrets, type QuicInitialSecrets } from "./quic_initial_keys.ts";
export { QUIC_V1, QUIC_V2 } from "./quic_header.ts";
export {
  HTTP_MAX_HEADER_VALUE_BYTES,
  HTTP_MAX_PATH_BYTES,
  type HttpRequestMetadata,
  type HttpResponseMetadata,
  parseHttpRequest,
  type ParseHttpRequestOptions,
  parseHttpResponse,
} from "./http_message.ts";
export { parseSshBanner, SSH_MAX_BANNER_BYTES, type SshMetadata } from "./ssh_banner.ts";
export { type DhcpMetadata, parseDhcpMessage } from "./dhcp_message.ts";
