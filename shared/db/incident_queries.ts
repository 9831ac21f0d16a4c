/**
 * Reading and acknowledging incidents (built by the aggregator, see
 * `incident_store.ts`): the list behind `GET /api/alerts` and `/alerts`, the
 * newest few for the dashboard, and the acknowledgement.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { pgArrayLiteral } from "./pg_array_literal.ts";

/** One incident as the API returns it. */
export interface IncidentRow {
  /** The incident's id. */
  id: number;
  /** The predicted class of its flows. */
  label: string;
  /** `source`: its flows come from `key_ip`; `target`: they go to `key_ip`. */
  key_kind: "source" | "target";
  /** The address its flows share (see `key_kind`). */
  key_ip: string;
  /** Flows in the incident. */
  flow_count: number;
  /** Distinct responder ports of its flows. */
  port_count: number;
  /** Distinct targets (responders) of its flows. */
  target_count: number;
  /** Distinct sources (originators) of its flows. */
  source_count: number;
  /** Packet time of its first flow activity, epoch seconds. */
  first_seen: number;
  /** Packet time of its last flow activity, epoch seconds. */
  last_seen: number;
  /** The highest score of its flows (calibrated probability of an attack). */
  max_score: number;
  /** The ALERT_MIN_SCORE it was built with. */
  min_score: number;
  /** `open` until acknowledged. */
  state: "open" | "acknowledged";
  /** When it was acknowledged (ISO 8601), or null. */
  acknowledged_at: string | null;
}

/** Where a page of incidents ended: the last row's `last_seen` and id. */
export interface IncidentCursor {
  /** The last row's `last_seen`, epoch seconds. */
  lastSeen: number;
  /** The last row's id. */
  id: number;
}

/** Filters of {@link searchIncidents}; every one optional. */
export interface IncidentFilter {
  /** Only incidents in this state. */
  state?: "open" | "acknowledged" | null;
  /** Any of these classes. */
  labels?: string[] | null;
  /**
   * An address or CIDR: the incident's key address, or either end of one of
   * its flows (so a scanned host finds the scan keyed by its scanner).
   */
  ip?: string | null;
  /** Active at or after this (its `last_seen`), epoch seconds. */
  fromSec?: number | null;
  /** Active at or before this (its `first_seen`), epoch seconds. */
  toSec?: number | null;
}

/** Options for {@link searchIncidents}. */
export interface SearchIncidentsOptions {
  /** Which incidents. @default all */
  filter?: IncidentFilter;
  /** Rows per page. @default 100 */
  limit?: number;
  /** Continue after this row. @default none */
  cursor?: IncidentCursor | null;
}

/** A page of incidents, newest activity first. */
export interface IncidentPage {
  /** This page's incidents, newest activity first. */
  incidents: IncidentRow[];
  /** The cursor of the next page, or null on the last. */
  next: IncidentCursor | null;
}

const columns = (sql: Sql) =>
  sql`id, label, key_kind, host(key_ip) as key_ip, flow_count, port_count, target_count,
    source_count, first_seen, last_seen, max_score,
    round(min_score::numeric, 6)::float8 as min_score, state,
    to_char(acknowledged_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      as acknowledged_at`;

/** Incidents matching a filter, newest activity first (`last_seen`, then id), keyset-paginated. */
export async function searchIncidents(
  sql: Sql,
  options: SearchIncidentsOptions = {},
): Promise<IncidentPage> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new RangeError(
      `Cannot list incidents as 'limit' must be an integer 1..1000: current value is ${limit}`,
    );
  }
  const filter = options.filter ?? {};
  const parts = [sql`true`];
  if (filter.state != null) parts.push(sql`state = ${filter.state}`);
  if (filter.labels != null && filter.labels.length > 0) {
    parts.push(sql`label = any(${pgArrayLiteral(filter.labels)}::text[])`);
  }
  if (filter.ip != null) {
    parts.push(sql`(key_ip <<= ${filter.ip}::inet or exists (
      select 1 from incident_flows m join traffic_data t on t.flow_uid = m.flow_uid
      where m.incident_id = incidents.id
        and (t.orig_ip <<= ${filter.ip}::inet or t.resp_ip <<= ${filter.ip}::inet)))`);
  }
  if (filter.fromSec != null) parts.push(sql`last_seen >= ${filter.fromSec}::float8`);
  if (filter.toSec != null) parts.push(sql`first_seen <= ${filter.toSec}::float8`);
  const cursor = options.cursor ?? null;
  if (cursor !== null) {
    parts.push(sql`(last_seen, id) < (${cursor.lastSeen}::float8, ${cursor.id}::int8)`);
  }
  const where = parts.reduce((all, part) => sql`${all} and ${part}`);
  const rows = await sql<IncidentRow[]>`
    select ${columns(sql)} from incidents where ${where}
    order by last_seen desc, id desc limit ${limit + 1}`;
  const more = rows.length > limit;
  const incidents = more ? rows.slice(0, limit) : [...rows];
  const last = incidents.at(-1);
  return {
    incidents,
    next: more && last ? { lastSeen: last.last_seen, id: last.id } : null,
  };
}

/** Options for {@link newestIncidents}. */
export interface NewestIncidentsOptions {
  /** Most incidents. @default 10 */
  limit?: number;
  /** Only open ones. @default false */
  openOnly?: boolean;
}

/**
 * The incidents with the newest activity, for a dashboard panel.
 *
 * @example
 * ```ts
 * const incidents = await newestIncidents(sql, { limit: 5, openOnly: true });
 * ```
 */
export async function newestIncidents(
  sql: Sql,
  options: NewestIncidentsOptions = {},
): Promise<IncidentRow[]> {
  const page = await searchIncidents(sql, {
    limit: options.limit ?? 10,
    filter: { state: options.openOnly ? "open" : null },
  });
  return page.incidents;
}

/** Counts the open incidents (a dashboard headline number). */
export async function countOpenIncidents(sql: Sql): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from incidents where state = 'open'`;
  return row.count;
}

/** One incident by id, or null. */
export async function readIncident(sql: Sql, id: number): Promise<IncidentRow | null> {
  const [row]: [IncidentRow?] = await sql`select ${columns(sql)} from incidents where id = ${id}`;
  return row ?? null;
}

/**
 * Acknowledges an incident: it takes no new flows from then on (a resumed
 * attack opens a new incident). Acknowledging one twice keeps the first
 * time. Returns the incident, or null when there is none with that id.
 */
export async function acknowledgeIncident(sql: Sql, id: number): Promise<IncidentRow | null> {
  const [row]: [IncidentRow?] = await sql`
    update incidents set
      state = 'acknowledged',
      acknowledged_at = coalesce(acknowledged_at, now()),
      updated_at = now()
    where id = ${id}
    returning ${columns(sql)}`;
  return row ?? null;
}
