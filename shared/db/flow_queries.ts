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
    select id, flow_uid, community_id, host(orig_ip) as orig_ip, orig_port,
      host(resp_ip) as resp_ip, resp_port, protocol, vlan, first_seen, last_seen,
      last_seen - first_seen as duration, orig_packets, resp_packets, orig_bytes, resp_bytes,
      state, close_reason, conn_state, label, score, model_version
    from traffic_data
    order by last_seen desc, id desc
    limit ${count}`;
}

/** Options for {@link pageFlows}. */
export interface PageFlowsOptions {
  /** Rows per page. */
  limit: number;
  /** Return flows with `id` below this (the previous page's `next_cursor`); null for the first page. */
  cursor: number | null;
  /**
   * Only the flows with this Community ID (the same conversation as seen by
   * Zeek, Suricata or another sensor); null or absent for all flows.
   */
  communityId?: string | null;
}

/** One page of flows in a stable order (newest id first) and the cursor of the next page. */
export interface FlowPage {
  flows: FlowRow[];
  next_cursor: number | null;
}

/**
 * Keyset pagination over all flows, newest first. Keyset (not OFFSET) keeps
 * pages stable while the aggregator inserts: a page never repeats or skips a
 * flow that existed when the first page was read.
 */
export async function pageFlows(
  sql: Sql,
  options: PageFlowsOptions,
): Promise<FlowPage> {
  const rows = await sql<FlowRow[]>`
    select id, flow_uid, community_id, host(orig_ip) as orig_ip, orig_port,
      host(resp_ip) as resp_ip, resp_port, protocol, vlan, first_seen, last_seen,
      last_seen - first_seen as duration, orig_packets, resp_packets, orig_bytes, resp_bytes,
      state, close_reason, conn_state, label, score, model_version
    from traffic_data
    where ${options.cursor === null ? sql`true` : sql`id < ${options.cursor}`}
      and ${options.communityId == null ? sql`true` : sql`community_id = ${options.communityId}`}
    order by id desc
    limit ${options.limit + 1}`;
  const more = rows.length > options.limit;
  const flows = more ? rows.slice(0, options.limit) : [...rows];
  return { flows, next_cursor: more ? flows.at(-1)!.id : null };
}

/** Number of flows stored. */
export async function countFlows(sql: Sql): Promise<number> {
  const [row]: [{ n: number }] = await sql`select count(*)::int8 as n from traffic_data`;
  return row.n;
}
