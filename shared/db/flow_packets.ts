/**
 * Finding the stored raw packets of flows, for pcap export.
 *
 * `raw_packets` has no flow id: a flow is matched by its key, as the flow
 * table built it (shared/flow/flow_table.ts): its two endpoints in either
 * direction (ports, or ICMP types for ICMP), IP protocol and VLAN ids, the
 * agent that captured it and the tunnel it was keyed on (flows stored
 * before flows had an agent match any agent), and its time span, `first_seen` to `last_seen` on packet time. Non-first IP
 * fragments carry no ports; they belong to the flow whose first fragment
 * (same addresses, protocol and IP id, in the same span) does. The time
 * span goes through the BRIN index on `timestamp` of each partition, which
 * is what keeps this cheap: packets are stored roughly in capture order, so
 * a flow's span covers a few block ranges.
 *
 * Known limit: two flows of one key at once are told apart by time only;
 * ICMP echo flows with the same hosts and types but different identifiers
 * that overlap in time both match. Callers compare the count with the flow's
 * `orig_packets + resp_packets` and say so when they differ.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import type { RawPacketRow } from "./raw_packet_queries.ts";
import { type FlowFilter, flowFilterSql } from "./flow_search.ts";

/** What a pcap export needs to know about a flow. */
export interface FlowKeyRow {
  /** Row id. */
  id: number;
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
  /** IP protocol number, or null for a flow without IP. */
  ip_proto: number | null;
  /** Outer VLAN id, or null when untagged. */
  vlan: number | null;
  /** Inner (second) VLAN id, or null. */
  vlan_inner: number | null;
  /** The capturing agent; null (flows stored before) matches any. */
  agent: string | null;
  /** The tunnel the flow was keyed on, or null. */
  tunnel_type: string | null;
  /** That tunnel's id, or null. */
  tunnel_id: number | null;
  /** Capture time of the first packet, epoch seconds. */
  first_seen: number;
  /** Capture time of the last packet, epoch seconds. */
  last_seen: number;
  /** Packets from the originator. */
  orig_packets: number;
  /** Packets from the responder. */
  resp_packets: number;
  /** When the aggregator last wrote the flow (to tell retention from absence). */
  updated_at: Date;
}

/** A raw packet as exported: its record, the bytes (null when none were stored) and its order key. */
export type ExportPacketRow = RawPacketRow & { bytes: Uint8Array | null };

/** The flow with this id, or null. */
export async function readFlowKey(sql: Sql, id: number): Promise<FlowKeyRow | null> {
  const [row]: [FlowKeyRow?] = await sql`
    select id, host(orig_ip) as orig_ip, orig_port, host(resp_ip) as resp_ip, resp_port,
      protocol, ip_proto, vlan, vlan_inner, agent, tunnel_type, tunnel_id, first_seen, last_seen,
      orig_packets, resp_packets, updated_at
    from traffic_data where id = ${id}`;
  return row ?? null;
}

/**
 * The condition "raw packet `r` belongs to flow `f`", over the columns of
 * `raw_packets r` and of a row `f` with `traffic_data`'s key columns.
 */
function packetOfFlowSql(sql: Sql) {
  return sql`
    r."timestamp" between f.first_seen and f.last_seen
    and r.vlan_id is not distinct from f.vlan
    and r.vlan_inner_id is not distinct from f.vlan_inner
    and r.ip_proto is not distinct from f.ip_proto
    and (f.agent is null or r.agent_id = f.agent)
    and (case when f.tunnel_type is null
      -- Untunnelled, or in a tunnel that keys no flow (MPLS, GTP-U, IP-in-IP).
      then r.tunnel_type is null
        or r.tunnel_type not in ('vxlan', 'geneve', 'gre', 'erspan', 'pppoe')
      else r.tunnel_type = f.tunnel_type and r.tunnel_id is not distinct from f.tunnel_id end)
    and (f.ip_proto is not null or r.protocol = f.protocol)
    and (
      (r.src_ip = f.orig_ip and r.dst_ip = f.resp_ip and (
        (f.ip_proto in (1, 58) and r.icmp_type = f.orig_port)
        or (f.ip_proto is distinct from 1 and f.ip_proto is distinct from 58
          and not r.is_fragment
          and r.src_port is not distinct from f.orig_port
          and r.dst_port is not distinct from f.resp_port)))
      or (r.src_ip = f.resp_ip and r.dst_ip = f.orig_ip and (
        (f.ip_proto in (1, 58) and r.icmp_type = f.resp_port)
        or (f.ip_proto is distinct from 1 and f.ip_proto is distinct from 58
          and not r.is_fragment
          and r.src_port is not distinct from f.resp_port
          and r.dst_port is not distinct from f.orig_port)))
      or (r.is_fragment and f.orig_port is not null and exists (
        select 1 from raw_packets h
        where h."timestamp" between f.first_seen and f.last_seen
          and h.src_ip = r.src_ip and h.dst_ip = r.dst_ip and h.ip_proto = r.ip_proto
          and h.ip_id = r.ip_id and h.more_fragments and coalesce(h.frag_offset, 0) = 0
          and ((h.src_ip = f.orig_ip and h.src_port = f.orig_port and h.dst_port = f.resp_port)
            or (h.src_ip = f.resp_ip and h.src_port = f.resp_port and h.dst_port = f.orig_port))))
    )`;
}

