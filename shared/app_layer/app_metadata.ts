/**
 * The application-layer metadata one packet yields, as one tagged union:
 * `app_protocol` says which protocol, the rest are that protocol's fields.
 * Every field is named as the packet record and the flow will carry it, so
 * wiring a result into a record is a spread (`{ ...record, ...metadata }`).
 *
 * @module
 */

import type { DhcpMetadata } from "./dhcp_message.ts";
import type { DnsMetadata } from "./dns_message.ts";
import type { HttpRequestMetadata, HttpResponseMetadata } from "./http_message.ts";
import type { SshMetadata } from "./ssh_banner.ts";
import type { TlsClientMetadata, TlsServerMetadata } from "./tls_metadata.ts";

/**
 * Application protocols recognised by content: `tls` (TLS over TCP, any
 * port), `quic` (QUIC long-header packets), `http` (HTTP/1.x), `ssh`, `dns`
 * (over UDP or TCP), `mdns` (multicast DNS, port 5353), `llmnr` (port
 * 5355), `dhcp` (BOOTP with the DHCP magic cookie).
 */
export type AppProtocol = "tls" | "quic" | "http" | "ssh" | "dns" | "mdns" | "llmnr" | "dhcp";

/** Every recognised protocol, in a fixed order (for schemas and filters). */
export const APP_PROTOCOLS: readonly AppProtocol[] = [
  "tls",
  "quic",
  "http",
  "ssh",
  "dns",
  "mdns",
  "llmnr",
  "dhcp",
];

/** A DNS message (`dns_names` is filled for mDNS and LLMNR only). */
export type DnsAppMetadata =
  & { app_protocol: "dns" | "mdns" | "llmnr" }
  & DnsMetadata
  & { dns_names?: string[] };
/** A TLS ClientHello, over TCP (`tls`) or in a QUIC Initial (`quic`, JA4 with `q`). */
export type TlsClientAppMetadata = { app_protocol: "tls" | "quic" } & TlsClientMetadata;
/** A TLS ServerHello. */
export type TlsServerAppMetadata = { app_protocol: "tls" } & TlsServerMetadata;
/** An HTTP/1.x request. */
export type HttpRequestAppMetadata = { app_protocol: "http" } & HttpRequestMetadata;
/** An HTTP/1.x response. */
export type HttpResponseAppMetadata = { app_protocol: "http" } & HttpResponseMetadata;
/** An SSH identification string. */
export type SshAppMetadata = { app_protocol: "ssh" } & SshMetadata;
/** A DHCP message. */
export type DhcpAppMetadata = { app_protocol: "dhcp" } & DhcpMetadata;

/** What one packet (or the message it completes) says about its flow. */
export type AppMetadata =
  | DnsAppMetadata
  | TlsClientAppMetadata
  | TlsServerAppMetadata
  | HttpRequestAppMetadata
  | HttpResponseAppMetadata
  | SshAppMetadata
  | DhcpAppMetadata;
