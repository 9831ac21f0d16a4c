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
}

/** The N most recently active flows (by `last_seen`, newest first). */
export async function lastFlows(sql: Sql, count: number): Promise<FlowRow[]> {
  return await sql<FlowRow[]>`
    select id, flow_uid, community_id, host(orig_ip) as orig_ip, orig_port,
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
