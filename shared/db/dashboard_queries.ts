/**
 * The dashboard's numbers, from SQL over `traffic_data`: headline counts,
 * traffic over time by protocol, flows over time by predicted class, top
 * talkers and top services, for one period (15 min, 1 h, 24 h, 7 d).
 *
 * A flow row holds its totals, not its packets, so a flow's packets and
 * bytes are spread evenly over its span `first_seen`..`last_seen`: a bucket
 * (and the period) gets the share of the flow that lies in it. For the short
 * flows that make most traffic this is exact; a long flow's bursts are
 * smoothed over its life. Every query reads only the flows that overlap the
 * period, found through the `last_seen` index.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { hostNames, serviceKey, serviceNames } from "./flow_names.ts";

/** The periods a dashboard can show, by name. */
export const DASHBOARD_PERIODS = {
  "15m": 15 * 60,
  "1h": 60 * 60,
  "24h": 24 * 60 * 60,
  "7d": 7 * 24 * 60 * 60,
} as const;

/** One of {@link DASHBOARD_PERIODS}. */
export type DashboardPeriod = keyof typeof DASHBOARD_PERIODS;

/** Buckets of every time series: the period in 60 steps. */
export const DASHBOARD_BUCKETS = 60;

/** The window "now" rates are measured over, seconds. */
export const RATE_WINDOW_SEC = 60;

/** Options for {@link readDashboard}. */
export interface ReadDashboardOptions {
  /** Which period. */
  period: DashboardPeriod;
  /** The wall clock now, epoch seconds. */
  nowSec: number;
  /**
   * Where the period ends, epoch seconds; null: now, or, when no flow was
   * seen in the period at all, the newest flow's `last_seen` (a replayed
   * capture's traffic is in the past), which `anchor` then says.
   */
  endSec?: number | null;
  /** Rows in the top lists. @default 10 */
  top?: number;
  /** Only the flows with this address at either end (a host's page). @default null */
  host?: string | null;
}

/** A series of values per bucket, by a name (a protocol or a class). */
export type NamedSeries = Record<string, number[]>;

/** What {@link readDashboard} returns. */
export interface DashboardData {
  /** The period shown, as requested. */
  period: DashboardPeriod;
  /** Start of the period, epoch seconds. */
  start_sec: number;
  /** End of the period, epoch seconds (see `anchor`). */
  end_sec: number;
  /** `now`, `requested` (an `end` was given) or `newest_flow` (nothing in the period before it). */
  anchor: "now" | "requested" | "newest_flow";
  /** Bucket length, seconds: the period over {@link DASHBOARD_BUCKETS}. */
  step_sec: number;
  /** Each bucket's start, epoch seconds, oldest first. */
  bucket_starts: number[];
  /** The newest flow's `last_seen`, or null when there are no flows. */
  newest_flow_sec: number | null;
  /** The headline numbers of the period. */
  headline: {
    /** Packets per second over the last {@link RATE_WINDOW_SEC} s of the period. */
    packets_per_sec: number;
    /** Bytes per second over the last {@link RATE_WINDOW_SEC} s of the period. */
    bytes_per_sec: number;
    /** Flows in state `active` now (however old). */
    active_flows: number;
    /** Flows that overlap the period. */
    flows_seen: number;
    /** Packets in the period (each flow's share inside it, rounded). */
    packets: number;
    /** Bytes in the period (each flow's share inside it, rounded). */
    bytes: number;
  };
  /** Packets and bytes per bucket, by protocol (each bucket's total over its length = a rate). */
  traffic: { packets: NamedSeries; bytes: NamedSeries };
  /** Flows started per bucket, by predicted class (`unscored` for flows without a label). */
  flows_by_class: NamedSeries;
  /**
   * Hosts by bytes sent and received in the period, with the names clients
   * reached them as (TLS/QUIC server name, HTTP Host; commonest first).
   */
  top_talkers: { ip: string; bytes: number; packets: number; flows: number; names: string[] }[];
  /**
   * Responder port and protocol by bytes in the period, with the names its
   * flows carried (server name, HTTP Host, DNS query; commonest first).
   */
  top_services: {
    protocol: string;
    port: number;
    bytes: number;
    flows: number;
    responders: number;
    names: string[];
  }[];
}

