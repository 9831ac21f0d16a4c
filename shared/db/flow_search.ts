/**
 * Flow search: the filters of `GET /api/alltraffic` and `/alltraffic_page`
 * turned into one postgres.js query, with keyset pagination that stays
 * stable under every sort order.
 *
 * Keyset pagination: a page ends at a row whose (sort key, id) the cursor
 * records; the next page takes the rows strictly after that pair in the same
 * order. Unlike OFFSET, a flow the aggregator inserts or updates while a
 * user pages neither shifts the pages nor repeats a row already shown,
 * whichever key is sorted on, because `id` breaks every tie.
 *
 * @module
 */
import type postgres from "postgres";
import type { Sql } from "./open_database.ts";
import { FLOW_APP_SELECT, type FlowRow } from "./flow_queries.ts";
import { pgArrayLiteral } from "./pg_array_literal.ts";

/** What a page can be sorted by. */
export const FLOW_SORTS = ["last_seen", "bytes", "packets", "score", "duration"] as const;
/** One of {@link FLOW_SORTS}. */
export type FlowSort = typeof FLOW_SORTS[number];

/** Filters on flows; every one optional, all of them combined with AND. */
export interface FlowFilter {
  /** An address or CIDR (`10.0.0.0/8`, `2001:db8::/32`) matching either end. */
  ip?: string | null;
  /** An address or CIDR the originator must be in. */
  origIp?: string | null;
  /** An address or CIDR the responder must be in. */
  respIp?: string | null;
  /** A port at either end. */
  port?: number | null;
  /** The responder's port. */
  respPort?: number | null;
  /** Protocol name, compared without regard to case (`tcp` finds `TCP`). */
  protocol?: string | null;
  /** Any of these labels. */
  labels?: string[] | null;
  /** Score at least this (0–1); flows without a score do not match. */
  minScore?: number | null;
  /** `active` or `closed`. */
  state?: "active" | "closed" | null;
  /** Community ID, exactly. */
  communityId?: string | null;
  /** The agent (sensor) that captured the flow, exactly. */
  agent?: string | null;
  /** `last_seen` at or after this, epoch seconds. */
  fromSec?: number | null;
  /** `last_seen` at or before this, epoch seconds. */
  toSec?: number | null;
  /**
   * A name matching the TLS/QUIC server name, the HTTP host (without its
   * port) or the first DNS question, without regard to case;
   * `*.example.com` matches every name below example.com.
   */
  host?: string | null;
  /** JA4 client fingerprint, exactly. */
  ja4?: string | null;
  /** Application protocol recognised (`tls`, `quic`, `http`, `ssh`, `dns`, …). */
  app?: string | null;
  /** ISO country code (upper case) of either end. */
  country?: string | null;
  /** AS number of either end. */
  asn?: number | null;
}

/** Where the previous page ended: its last row's sort key and id. */
export interface FlowCursor {
  /** The sort this cursor belongs to. */
  sort: FlowSort;
  /** The order this cursor belongs to. */
  order: "asc" | "desc";
  /** The last row's sort key. */
  key: number;
  /** The last row's id. */
  id: number;
}

/** Options for {@link searchFlows}. */
export interface SearchFlowsOptions {
  /** Filters. */
  filter: FlowFilter;
  /** Sort key. @default "last_seen" */
  sort?: FlowSort;
  /** Order. @default "desc" */
  order?: "asc" | "desc";
  /** Rows to return. */
  limit: number;
  /** Continue after this row; null for the first page. */
  cursor?: FlowCursor | null;
}

/** One page of a search. */
export interface FlowSearchPage {
  /** The flows, in the requested order. */
  flows: FlowRow[];
  /** Where the next page starts, or null when this was the last. */
  next: FlowCursor | null;
}

/**
 * The sort keys as SQL, each never null (a flow without a score sorts as
 * -1) and cast so a cursor value compares exactly: `score` is `real`, and a
 * `real` compared with a double parameter would be widened and never equal.
 */
function sortKey(sql: Sql, sort: FlowSort) {
  switch (sort) {
    case "last_seen":
      return { expr: sql`last_seen`, cast: (v: number) => sql`${v}::float8` };
    case "bytes":
      return { expr: sql`(orig_bytes + resp_bytes)`, cast: (v: number) => sql`${v}::int8` };
    case "packets":
      return { expr: sql`(orig_packets + resp_packets)`, cast: (v: number) => sql`${v}::int8` };
    case "score":
      return { expr: sql`coalesce(score, -1::real)`, cast: (v: number) => sql`${v}::real` };
    case "duration":
      return { expr: sql`(last_seen - first_seen)`, cast: (v: number) => sql`${v}::float8` };
  }
}

