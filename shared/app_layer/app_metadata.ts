/**
 * The application-layer metadata one packet yields, as one tagged union:
 * `app_protocol` says which protocol, the rest are that protocol's fields.
 * Every field is named as the packet record and the flow will carry it, so
 * wiring a result into a record is a spread (`{ ...record, ...metadata }`).
 *
 * @module
 */

import type { DhcpMetadata } from "./dhcp_message.ts";
import type { DnsMetadata, LocalNameMetadata } from "./dns_message.ts";
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

/*
 * The found messages' metadata, each written out as one object literal with
 * the keys in the order `{ app_protocol, ...parsed }` gives them. A spread
 * copies through V8's CloneObjectIC and CopyDataProperties, which see every
 * parser's result shape at one site (megamorphic, a runtime call a message);
 * a literal per kind of message allocates one fixed shape inline. DNS and
 * HTTP are most of what a capture yields.
 */

/** `{ app_protocol, ...dns }` for a DNS-shaped message, `dns_names` last when listed. */
export function dnsAppMetadata(
  app_protocol: "dns" | "mdns" | "llmnr",
  dns: DnsMetadata | LocalNameMetadata,
): DnsAppMetadata {
  const out: DnsAppMetadata = {
    app_protocol,
    dns_query: dns.dns_query,
    dns_qtype: dns.dns_qtype,
    dns_rcode: dns.dns_rcode,
    dns_answers: dns.dns_answers,
    dns_cnames: dns.dns_cnames,
    dns_ttl: dns.dns_ttl,
  };
  // mDNS and LLMNR only (rare): added last, where the spread put it.
  const names = (dns as Partial<LocalNameMetadata>).dns_names;
  if (names !== undefined) out.dns_names = names;
  return out;
}

/** `{ app_protocol: "http", ...request }`. */
export function httpRequestAppMetadata(request: HttpRequestMetadata): HttpRequestAppMetadata {
  return {
    app_protocol: "http",
    http_method: request.http_method,
    http_host: request.http_host,
    http_path: request.http_path,
    http_user_agent: request.http_user_agent,
  };
}

/** `{ app_protocol: "http", ...response }`. */
export function httpResponseAppMetadata(response: HttpResponseMetadata): HttpResponseAppMetadata {
  return { app_protocol: "http", http_status: response.http_status };
}

/** `{ app_protocol: "ssh", ...banner }`. */
export function sshAppMetadata(banner: SshMetadata): SshAppMetadata {
  return { app_protocol: "ssh", ssh_banner: banner.ssh_banner };
}
