/**
 * Read queries over `traffic_data` for the web pages and the JSON API.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";

/** One aggregated flow as the API returns it. Times are epoch seconds. */
export interface FlowRow {
  /** Row id. */
  id: number;
  /** The flow's uid (stable across passes; Zeek-style). */
  flow_uid: string;
  /** Community ID v1 of the flow's 5-tuple, or null when it has none. */
  community_id: string | null;
  /** The agent (sensor) whose packets made the flow; null for flows stored before flows had one. */
  agent: string | null;
  /** The tunnel the flow was keyed on (`vxlan`, `geneve`, `gre`, `erspan`, `pppoe`), or null. */
  tunnel_type: string | null;
  /** That tunnel's id: VNI, GRE key, ERSPAN or PPPoE session; null without one. */
  tunnel_id: number | null;
  /** Originator (client) address, or null for a flow without IP. */
  orig_ip: string | null;
  /** Originator port, or null for a protocol without ports. */
  orig_port: number | null;
  /** Responder (server) address, or null for a flow without IP. */
  resp_ip: string | null;
  /** Responder port, or null for a protocol without ports. */
  resp_port: number | null;
  /** Transport protocol name (`tcp`, `udp`, `icmp`, ...). */
  protocol: string;
  /** Outer VLAN id, or null when untagged. */
  vlan: number | null;
  /** Capture time of the first packet, epoch seconds. */
  first_seen: number;
  /** Capture time of the last packet, epoch seconds. */
  last_seen: number;
  /** `last_seen - first_seen`, seconds. */
  duration: number;
  /** Packets from the originator. */
  orig_packets: number;
  /** Packets from the responder. */
  resp_packets: number;
  /** Bytes on the wire from the originator. */
  orig_bytes: number;
  /** Bytes on the wire from the responder. */
  resp_bytes: number;
  /** Whether the flow may still grow (`active`) or has ended (`closed`). */
  state: "active" | "closed";
  /** Why the flow ended (FIN, RST, idle timeout, ...), or null while active. */
  close_reason: string | null;
  /** Zeek-style connection state (`S0`, `SF`, `REJ`, ...), or null. */
  conn_state: string | null;
  /** The model's class for the flow, or null before scoring. */
  label: string | null;
  /** The model's probability that the flow is not benign, or null before scoring. */
  score: number | null;
  /** Version of the model that scored the flow, or null before scoring. */
  model_version: string | null;
  /** Application protocol recognised by content (`tls`, `quic`, `http`, `ssh`, `dns`, …). */
  app_protocol: string | null;
  /** First DNS question name. */
  dns_query: string | null;
  /** DNS queries seen in the flow. */
  dns_query_count: number;
  /** First distinct DNS names, comma-separated. */
  dns_names: string | null;
  /** TLS/QUIC server name of the first ClientHello. */
  tls_sni: string | null;
  /** Its ALPN list, comma-separated. */
  tls_alpn: string | null;
  /** Its JA3 MD5. */
  tls_ja3: string | null;
  /** Its JA4. */
  tls_ja4: string | null;
  /** First HTTP request's method. */
  http_method: string | null;
  /** First HTTP request's Host header. */
  http_host: string | null;
  /** First HTTP request's target (path and query). */
  http_path: string | null;
  /** First HTTP request's User-Agent header. */
  http_user_agent: string | null;
  /** First HTTP response's status code. */
  http_status: number | null;
  /** SSH banner of the originator. */
  ssh_client: string | null;
  /** SSH banner of the responder. */
  ssh_server: string | null;
  /** DHCP client host name. */
  dhcp_hostname: string | null;
  /** Address scope of the originator (`public`, `private`, `cgnat`, …). */
  orig_scope: string | null;
  /** Country of the originator's address. */
  orig_country: string | null;
  /** AS number of the originator's address. */
  orig_asn: number | null;
  /** AS organisation of the originator's address. */
  orig_as_org: string | null;
  /** Address scope of the responder (`public`, `private`, `cgnat`, …). */
  resp_scope: string | null;
  /** Country of the responder's address. */
  resp_country: string | null;
  /** AS number of the responder's address. */
  resp_asn: number | null;
  /** AS organisation of the responder's address. */
  resp_as_org: string | null;
}

/**
 * The application-layer and enrichment columns of a {@linkcode FlowRow}, as
 * SQL (after the flow's own columns): every flow query selects them.
 */
export const FLOW_APP_SELECT = `app_protocol, dns_query, dns_query_count, dns_names, tls_sni,
  tls_alpn, tls_ja3, tls_ja4, http_method, http_host, http_path, http_user_agent, http_status,
  ssh_client, ssh_server, dhcp_hostname, orig_scope, orig_country, orig_asn, orig_as_org,
  resp_scope, resp_country, resp_asn, resp_as_org`;

/**
 * The name a flow is known by: the TLS/QUIC server name, the HTTP host, the
 * first DNS name, or the DHCP host name; null when none is known.
 */
export function flowName(
  flow: Pick<FlowRow, "tls_sni" | "http_host" | "dns_query" | "dhcp_hostname">,
): string | null {
  return flow.tls_sni ?? flow.http_host ?? flow.dns_query ?? flow.dhcp_hostname ?? null;
}

/** The N most recently active flows (by `last_seen`, newest first). */
export async function lastFlows(sql: Sql, count: number): Promise<FlowRow[]> {
  return await sql<FlowRow[]>`
    select id, flow_uid, community_id, agent, tunnel_type, tunnel_id,
      host(orig_ip) as orig_ip, orig_port,
      host(resp_ip) as resp_ip, resp_port, protocol, vlan, first_seen, last_seen,
      last_seen - first_seen as duration, orig_packets, resp_packets, orig_bytes, resp_bytes,
      state, close_reason, conn_state, label, score, model_version, ${sql.unsafe(FLOW_APP_SELECT)}
    from traffic_data
    order by last_seen desc, id desc
    limit ${count}`;
}

/** Number of flows stored. */
export async function countFlows(sql: Sql): Promise<number> {
  const [row]: [{ n: number }] = await sql`select count(*)::int8 as n from traffic_data`;
  return row.n;
}
