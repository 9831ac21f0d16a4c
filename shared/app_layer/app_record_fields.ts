/**
 * The application-layer fields of a packet record: {@linkcode AppMetadata}
 * flattened to the fixed-shape columns the wire formats and `raw_packets`
 * carry. Lists (ALPN, DNS answers, CNAMEs, names, TLS versions) become one
 * comma-separated text each, so every field is a plain text or number
 * column on both wire formats and in both databases. Text is clipped to the
 * field's limit and stripped of what PostgreSQL text cannot hold, so a
 * record built here always passes the server's validation.
 *
 * @module
 */

import type {
  AppMetadata,
  AppProtocol,
  DnsAppMetadata,
  TlsClientAppMetadata,
} from "./app_metadata.ts";

/** The app-layer fields of one packet record; all null when nothing was found. */
export interface AppRecordFields {
  /** Application protocol recognised by content in this packet (or the message it completed). */
  app_protocol: AppProtocol | null;
  /** DNS/mDNS/LLMNR: name of the first question. */
  dns_query: string | null;
  /** DNS: QTYPE of the first question. */
  dns_qtype: number | null;
  /** DNS: RCODE of a response (null for a query). */
  dns_rcode: number | null;
  /** DNS: A/AAAA answers, comma-separated, in order. */
  dns_answers: string | null;
  /** DNS: CNAME targets, comma-separated, in order. */
  dns_cnames: string | null;
  /** DNS: TTL of the first answer, seconds. */
  dns_ttl: number | null;
  /** mDNS/LLMNR: the names of the message, comma-separated. */
  dns_names: string | null;
  /** TLS or QUIC ClientHello: server name (SNI). */
  tls_sni: string | null;
  /** ClientHello: ALPN protocols offered, comma-separated, in order (`h2,http/1.1`). */
  tls_alpn: string | null;
  /** ClientHello: versions offered, comma-separated hex (`0x0304,0x0303`). */
  tls_versions: string | null;
  /** ClientHello: JA3 MD5. */
  tls_ja3: string | null;
  /** ClientHello: JA4 fingerprint. */
  tls_ja4: string | null;
  /** ServerHello: chosen version (772 = 0x0304 TLS 1.3). */
  tls_version: number | null;
  /** ServerHello: chosen cipher suite. */
  tls_cipher: number | null;
  /** HTTP/1.x request method. */
  http_method: string | null;
  /** HTTP/1.x Host header. */
  http_host: string | null;
  /** HTTP/1.x request target (first 512 bytes). */
  http_path: string | null;
  /** HTTP/1.x User-Agent header. */
  http_user_agent: string | null;
  /** HTTP/1.x response status. */
  http_status: number | null;
  /** SSH identification string of this direction (`SSH-2.0-OpenSSH_9.2p1`). */
  ssh_banner: string | null;
  /** DHCP client host name (option 12). */
  dhcp_hostname: string | null;
  /** DHCP requested address (option 50). */
  dhcp_requested_ip: string | null;
}

/** Longest text of each text field, in UTF-16 code units (the limits the schema enforces). */
export const APP_TEXT_LIMITS = {
  dns_query: 1024,
  dns_answers: 1024,
  dns_cnames: 4096,
  dns_names: 4096,
  tls_sni: 1024,
  tls_alpn: 2048,
  tls_versions: 256,
  tls_ja3: 64,
  tls_ja4: 64,
  http_method: 64,
  http_host: 1024,
  http_path: 1024,
  http_user_agent: 1024,
  ssh_banner: 512,
  dhcp_hostname: 512,
} as const satisfies Partial<Record<keyof AppRecordFields, number>>;

/** Every app-layer field name, in record order. */
export const APP_RECORD_FIELD_NAMES: readonly (keyof AppRecordFields)[] = [
  "app_protocol",
  "dns_query",
  "dns_qtype",
  "dns_rcode",
  "dns_answers",
  "dns_cnames",
  "dns_ttl",
  "dns_names",
  "tls_sni",
  "tls_alpn",
  "tls_versions",
  "tls_ja3",
  "tls_ja4",
  "tls_version",
  "tls_cipher",
  "http_method",
  "http_host",
  "http_path",
  "http_user_agent",
  "http_status",
  "ssh_banner",
  "dhcp_hostname",
  "dhcp_requested_ip",
];

/**
 * Sets every app-layer field of `target` to null, each by name. A record
 * read from a column block (shared/packet/packet_columns.ts) is filled a
 * million times a pass, and most packets carry no app-layer field: stores by
 * a computed name (`target[name] = null` over {@link APP_RECORD_FIELD_NAMES})
 * were a third of that read's time in the aggregation pass's CPU profile.
 */
export function clearAppFields(target: AppRecordFields): void {
  target.app_protocol = null;
  target.dns_query = null;
  target.dns_qtype = null;
  target.dns_rcode = null;
  target.dns_answers = null;
  target.dns_cnames = null;
  target.dns_ttl = null;
  target.dns_names = null;
  target.tls_sni = null;
  target.tls_alpn = null;
  target.tls_versions = null;
  target.tls_ja3 = null;
  target.tls_ja4 = null;
  target.tls_version = null;
  target.tls_cipher = null;
  target.http_method = null;
  target.http_host = null;
  target.http_path = null;
  target.http_user_agent = null;
  target.http_status = null;
  target.ssh_banner = null;
  target.dhcp_hostname = null;
  target.dhcp_requested_ip = null;
}