const PACKET_COLUMNS = (sql: Sql) =>
  sql`r.id, r.batch_id, r.agent_id, r.received_at, r."timestamp", r.interface,
    host(r.src_ip) as src_ip, host(r.dst_ip) as dst_ip, r.protocol, r.src_port, r.dst_port,
    r.length, r.caplen, r.link_type, r.eth_src, r.eth_dst, r.ether_type, r.vlan_id,
    r.vlan_inner_id, r.ip_version, r.ip_proto, r.ttl, r.ip_id, r.ip_tos, r.ip_header_length,
    r.ip_flow_label, r.frag_offset, r.more_fragments, r.dont_fragment, r.is_fragment, r.tcp_seq,
    r.tcp_ack, r.tcp_flags, r.tcp_window, r.tcp_header_length, r.icmp_type, r.icmp_code,
    r.icmp_id, r.icmp_seq, r.arp_opcode, r.tunnel_type, host(r.tunnel_src_ip) as tunnel_src_ip,
    host(r.tunnel_dst_ip) as tunnel_dst_ip, r.tunnel_id, r.tunnel_depth, r.payload_length,
    r.malformed, r.malformed_reason,
    r.app_protocol, r.dns_query, r.dns_qtype, r.dns_rcode, r.dns_answers, r.dns_cnames, r.dns_ttl,
    r.dns_names, r.tls_sni, r.tls_alpn, r.tls_versions, r.tls_ja3, r.tls_ja4, r.tls_version,
    r.tls_cipher, r.http_method, r.http_host, r.http_path, r.http_user_agent, r.http_status,
    r.ssh_banner, r.dhcp_hostname, host(r.dhcp_requested_ip) as dhcp_requested_ip, r.data as bytes`;

/** Which packets an export takes: one flow's, or a time range's with a filter. */
export type PacketSelection =
  | { kind: "flow"; flow: FlowKeyRow }
  | {
    kind: "range";
    /** Packet time range, epoch seconds, both ends included. */
    fromSec: number;
    toSec: number;
    /** Filters on the flows whose packets are wanted; null: every packet in the range. */
    flowFilter: FlowFilter | null;
    /** Packet-level filters applied to the packets themselves (no flow needed). */
    packetFilter: {
      ip: string | null;
      port: number | null;
      protocol: string | null;
      /** The agent that captured the packets (`raw_packets.agent_id`). */
      agent?: string | null;
    };
  };

/** Flows a range export may draw from; more is refused as too broad. */
export const PCAP_EXPORT_MAX_FLOWS = 100_000;

function selectionSql(sql: Sql, selection: PacketSelection) {
  if (selection.kind === "flow") {
    // The flow's key as constants, so the planner sees the time span and
    // reaches the packets through the timestamp BRIN indexes.
    const k = selection.flow;
    return {
      from: sql`raw_packets r, (select ${k.orig_ip}::inet as orig_ip,
        ${k.orig_port}::int as orig_port, ${k.resp_ip}::inet as resp_ip,
        ${k.resp_port}::int as resp_port, ${k.protocol}::text as protocol,
        ${k.ip_proto}::smallint as ip_proto, ${k.vlan}::int as vlan,
        ${k.vlan_inner}::int as vlan_inner, ${k.agent}::text as agent,
        ${k.tunnel_type}::text as tunnel_type, ${k.tunnel_id}::int8 as tunnel_id,
        ${k.first_seen}::float8 as first_seen,
        ${k.last_seen}::float8 as last_seen) as f`,
      where: packetOfFlowSql(sql),
    };
  }
  const range =
    sql`r."timestamp" between ${selection.fromSec}::float8 and ${selection.toSec}::float8`;
  if (selection.flowFilter === null) {
    const { ip, port, protocol, agent } = selection.packetFilter;
    return {
      from: sql`raw_packets r`,
      where: sql`${range}
        and ${ip === null ? sql`true` : sql`(r.src_ip <<= ${ip}::inet or r.dst_ip <<= ${ip}::inet)`}
        and ${
        port === null ? sql`true` : sql`(r.src_port = ${port}::int or r.dst_port = ${port}::int)`
      }
        and ${protocol === null ? sql`true` : sql`upper(r.protocol) = upper(${protocol})`}
        and ${agent == null ? sql`true` : sql`r.agent_id = ${agent}`}`,
    };
  }
  return {
    from: sql`raw_packets r join (
      select * from traffic_data
      where ${flowFilterSql(sql, selection.flowFilter)}
        and last_seen >= ${selection.fromSec}::float8 and first_seen <= ${selection.toSec}::float8
      limit ${PCAP_EXPORT_MAX_FLOWS + 1}
    ) f on true`,
    where: sql`${range} and ${packetOfFlowSql(sql)}`,
  };
}