/**
 * A host name against each of the flow's names, one condition per name:
 * exact (case-insensitive), or with a leading `*.` every name ending in `.`
 * and the rest. Each compares the reversed lower-case name, the expression
 * migration 024 indexes, so an exact name is an index lookup and a suffix
 * is an index range (a LIKE prefix of the reversed name): `lower(n) = h`
 * holds exactly when `reverse(lower(n)) = reverse(h)`, and `lower(n)` ends
 * with `s` exactly when `reverse(lower(n))` starts with `reverse(s)`. LIKE's
 * own wildcards in the name are escaped, so `_` matches only `_`.
 */
function hostConditions(sql: Sql, host: string) {
  const lower = host.toLowerCase();
  const names = [
    sql`reverse(lower(tls_sni))`,
    sql`reverse(lower(regexp_replace(http_host, ':[0-9]+$', '')))`,
    sql`reverse(lower(dns_query))`,
  ];
  if (lower.startsWith("*.")) {
    // By code point, as PostgreSQL's reverse() goes by character.
    const reversed = [...lower.slice(1)].reverse().join("");
    const prefix = reversed.replace(/[\\%_]/g, (c) => "\\" + c) + "%";
    return names.map((name) => sql`${name} like ${prefix}`);
  }
  return names.map((name) => sql`${name} = reverse(${lower}::text)`);
}

/** The WHERE conditions of a filter, joined with AND. */
export function flowFilterSql(
  sql: Sql,
  filter: FlowFilter,
): postgres.PendingQuery<postgres.Row[]> {
  const parts = [sql`true`];
  if (filter.ip != null) {
    parts.push(sql`(orig_ip <<= ${filter.ip}::inet or resp_ip <<= ${filter.ip}::inet)`);
  }
  if (filter.origIp != null) parts.push(sql`orig_ip <<= ${filter.origIp}::inet`);
  if (filter.respIp != null) parts.push(sql`resp_ip <<= ${filter.respIp}::inet`);
  if (filter.port != null) {
    parts.push(sql`(orig_port = ${filter.port}::int or resp_port = ${filter.port}::int)`);
  }
  if (filter.respPort != null) parts.push(sql`resp_port = ${filter.respPort}::int`);
  if (filter.protocol != null) parts.push(sql`upper(protocol) = upper(${filter.protocol})`);
  if (filter.labels != null && filter.labels.length > 0) {
    parts.push(sql`label = any(${pgArrayLiteral(filter.labels)}::text[])`);
  }
  if (filter.minScore != null) parts.push(sql`score >= ${filter.minScore}::real`);
  if (filter.state != null) parts.push(sql`state = ${filter.state}`);
  if (filter.communityId != null) parts.push(sql`community_id = ${filter.communityId}`);
  if (filter.agent != null) parts.push(sql`agent = ${filter.agent}`);
  if (filter.fromSec != null) parts.push(sql`last_seen >= ${filter.fromSec}::float8`);
  if (filter.toSec != null) parts.push(sql`last_seen <= ${filter.toSec}::float8`);
  if (filter.host != null) {
    const [sni, httpHost, dnsQuery] = hostConditions(sql, filter.host);
    parts.push(sql`(${sni} or ${httpHost} or ${dnsQuery})`);
  }
  if (filter.ja4 != null) parts.push(sql`tls_ja4 = ${filter.ja4}`);
  if (filter.app != null) parts.push(sql`app_protocol = ${filter.app}`);
  if (filter.country != null) {
    parts.push(sql`(orig_country = ${filter.country} or resp_country = ${filter.country})`);
  }
  if (filter.asn != null) {
    parts.push(sql`(orig_asn = ${filter.asn}::int8 or resp_asn = ${filter.asn}::int8)`);
  }
  return parts.reduce((all, part) => sql`${all} and ${part}`);
}

/** A row of {@link flowSearchQuery}: the flow and the key it is sorted by. */
export type FlowSearchRow = FlowRow & { sort_key: number };