/** The fields of a record without app-layer metadata: every one null. */
export const NO_APP_FIELDS: Readonly<AppRecordFields> = Object.freeze(
  Object.fromEntries(APP_RECORD_FIELD_NAMES.map((name) => [name, null])),
) as unknown as AppRecordFields;

/**
 * Text as a record may carry it: NUL characters and lone surrogates (which
 * PostgreSQL text cannot hold unchanged) replaced, then clipped to `limit`
 * code units without splitting a surrogate pair. Null stays null.
 */
export function clipText(text: string | null | undefined, limit: number): string | null {
  if (text === null || text === undefined) return null;
  let out = text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
  if (!out.isWellFormed()) out = out.toWellFormed();
  if (out.length > limit) {
    let end = limit;
    const code = out.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end--;
    out = out.slice(0, end);
  }
  return out;
}

function list(values: readonly string[] | undefined, limit: number): string | null {
  if (values === undefined || values.length === 0) return null;
  return clipText(values.join(","), limit);
}

/**
 * A fresh object with every field null, written out as one literal: every
 * record's fields then share one shape, and making one costs less than
 * copying the frozen {@linkcode NO_APP_FIELDS} with a spread.
 */
function noAppFields(): AppRecordFields {
  return {
    app_protocol: null,
    dns_query: null,
    dns_qtype: null,
    dns_rcode: null,
    dns_answers: null,
    dns_cnames: null,
    dns_ttl: null,
    dns_names: null,
    tls_sni: null,
    tls_alpn: null,
    tls_versions: null,
    tls_ja3: null,
    tls_ja4: null,
    tls_version: null,
    tls_cipher: null,
    http_method: null,
    http_host: null,
    http_path: null,
    http_user_agent: null,
    http_status: null,
    ssh_banner: null,
    dhcp_hostname: null,
    dhcp_requested_ip: null,
  };
}

function dnsFields(out: AppRecordFields, metadata: DnsAppMetadata): void {
  const L = APP_TEXT_LIMITS;
  out.dns_query = clipText(metadata.dns_query, L.dns_query);
  out.dns_qtype = metadata.dns_qtype;
  out.dns_rcode = metadata.dns_rcode;
  out.dns_answers = list(metadata.dns_answers, L.dns_answers);
  out.dns_cnames = list(metadata.dns_cnames, L.dns_cnames);
  out.dns_ttl = metadata.dns_ttl;
  out.dns_names = list(metadata.dns_names, L.dns_names);
}

function clientHelloFields(out: AppRecordFields, metadata: TlsClientAppMetadata): void {
  const L = APP_TEXT_LIMITS;
  out.tls_sni = clipText(metadata.tls_sni, L.tls_sni);
  out.tls_alpn = list(metadata.tls_alpn, L.tls_alpn);
  out.tls_versions = list(metadata.tls_versions.map(hex16), L.tls_versions);
  out.tls_ja3 = clipText(metadata.tls_ja3, L.tls_ja3);
  out.tls_ja4 = clipText(metadata.tls_ja4, L.tls_ja4);
}

const hex16 = (n: number) => "0x" + n.toString(16).padStart(4, "0");

/**
 * The record fields of one packet's metadata (all null for null). Pure: the
 * same metadata gives the same fields.
 *
 * @example
 * ```ts
 * appRecordFields({ app_protocol: "ssh", ssh_banner: "SSH-2.0-OpenSSH_9.2p1" }).ssh_banner;
 * // "SSH-2.0-OpenSSH_9.2p1"
 * ```
 */
export function appRecordFields(metadata: AppMetadata | null): AppRecordFields {
  const out = noAppFields();
  if (metadata === null) return out;
  out.app_protocol = metadata.app_protocol;
  // The protocol first, then the one field that tells its messages apart:
  // one or two `in` checks per record rather than a chain over every kind of
  // message (on objects of many shapes, each check is a megamorphic lookup).
  switch (metadata.app_protocol) {
    case "dns":
    case "mdns":
    case "llmnr":
      if ("dns_answers" in metadata) dnsFields(out, metadata);
      break;
    case "tls":
    case "quic":
      if ("tls_ja4" in metadata) clientHelloFields(out, metadata);
      else if ("tls_cipher" in metadata) {
        out.tls_version = metadata.tls_version;
        out.tls_cipher = metadata.tls_cipher;
      }
      break;
    case "http":
      if ("http_method" in metadata) {
        const L = APP_TEXT_LIMITS;
        out.http_method = clipText(metadata.http_method, L.http_method);
        out.http_host = clipText(metadata.http_host, L.http_host);
        out.http_path = clipText(metadata.http_path, L.http_path);
        out.http_user_agent = clipText(metadata.http_user_agent, L.http_user_agent);
      } else if ("http_status" in metadata) out.http_status = metadata.http_status;
      break;
    case "ssh":
      if ("ssh_banner" in metadata) {
        out.ssh_banner = clipText(metadata.ssh_banner, APP_TEXT_LIMITS.ssh_banner);
      }
      break;
    case "dhcp":
      out.dhcp_hostname = clipText(metadata.dhcp_hostname, APP_TEXT_LIMITS.dhcp_hostname);
      out.dhcp_requested_ip = metadata.dhcp_requested_ip;
      break;
  }
  return out;
}
