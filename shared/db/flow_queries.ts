/**
 * Read queries over `traffic_data` for the web pages and the JSON API.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";

/** One aggregated flow as the API returns it. Times are epoch seconds. */
export interface FlowRow {
  id: number;
  flow_uid: string;
  community_id: string | null;
  /** The agent (sensor) whose packets made the flow; null for flows stored before flows had one. */
  agent: string | null;
  /** The tunnel the flow was keyed on (`vxlan`, `geneve`, `gre`, `erspan`, `pppoe`), or null. */
  tunnel_type: string | null;
  /** That tunnel's id: VNI, GRE key, ERSPAN or PPPoE session; null without one. */
  tunnel_id: number | null;
  orig_ip: string | null;
  orig_port: number | null;
  resp_ip: string | null;
  resp_port: number | null;
  protocol: string;
  vlan: number | null;
  first_seen: number;
  last_seen: number;
  duration: number;
  orig_packets: number;
  resp_packets: number;
  orig_bytes: number;
  resp_bytes: number;
  state: "active" | "closed";
  close_reason: string | null;
  conn_state: string | null;
  label: string | null;
  score: number | null;
  model_version: string | null;
}

/** The N most recently active flows (by `last_seen`, newest first). */
export async function lastFlows(sql: Sql, count: number): Promise<FlowRow[]> {
  return await sql<FlowRow[]>`
    select id, flow_uid, community_id, agent, tunnel_type, tunnel_id,
      host(orig_ip) as orig_ip, orig_port,
      host(resp_ip) as resp_ip, resp_port, protocol, vlan, first_seen, last_seen,
      last_seen - first_seen as duration, orig_packets, resp_packets, orig_bytes, resp_bytes,
      state, close_reason, conn_state, label, score, model_version
    from traffic_data
    order by last_seen desc, id desc
    limit ${count}`;
}

/** Number of flows stored. */
export async function countFlows(sql: Sql): Promise<number> {
  const [row]: [{ n: number }] = await sql`select count(*)::int8 as n from traffic_data`;
  return row.n;
}
