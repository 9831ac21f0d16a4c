/**
 * Folds the application-layer fields of a flow's packet records into the
 * flow: each field keeps the first value seen in the flow (the first
 * ClientHello's SNI and fingerprints, the first ServerHello's choice, the
 * first HTTP request and response, each direction's SSH banner), and DNS
 * keeps a count of queries and the first few distinct names. The flow table
 * calls {@linkcode foldAppMetadata} for every packet that carries an
 * `app_protocol`; the state it returns is plain JSON (the table saves it
 * between passes).
 *
 * @module
 */

import type { PacketRecord } from "../packet/packet_record.ts";

/** Most distinct DNS names a flow keeps in `dns_names`. */
export const FLOW_DNS_MAX_NAMES = 8;

/** The application-layer fields of a flow, as `traffic_data` stores them. */
export interface FlowAppFields {
  /** First application protocol recognised in the flow. */
  app_protocol: string | null;
  /** First DNS question name. */
  dns_query: string | null;
  /** Its QTYPE. */
  dns_qtype: number | null;
  /** RCODE of the first DNS response. */
  dns_rcode: number | null;
  /** A/AAAA answers of the first DNS response with any, comma-separated. */
  dns_answers: string | null;
  /** DNS queries seen in the flow (responses without their query count once). */
  dns_query_count: number;
  /** First distinct DNS names of the flow (questions, and mDNS/LLMNR names), comma-separated. */
  dns_names: string | null;
  /** Server name of the first ClientHello (TLS or QUIC). */
  tls_sni: string | null;
  /** Its ALPN list, comma-separated. */
  tls_alpn: string | null;
  /** Its JA3 MD5. */
  tls_ja3: string | null;
  /** Its JA4. */
  tls_ja4: string | null;
  /** Version the first ServerHello chose. */
  tls_version: number | null;
  /** Cipher suite the first ServerHello chose. */
  tls_cipher: number | null;
  /** First HTTP request's method. */
  http_method: string | null;
  /** First HTTP request's Host. */
  http_host: string | null;
  /** First HTTP request's target (first 512 bytes). */
  http_path: string | null;
  /** First HTTP request's User-Agent. */
  http_user_agent: string | null;
  /** First HTTP response's status. */
  http_status: number | null;
  /** SSH banner sent by the originator. */
  ssh_client: string | null;
  /** SSH banner sent by the responder. */
  ssh_server: string | null;
  /** First DHCP client host name. */
  dhcp_hostname: string | null;
}

/** Every {@linkcode FlowAppFields} name, in `traffic_data` column order. */
export const FLOW_APP_FIELD_NAMES: readonly (keyof FlowAppFields)[] = [
  "app_protocol",
  "dns_query",
  "dns_qtype",
  "dns_rcode",
  "dns_answers",
  "dns_query_count",
  "dns_names",
  "tls_sni",
  "tls_alpn",
  "tls_ja3",
  "tls_ja4",
  "tls_version",
  "tls_cipher",
  "http_method",
  "http_host",
  "http_path",
  "http_user_agent",
  "http_status",
  "ssh_client",
  "ssh_server",
  "dhcp_hostname",
];

/** A flow without application-layer metadata. */
export const NO_FLOW_APP_FIELDS: Readonly<FlowAppFields> = Object.freeze(
  Object.fromEntries(
    FLOW_APP_FIELD_NAMES.map((name) => [name, name === "dns_query_count" ? 0 : null]),
  ),
) as unknown as FlowAppFields;

const DNS_PROTOCOLS = new Set(["dns", "mdns", "llmnr"]);

function addName(state: FlowAppFields, name: string | null): void {
  if (name === null || name === "") return;
  const names = state.dns_names === null ? [] : state.dns_names.split(",");
  if (names.length >= FLOW_DNS_MAX_NAMES || names.includes(name)) return;
  names.push(name);
  state.dns_names = names.join(",");
}

/**
 * Folds one packet's app-layer fields into a flow's state, creating it on
 * the first: returns the state (the same object once made), or null while
 * no packet of the flow has carried any. `fromOrig` says whether the packet
 * went from the flow's originator (for the SSH client and server banners).
 */
export function foldAppMetadata(
  state: FlowAppFields | null,
  p: PacketRecord,
  fromOrig: boolean,
): FlowAppFields | null {
  const protocol = p.app_protocol;
  if (protocol === null) return state;
  const s = state ?? { ...NO_FLOW_APP_FIELDS };
  s.app_protocol ??= protocol;
  if (DNS_PROTOCOLS.has(protocol)) {
    if (s.dns_query === null && p.dns_query !== null) {
      s.dns_query = p.dns_query;
      s.dns_qtype = p.dns_qtype;
    }
    const response = p.dns_rcode !== null;
    if (response) {
      s.dns_rcode ??= p.dns_rcode;
      if (s.dns_answers === null) s.dns_answers = p.dns_answers;
      // A response whose query was not seen (capture began after it) still tells of one.
      if (s.dns_query_count === 0) s.dns_query_count = 1;
    } else {
      s.dns_query_count++;
    }
    addName(s, p.dns_query);
    if (p.dns_names !== null) { for (const name of p.dns_names.split(",")) addName(s, name); }
  } else if (p.tls_ja4 !== null || p.tls_sni !== null) {
    if (s.tls_ja4 === null) {
      s.tls_sni = p.tls_sni;
      s.tls_alpn = p.tls_alpn;
      s.tls_ja3 = p.tls_ja3;
      s.tls_ja4 = p.tls_ja4;
    }
  } else if (p.tls_cipher !== null) {
    if (s.tls_cipher === null) {
      s.tls_version = p.tls_version;
      s.tls_cipher = p.tls_cipher;
    }
  } else if (p.http_method !== null) {
    if (s.http_method === null) {
      s.http_method = p.http_method;
      s.http_host = p.http_host;
      s.http_path = p.http_path;
      s.http_user_agent = p.http_user_agent;
    }
  } else if (p.http_status !== null) {
    s.http_status ??= p.http_status;
  } else if (p.ssh_banner !== null) {
    if (fromOrig) s.ssh_client ??= p.ssh_banner;
    else s.ssh_server ??= p.ssh_banner;
  } else if (p.dhcp_hostname !== null) {
    s.dhcp_hostname ??= p.dhcp_hostname;
  }
  return s;
}
