/**
 * The names flows carry (TLS or QUIC server name, HTTP Host, DNS query
 * name), gathered per host or per service for the dashboard and the host
 * page, so an address or a port shows what it was reached as.
 *
 * Each key looks at a bounded sample of its flows in the range: its newest
 * flows that carry a name, found through a partial index of the named flows
 * by `resp_ip` or `resp_port` and `last_seen` (migration 021), so the scan
 * starts at the range's newest flow and stops at the sample's size. Not all
 * of them: a busy server has hundreds of thousands, and the page needs its
 * few commonest names, not a census.
 *
 * @module
 */
import type postgres from "postgres";
import type { Sql } from "./open_database.ts";

/** Names per key, commonest first. */
export type NameMap = Map<string, string[]>;

/** Options for {@link hostNames} and {@link serviceNames}. */
export interface FlowNamesOptions {
  /** Flows whose `last_seen` is at or after this, epoch seconds. */
  fromSec: number;
  /** Flows whose `first_seen` is before this, epoch seconds. */
  toSec: number;
  /** Names per key. @default 3 */
  names?: number;
  /** Named flows looked at per key, the newest first. @default 2000 */
  sample?: number;
  /** Only flows from this originator (a host's services used). @default null */
  origIp?: string | null;
  /** Only flows to this responder (a host's services offered). @default null */
  respIp?: string | null;
}

/** `protocol/port`, the key of {@link serviceNames}. */
export function serviceKey(protocol: string, port: number): string {
  return `${port}/${protocol}`;
}

/**
 * The names clients used for these addresses as servers: the TLS or QUIC
 * server name, else the HTTP Host, of flows to them. (A DNS query names what
 * is asked about, not the server asked, so it is left out here.)
 */
export async function hostNames(
  sql: Sql,
  ips: readonly string[],
  options: FlowNamesOptions,
): Promise<NameMap> {
  if (ips.length === 0) return new Map();
  return await sampledNames(sql, options, {
    keys: sql`unnest(${ips as string[]}::inet[]) as k (ip)`,
    key: sql`host(k.ip)`,
    name: sql`coalesce(tls_sni, http_host)`,
    match: sql`resp_ip = k.ip`,
  });
}

/**
 * The names flows to these services (protocol and responder port) carried:
 * the TLS or QUIC server name, the HTTP Host or the DNS query name.
 */
export async function serviceNames(
  sql: Sql,
  services: readonly { protocol: string; port: number }[],
  options: FlowNamesOptions,
): Promise<NameMap> {
  if (services.length === 0) return new Map();
  return await sampledNames(sql, options, {
    keys: sql`unnest(${services.map((s) => s.protocol)}::text[],
      ${services.map((s) => s.port)}::int[]) as k (protocol, port)`,
    key: sql`k.port || '/' || k.protocol`,
    name: sql`coalesce(tls_sni, http_host, dns_query)`,
    match: sql`resp_port = k.port and protocol = k.protocol`,
  });
}

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** What {@link sampledNames} groups by: the keys (a `from` item `k`), and how a flow matches one. */
interface NameSource {
  /** The keys as a `from` item named `k`. */
  keys: Fragment;
  /** A key's text, from `k`. */
  key: Fragment;
  /**
   * A flow's name, from `traffic_data`; as written in the predicate of the
   * partial index that serves the key (migration 021), so the planner uses it.
   */
  name: Fragment;
  /** The condition a flow of key `k` meets, answered by an index. */
  match: Fragment;
}

/** Each key's commonest names among a bounded sample of its flows in the range. */
async function sampledNames(
  sql: Sql,
  options: FlowNamesOptions,
  source: NameSource,
): Promise<NameMap> {
  const rows = await sql<{ key: string; name: string; flows: number }[]>`
    select ${source.key} as key, n.name, n.flows::int8 as flows
    from ${source.keys},
      lateral (
        select name, count(*) as flows
        from (
          select ${source.name} as name from traffic_data
          where ${source.match} and ${source.name} is not null
            and last_seen >= ${options.fromSec}::float8 and first_seen < ${options.toSec}::float8
            ${options.origIp == null ? sql`` : sql`and orig_ip = ${options.origIp}::inet`}
            ${options.respIp == null ? sql`` : sql`and resp_ip = ${options.respIp}::inet`}
          order by last_seen desc, id desc
          limit ${options.sample ?? 2000}
        ) as sample
        group by name order by flows desc, name limit ${options.names ?? 3}
      ) as n`;
  return collect(rows);
}

function collect(rows: readonly { key: string; name: string; flows: number }[]): NameMap {
  const names: NameMap = new Map();
  const sorted = [...rows].sort((a, b) =>
    Number(b.flows) - Number(a.flows) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
  for (const row of sorted) {
    const list = names.get(row.key);
    if (list) list.push(row.name);
    else names.set(row.key, [row.name]);
  }
  return names;
}