/**
 * The query behind {@link searchFlows}: the page's flows in order with their
 * sort keys, one more than the limit so the caller learns whether another
 * page follows. Unexecuted, so a test can EXPLAIN the very query the API runs.
 *
 * A host search newest first is a union of three searches, one per name
 * (server name, HTTP host, DNS question), each taking its first
 * limit + 1 rows, which the outer query merges and cuts again. With the
 * three names ORed in one WHERE, PostgreSQL 15 walks the last_seen index
 * until it has found the page, whatever indexes the names have: at 1 M flows
 * that is every flow (1.5–2.4 s) for a name that is rare or absent. Apart,
 * each arm is priced on its own name, so it reads that name's index (a rare
 * name) or walks last_seen (a common one). The rows are the same: in an
 * order that `id` makes total, each of the first n matching flows is among
 * the first n of every name it matches. Other sorts keep the OR, which the
 * planner answers with one bitmap scan of the three name indexes; a union
 * there would sort each arm's matches apart, three times the work for a
 * common name.
 */
export function flowSearchQuery(
  sql: Sql,
  options: SearchFlowsOptions,
): postgres.PendingQuery<FlowSearchRow[]> {
  const sort = options.sort ?? "last_seen";
  const order = options.order ?? "desc";
  const cursor = options.cursor ?? null;
  if (cursor !== null && (cursor.sort !== sort || cursor.order !== order)) {
    throw new RangeError(
      `Cannot continue a ${cursor.sort} ${cursor.order} cursor in a ${sort} ${order} search`,
    );
  }
  const { expr, cast } = sortKey(sql, sort);
  const after = cursor === null
    ? sql`true`
    : order === "desc"
    ? sql`(${expr}, id) < (${cast(cursor.key)}, ${cursor.id}::int8)`
    : sql`(${expr}, id) > (${cast(cursor.key)}, ${cursor.id}::int8)`;
  const orderBy = order === "desc" ? sql`${expr} desc, id desc` : sql`${expr} asc, id asc`;
  const rows = options.limit + 1;
  const select = sql`
    select id, flow_uid, community_id, agent, tunnel_type, tunnel_id,
      host(orig_ip) as orig_ip, orig_port,
      host(resp_ip) as resp_ip, resp_port, protocol, vlan, first_seen, last_seen,
      last_seen - first_seen as duration, orig_packets, resp_packets, orig_bytes, resp_bytes,
      state, close_reason, conn_state, label, score, model_version,
      ${sql.unsafe(FLOW_APP_SELECT)}, ${expr} as sort_key
    from traffic_data`;
  const host = options.filter.host;
  if (host != null && sort === "last_seen") {
    const others = flowFilterSql(sql, { ...options.filter, host: null });
    const [sni, httpHost, dnsQuery] = hostConditions(sql, host).map((name) =>
      sql`(select id from traffic_data where ${others} and ${name} and ${after}
        order by ${orderBy} limit ${rows})`
    );
    return sql<FlowSearchRow[]>`${select}
      where id in (${sni} union all ${httpHost} union all ${dnsQuery})
      order by ${orderBy}
      limit ${rows}`;
  }
  return sql<FlowSearchRow[]>`${select}
    where ${flowFilterSql(sql, options.filter)} and ${after}
    order by ${orderBy}
    limit ${rows}`;
}

/** One page of the flows that match a filter, in a stable order, and where the next starts. */
export async function searchFlows(sql: Sql, options: SearchFlowsOptions): Promise<FlowSearchPage> {
  const sort = options.sort ?? "last_seen";
  const order = options.order ?? "desc";
  const rows = await flowSearchQuery(sql, options);
  const more = rows.length > options.limit;
  const page = more ? rows.slice(0, options.limit) : rows;
  const last = page.at(-1);
  const flows = page.map(({ sort_key: _, ...flow }) => flow as FlowRow);
  return {
    flows,
    next: more && last ? { sort, order, key: Number(last.sort_key), id: last.id } : null,
  };
}

/**
 * How many flows match, counting no further than `atMost` (an export says
 * whether it was cut off without counting a million rows).
 */
export async function countFlowsUpTo(
  sql: Sql,
  filter: FlowFilter,
  atMost: number,
): Promise<number> {
  const [row]: [{ n: number }] = await sql`
    select count(*)::int8 as n from (
      select 1 from traffic_data where ${flowFilterSql(sql, filter)} limit ${atMost}
    ) as matching`;
  return row.n;
}