const round = (n: number) => Math.round(n);

/** The condition "the flow has `host` at either end" (true for no host). */
function hostSql(sql: Sql, host: string | null) {
  return host === null ? sql`true` : sql`(orig_ip = ${host}::inet or resp_ip = ${host}::inet)`;
}

/** The newest flow's `last_seen`, or null. */
async function newestFlowSec(sql: Sql, host: string | null): Promise<number | null> {
  const [row]: [{ last_seen: number }?] = await sql`
    select max(last_seen) as last_seen from (
      select last_seen from traffic_data where ${hostSql(sql, host)}
      order by last_seen desc, id desc limit 1) as newest`;
  return row?.last_seen ?? null;
}

/** Reads everything the dashboard shows for one period. */
export async function readDashboard(
  sql: Sql,
  options: ReadDashboardOptions,
): Promise<DashboardData> {
  const periodSec = DASHBOARD_PERIODS[options.period];
  const top = options.top ?? 10;
  const host = options.host ?? null;
  const newest = await newestFlowSec(sql, host);
  let endSec = options.endSec ?? options.nowSec;
  let anchor: DashboardData["anchor"] = options.endSec == null ? "now" : "requested";
  if (options.endSec == null && newest !== null && newest < options.nowSec - periodSec) {
    endSec = Math.ceil(newest);
    anchor = "newest_flow";
  }
  const stepSec = periodSec / DASHBOARD_BUCKETS;
  const startSec = endSec - periodSec;
  const rateFrom = endSec - RATE_WINDOW_SEC;

  // The flows overlapping the period, each with the share of it inside the period.
  const inPeriod = sql`
    select first_seen, last_seen, protocol, label, orig_ip, resp_ip, resp_port, state,
      (orig_packets + resp_packets)::float8 as packets,
      (orig_bytes + resp_bytes)::float8 as bytes,
      case when last_seen > first_seen
        then (least(last_seen, ${endSec}::float8) - greatest(first_seen, ${startSec}::float8))
          / (last_seen - first_seen)
        else 1 end as share
    from traffic_data
    where last_seen >= ${startSec}::float8 and first_seen <= ${endSec}::float8
      and ${hostSql(sql, host)}`;

  const [series, talkers, services, [totals], [active]] = await Promise.all([
    sql<
      {
        bucket: number;
        protocol: string;
        label: string;
        packets: number;
        bytes: number;
        started: number;
      }[]
    >`
      select b as bucket, f.protocol, coalesce(f.label, 'unscored') as label,
        sum(f.packets * s.part)::float8 as packets, sum(f.bytes * s.part)::float8 as bytes,
        (count(*) filter (where f.first_seen >= ${startSec}::float8
          and b = floor((f.first_seen - ${startSec}::float8) / ${stepSec}::float8)))::int8
          as started
      from (${inPeriod}) f,
        lateral generate_series(
          greatest(0, floor((f.first_seen - ${startSec}::float8) / ${stepSec}::float8)::int),
          least(${DASHBOARD_BUCKETS - 1}::int,
            floor((f.last_seen - ${startSec}::float8) / ${stepSec}::float8)::int)) as b,
        lateral (select case when f.last_seen > f.first_seen
          then (least(f.last_seen, ${startSec}::float8 + (b + 1) * ${stepSec}::float8)
            - greatest(f.first_seen, ${startSec}::float8 + b * ${stepSec}::float8))
            / (f.last_seen - f.first_seen)
          else 1 end as part) as s
      group by 1, 2, 3`,
    sql<{ ip: string; bytes: number; packets: number; flows: number }[]>`
      select host(ip) as ip, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets,
        count(*)::int8 as flows
      from (
        select orig_ip as ip, bytes * share as bytes, packets * share as packets
          from (${inPeriod}) f where orig_ip is not null
        union all
        select resp_ip, bytes * share, packets * share
          from (${inPeriod}) f where resp_ip is not null
      ) as ends
      group by ip order by bytes desc, ip limit ${top}`,
    sql<{ protocol: string; port: number; bytes: number; flows: number; responders: number }[]>`
      select protocol, resp_port as port, sum(bytes * share)::float8 as bytes,
        count(*)::int8 as flows, count(distinct resp_ip)::int8 as responders
      from (${inPeriod}) f
      where resp_port is not null and protocol in ('TCP', 'UDP', 'SCTP')
      group by protocol, resp_port order by bytes desc, flows desc, port limit ${top}`,
    sql<
      { flows: number; packets: number; bytes: number; rate_packets: number; rate_bytes: number }[]
    >`
      select count(*)::int8 as flows, coalesce(sum(packets * share), 0)::float8 as packets,
        coalesce(sum(bytes * share), 0)::float8 as bytes,
        coalesce(sum(case when last_seen >= ${rateFrom}::float8 then (case
          when last_seen > first_seen then (least(last_seen, ${endSec}::float8)
            - greatest(first_seen, ${rateFrom}::float8)) / (last_seen - first_seen)
          else 1 end) * packets end), 0)::float8 as rate_packets,
        coalesce(sum(case when last_seen >= ${rateFrom}::float8 then (case
          when last_seen > first_seen then (least(last_seen, ${endSec}::float8)
            - greatest(first_seen, ${rateFrom}::float8)) / (last_seen - first_seen)
          else 1 end) * bytes end), 0)::float8 as rate_bytes
      from (${inPeriod}) f`,
    sql<{ n: number }[]>`
      select count(*)::int8 as n from traffic_data where state = 'active' and ${
      hostSql(sql, host)
    }`,
  ]);

  const nameRange = { fromSec: startSec, toSec: endSec };
  const [talkerNames, servicesNames] = await Promise.all([
    hostNames(sql, talkers.map((t) => t.ip), nameRange),
    serviceNames(sql, services, nameRange),
  ]);

  const bucketStarts = Array.from(
    { length: DASHBOARD_BUCKETS },
    (_, i) => startSec + i * stepSec,
  );
  const zeros = () => new Array<number>(DASHBOARD_BUCKETS).fill(0);
  const packets: NamedSeries = {};
  const bytes: NamedSeries = {};
  const byClass: NamedSeries = {};
  for (const row of series) {
    (packets[row.protocol] ??= zeros())[row.bucket] += row.packets;
    (bytes[row.protocol] ??= zeros())[row.bucket] += row.bytes;
    (byClass[row.label] ??= zeros())[row.bucket] += Number(row.started);
  }
  for (const named of [packets, bytes]) {
    for (const values of Object.values(named)) values.forEach((v, i) => (values[i] = round(v)));
  }
  return {
    period: options.period,
    start_sec: startSec,
    end_sec: endSec,
    anchor,
    step_sec: stepSec,
    bucket_starts: bucketStarts,
    newest_flow_sec: newest,
    headline: {
      packets_per_sec: totals.rate_packets / RATE_WINDOW_SEC,
      bytes_per_sec: totals.rate_bytes / RATE_WINDOW_SEC,
      active_flows: Number(active.n),
      flows_seen: Number(totals.flows),
      packets: round(totals.packets),
      bytes: round(totals.bytes),
    },
    traffic: { packets, bytes },
    flows_by_class: byClass,
    top_talkers: talkers.map((t) => ({
      ip: t.ip,
      bytes: round(t.bytes),
      packets: round(t.packets),
      flows: Number(t.flows),
      names: talkerNames.get(t.ip) ?? [],
    })),
    top_services: services.map((s) => ({
      protocol: s.protocol,
      port: s.port,
      bytes: round(s.bytes),
      flows: Number(s.flows),
      responders: Number(s.responders),
      names: servicesNames.get(serviceKey(s.protocol, s.port)) ?? [],
    })),
  };
}

/** Agents that delivered a batch within the last `withinSec` seconds (database clock). */
export async function agentsReporting(
  sql: Sql,
  withinSec: number,
): Promise<{ agents: number; last_batch_at: string | null }> {
  const [row]: [{ agents: number; last: Date | null }] = await sql`
    select count(distinct agent_id)::int8 as agents, max(received_at) as last
    from ingest_batches where received_at >= now() - make_interval(secs => ${withinSec})`;
  return { agents: Number(row.agents), last_batch_at: row.last?.toISOString() ?? null };
}
