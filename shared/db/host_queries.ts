/**
 * A host's side of the flows: its peers and the services it uses and offers,
 * over a time range, for the host page (`/hosts/{ip}`).
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { hostNames, serviceKey, serviceNames } from "./flow_names.ts";

/** One peer of a host. */
export interface HostPeerRow {
  /** The peer's address. */
  ip: string;
  /** Flows between the host and the peer in the range. */
  flows: number;
  /** Bytes of those flows, both directions. */
  bytes: number;
  /** Packets of those flows, both directions. */
  packets: number;
  /** Newest `last_seen` of those flows, epoch seconds. */
  last_seen: number;
  /** Names clients reached the peer as (TLS/QUIC server name, HTTP Host), commonest first. */
  names: string[];
}

/** One service (responder port and protocol) a host used or offered. */
export interface HostServiceRow {
  /** Transport protocol: `TCP`, `UDP` or `SCTP`. */
  protocol: string;
  /** The responder's port. */
  port: number;
  /** Flows to the service in the range. */
  flows: number;
  /** Bytes of those flows, both directions. */
  bytes: number;
  /** The other hosts: responders for a service used, clients for one offered. */
  hosts: number;
  /** Newest `last_seen` of those flows, epoch seconds. */
  last_seen: number;
  /** Names those flows carried (server name, HTTP Host, DNS query), commonest first. */
  names: string[];
}

/** What {@link readHostSummary} returns. */
export interface HostSummary {
  /** Flows with the host at either end, in the range. */
  flows: number;
  /** Earliest `first_seen` of those flows, epoch seconds; null when there are none. */
  first_seen: number | null;
  /** Latest `last_seen` of those flows, epoch seconds; null when there are none. */
  last_seen: number | null;
  /** Bytes it sent in those flows. */
  bytes_sent: number;
  /** Bytes it received in those flows. */
  bytes_received: number;
  /** The hosts it talked to, by bytes. */
  peers: HostPeerRow[];
  /** Services on other hosts it connected to. */
  services_used: HostServiceRow[];
  /** Services on this host others connected to. */
  services_offered: HostServiceRow[];
}

/** Options for {@link readHostSummary}. */
export interface ReadHostSummaryOptions {
  /** The host's address. */
  ip: string;
  /** Start of the range (inclusive) for the flows' `last_seen`, epoch seconds. */
  fromSec: number;
  /** End of the range (inclusive) for the flows' `last_seen`, epoch seconds. */
  toSec: number;
  /** Rows per list. @default 20 */
  top?: number;
}

/** A host's peers and services over a time range. */
export async function readHostSummary(
  sql: Sql,
  options: ReadHostSummaryOptions,
): Promise<HostSummary> {
  const { ip, fromSec, toSec } = options;
  const top = options.top ?? 20;
  const range = sql`last_seen >= ${fromSec}::float8 and last_seen <= ${toSec}::float8`;
  const [[totals], peers, used, offered] = await Promise.all([
    sql<
      { flows: number; first: number | null; last: number | null; sent: number; received: number }[]
    >`
      select count(*)::int8 as flows, min(first_seen) as first, max(last_seen) as last,
        coalesce(sum(case when orig_ip = ${ip}::inet then orig_bytes else 0 end
          + case when resp_ip = ${ip}::inet then resp_bytes else 0 end), 0)::int8 as sent,
        coalesce(sum(case when orig_ip = ${ip}::inet then resp_bytes else 0 end
          + case when resp_ip = ${ip}::inet then orig_bytes else 0 end), 0)::int8 as received
      from traffic_data
      where (orig_ip = ${ip}::inet or resp_ip = ${ip}::inet) and ${range}`,
    sql<Omit<HostPeerRow, "names">[]>`
      select host(peer) as ip, count(*)::int8 as flows, sum(bytes)::int8 as bytes,
        sum(packets)::int8 as packets, max(last_seen) as last_seen
      from (
        select resp_ip as peer, orig_bytes + resp_bytes as bytes,
          orig_packets + resp_packets as packets, last_seen
          from traffic_data where orig_ip = ${ip}::inet and resp_ip is not null and ${range}
        union all
        select orig_ip, orig_bytes + resp_bytes, orig_packets + resp_packets, last_seen
          from traffic_data where resp_ip = ${ip}::inet and orig_ip is not null and ${range}
      ) as ends
      where peer <> ${ip}::inet
      group by peer order by bytes desc, flows desc, peer limit ${top}`,
    sql<Omit<HostServiceRow, "names">[]>`
      select protocol, resp_port as port, count(*)::int8 as flows,
        sum(orig_bytes + resp_bytes)::int8 as bytes, count(distinct resp_ip)::int8 as hosts,
        max(last_seen) as last_seen
      from traffic_data
      where orig_ip = ${ip}::inet and resp_port is not null
        and protocol in ('TCP', 'UDP', 'SCTP') and ${range}
      group by protocol, resp_port order by flows desc, bytes desc, port limit ${top}`,
    sql<Omit<HostServiceRow, "names">[]>`
      select protocol, resp_port as port, count(*)::int8 as flows,
        sum(orig_bytes + resp_bytes)::int8 as bytes, count(distinct orig_ip)::int8 as hosts,
        max(last_seen) as last_seen
      from traffic_data
      where resp_ip = ${ip}::inet and resp_port is not null
        and protocol in ('TCP', 'UDP', 'SCTP') and ${range}
      group by protocol, resp_port order by flows desc, bytes desc, port limit ${top}`,
  ]);
  const numbers = <T extends { flows: number }>(rows: T[]) =>
    rows.map((row) => {
      const out = { ...row } as Record<string, unknown>;
      for (const [key, value] of Object.entries(row)) {
        if (typeof value === "bigint" || (key !== "ip" && key !== "protocol")) {
          out[key] = Number(value);
        }
      }
      return out as T;
    });
  const nameRange = { fromSec, toSec: toSec + 1e-6 };
  const [peerNames, usedNames, offeredNames] = await Promise.all([
    hostNames(sql, peers.map((p) => p.ip), nameRange),
    serviceNames(sql, used.map((s) => ({ protocol: s.protocol, port: Number(s.port) })), {
      ...nameRange,
      origIp: ip,
    }),
    serviceNames(sql, offered.map((s) => ({ protocol: s.protocol, port: Number(s.port) })), {
      ...nameRange,
      respIp: ip,
    }),
  ]);
  const withNames = <T extends { protocol: string; port: number }>(
    rows: T[],
    names: Map<string, string[]>,
  ) => rows.map((row) => ({ ...row, names: names.get(serviceKey(row.protocol, row.port)) ?? [] }));
  return {
    flows: Number(totals.flows),
    first_seen: totals.first,
    last_seen: totals.last,
    bytes_sent: Number(totals.sent),
    bytes_received: Number(totals.received),
    peers: numbers(peers).map((peer) => ({ ...peer, names: peerNames.get(peer.ip) ?? [] })),
    services_used: withNames(numbers(used), usedNames),
    services_offered: withNames(numbers(offered), offeredNames),
  };
}
