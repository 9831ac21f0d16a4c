/**
 * A flow's application-layer metadata (migration 018), grouped by protocol,
 * for the flow page and `GET /api/flows/{id}`: what the agent extracted
 * from its packets and the aggregator folded into it.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";

/** The DNS part of a flow: its first query and first answer set. */
export interface FlowDnsDetail {
  /** The first query name. */
  query: string | null;
  /** Its query type (1 A, 28 AAAA, …). */
  qtype: number | null;
  /** The response code (0 NOERROR, 3 NXDOMAIN, …), once a response was seen. */
  rcode: number | null;
  /** The first response's A/AAAA answers. */
  answers: string[];
  /** DNS messages with a query in the flow. */
  query_count: number;
  /** The first few distinct names the flow asked about or answered. */
  names: string[];
}

/** What {@link readFlowApp} returns; a part is null when the flow has none of it. */
export interface FlowAppDetail {
  /** The application protocol recognised by content (`dns`, `tls`, `http`, …). */
  app_protocol: string | null;
  /** DNS: the first query and answers. */
  dns: FlowDnsDetail | null;
  /** TLS or QUIC: the first ClientHello's server name, ALPN and fingerprints; the ServerHello's choice. */
  tls: {
    sni: string | null;
    alpn: string | null;
    ja4: string | null;
    ja3: string | null;
    version: number | null;
    cipher: number | null;
  } | null;
  /** HTTP/1.x: the first request and its response status. */
  http: {
    method: string | null;
    host: string | null;
    path: string | null;
    user_agent: string | null;
    status: number | null;
  } | null;
  /** SSH: both ends' version strings. */
  ssh: { client: string | null; server: string | null } | null;
  /** DHCP: the client's host name. */
  dhcp: { hostname: string | null } | null;
}

const list = (text: string | null) => text === null || text === "" ? [] : text.split(",");

const anyOf = (...values: unknown[]) => values.some((value) => value !== null);

/** The flow's application metadata; null when there is no such flow. */
export async function readFlowApp(sql: Sql, id: number): Promise<FlowAppDetail | null> {
  const [row]: [Record<string, string | number | null>?] = await sql`
    select app_protocol, dns_query, dns_qtype, dns_rcode, dns_answers, dns_query_count,
      dns_names, tls_sni, tls_alpn, tls_ja4, tls_ja3, tls_version, tls_cipher, http_method,
      http_host, http_path, http_user_agent, http_status, ssh_client, ssh_server, dhcp_hostname
    from traffic_data where id = ${id}`;
  if (row === undefined) return null;
  const text = (name: string) => row[name] === null ? null : String(row[name]);
  const num = (name: string) => row[name] === null ? null : Number(row[name]);
  const dnsCount = Number(row.dns_query_count ?? 0);
  return {
    app_protocol: text("app_protocol"),
    dns: anyOf(row.dns_query, row.dns_rcode, row.dns_answers, row.dns_names) || dnsCount > 0
      ? {
        query: text("dns_query"),
        qtype: num("dns_qtype"),
        rcode: num("dns_rcode"),
        answers: list(text("dns_answers")),
        query_count: dnsCount,
        names: list(text("dns_names")),
      }
      : null,
    tls: anyOf(row.tls_sni, row.tls_alpn, row.tls_ja4, row.tls_ja3, row.tls_version)
      ? {
        sni: text("tls_sni"),
        alpn: text("tls_alpn"),
        ja4: text("tls_ja4"),
        ja3: text("tls_ja3"),
        version: num("tls_version"),
        cipher: num("tls_cipher"),
      }
      : null,
    http: anyOf(row.http_method, row.http_host, row.http_status)
      ? {
        method: text("http_method"),
        host: text("http_host"),
        path: text("http_path"),
        user_agent: text("http_user_agent"),
        status: num("http_status"),
      }
      : null,
    ssh: anyOf(row.ssh_client, row.ssh_server)
      ? { client: text("ssh_client"), server: text("ssh_server") }
      : null,
    dhcp: row.dhcp_hostname === null ? null : { hostname: text("dhcp_hostname") },
  };
}