/** What an export will hold, read before its first byte is sent. */
export interface SelectionStats {
  /** Packets selected, counted up to the `atMost` given. */
  packets: number;
  /** Of those, packets stored without their bytes. */
  withoutBytes: number;
  /** The most common link type among them, or null when none says. */
  linkType: number | null;
}

/** Counts a selection (no further than `atMost` packets) and finds its link type. */
export async function selectionStats(
  sql: Sql,
  selection: PacketSelection,
  atMost: number,
): Promise<SelectionStats> {
  const { from, where } = selectionSql(sql, selection);
  const [row]: [{ packets: number; without_bytes: number; link_type: number | null }] = await sql`
    select count(*)::int8 as packets,
      (count(*) filter (where s.data is null))::int8 as without_bytes,
      mode() within group (order by s.link_type) as link_type
    from (select r.data, r.link_type from ${from} where ${where} limit ${atMost}) as s`;
  return { packets: row.packets, withoutBytes: row.without_bytes, linkType: row.link_type };
}

/** How many flows a filtered range export would draw from, counting no further than `atMost`. */
export async function countRangeFlows(
  sql: Sql,
  filter: FlowFilter,
  fromSec: number,
  toSec: number,
  atMost: number,
): Promise<number> {
  const [row]: [{ n: number }] = await sql`
    select count(*)::int8 as n from (
      select 1 from traffic_data
      where ${flowFilterSql(sql, filter)}
        and last_seen >= ${fromSec}::float8 and first_seen <= ${toSec}::float8
      limit ${atMost}
    ) as s`;
  return row.n;
}

/** Options for {@link selectedPackets}. */
export interface SelectedPacketsOptions {
  /** Most packets. */
  limit: number;
  /** Rows per query. @default 1000 */
  chunkRows?: number;
  /** Start after this packet (capture time, then id): the next page of a paged read. @default null */
  after?: { timestamp: number; id: number } | null;
}

/**
 * The selected packets, oldest first (by capture time, then id), read by
 * keyset in chunks so no connection is held between them.
 */
export async function* selectedPackets(
  sql: Sql,
  selection: PacketSelection,
  options: SelectedPacketsOptions,
): AsyncGenerator<ExportPacketRow[]> {
  const chunkRows = options.chunkRows ?? 1000;
  const { from, where } = selectionSql(sql, selection);
  let left = options.limit;
  let after: { timestamp: number; id: number } | null = options.after ?? null;
  while (left > 0) {
    const limit = Math.min(left, chunkRows);
    const rows: ExportPacketRow[] = await sql<ExportPacketRow[]>`
      select ${PACKET_COLUMNS(sql)} from ${from}
      where ${where}
        and ${
      after === null
        ? sql`true`
        : sql`(r."timestamp", r.id) > (${after.timestamp}::float8, ${after.id}::int8)`
    }
      order by r."timestamp", r.id
      limit ${limit}`;
    if (rows.length === 0) return;
    yield rows;
    left -= rows.length;
    if (rows.length < limit) return;
    const last = rows[rows.length - 1];
    after = { timestamp: last.timestamp, id: last.id };
  }
}

/**
 * The first day whose raw packets are still stored (the oldest partition of
 * `raw_packets`), or null when none is: retention drops whole days.
 */
export async function oldestStoredPacketDay(sql: Sql): Promise<string | null> {
  const [row]: [{ day: string | null }] = await sql`
    select min(substring(c.relname from 'raw_packets_([0-9]{8})$')) as day
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = to_regclass(format('%I.raw_packets', current_schema()))`;
  if (row.day === null) return null;
  return `${row.day.slice(0, 4)}-${row.day.slice(4, 6)}-${row.day.slice(6, 8)}`;
}

/** PostgreSQL's plan for reading a selection's packets (EXPLAIN), to see which indexes serve it. */
export async function explainSelectedPackets(
  sql: Sql,
  selection: PacketSelection,
): Promise<string> {
  const { from, where } = selectionSql(sql, selection);
  const rows = await sql<{ "QUERY PLAN": string }[]>`
    explain select r.id from ${from} where ${where} order by r."timestamp", r.id limit 1000`;
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}
