/**
 * The dashboard's numbers, from SQL over `traffic_data`: headline counts,
 * traffic over time by protocol, flows over time by predicted class, top
 * talkers and top services, for one period (15 min, 1 h, 24 h, 7 d).
 *
 * A flow row holds its totals, not its packets, so a flow's packets and
 * bytes are spread evenly over its span `first_seen`..`last_seen`: a bucket
 * (and the period) gets the share of the flow that lies in it. For the short
 * flows that make most traffic this is exact; a long flow's bursts are
 * smoothed over its life. The 15 min period (15 s buckets), a host's page,
 * and the top lists of periods up to 1 h read the flows that overlap the
 * period, found through the `last_seen` index. The rest of the 1 h, 24 h and
 * 7 d periods reads the per-minute and per-hour roll-ups the aggregator keeps
 * (dashboard_rollups.ts, migration 020): these periods end at a whole minute
 * (the current minute so far), so their buckets are whole minutes. The top
 * lists of 24 h and 7 d come from per-hour rows, the hours at the period's
 * edges weighted by the part of them inside it; a flow counts there in the
 * hour it started, and a host or responder folded into an hour's `other`
 * row (past its 100 biggest hosts, 200 biggest service responders) counts
 * only through the hours that list it.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { hostNames, serviceKey, serviceNames } from "./flow_names.ts";
import { ROLLUP_OTHER } from "./dashboard_rollups.ts";

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

/**
 * Reads everything the dashboard shows for one period, in one read-only
 * transaction (for its settings) without JIT compilation or parallel workers.
 * Every query here reads a bounded range of an index or of a roll-up, but the
 * planner prices some far above what they cost (it takes each flow's
 * `generate_series` over its buckets for 1000 rows, not one or two), and at 1
 * M flows on PostgreSQL 15 it then compiled the 15 min series with JIT (135 ms
 * of a 60 ms query) and split the top lists over parallel workers, whose start
 * cost 100-300 ms on a loaded machine for 20 ms of work.
 */
export async function readDashboard(
  sql: Sql,
  options: ReadDashboardOptions,
): Promise<DashboardData> {
  return await sql.begin("read only", async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    await tx`select set_config('jit', 'off', true),
      set_config('max_parallel_workers_per_gather', '0', true)`;
    return await readDashboardIn(tx, options);
  });
}

/** {@link readDashboard} inside its transaction. */
async function readDashboardIn(
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
  if (host === null && stepSec % 60 === 0) {
    return await readRolledUpDashboard(sql, {
      period: options.period,
      endSec,
      anchor,
      newest,
      top,
    });
  }
  const startSec = endSec - periodSec;
  const rateFrom = endSec - RATE_WINDOW_SEC;

  // The flows overlapping the period, each with the share of it inside the period.
  const inPeriod = flowsInPeriod(sql, startSec, endSec, host);

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
    topTalkers(sql, startSec, endSec, top, host),
    topServices(sql, startSec, endSec, top, host),
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

  const tops = await namedTopLists(sql, talkers, services, startSec, endSec);

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
    ...tops,
  };
}

/**
 * The dashboard of a period whose buckets are whole minutes, from the
 * roll-ups: the period ends at the whole minute at or after `endSec`. Rates
 * and active flows still come from `traffic_data` (the last minute's flows,
 * through the `last_seen` index; the active ones, through their partial
 * index); so do the top lists of periods shorter than a day.
 */
async function readRolledUpDashboard(
  sql: Sql,
  options: {
    period: DashboardPeriod;
    endSec: number;
    anchor: DashboardData["anchor"];
    newest: number | null;
    top: number;
  },
): Promise<DashboardData> {
  const { period, top } = options;
  const periodSec = DASHBOARD_PERIODS[period];
  const stepSec = periodSec / DASHBOARD_BUCKETS;
  const stepMinutes = stepSec / 60;
  const rateEnd = options.endSec;
  const endSec = Math.ceil(options.endSec / 60) * 60;
  const startSec = endSec - periodSec;
  const fromMinute = startSec / 60;
  const toMinute = endSec / 60;
  const rateFrom = rateEnd - RATE_WINDOW_SEC;
  const hourly = periodSec >= 24 * 60 * 60;
  // An hour's weight: the part of it inside the period.
  const hourWeight = sql`(least((hour + 1)::float8 * 3600, ${endSec}::float8)
    - greatest(hour::float8 * 3600, ${startSec}::float8)) / 3600`;
  const hours = sql`hour >= ${Math.floor(startSec / 3600)}::int8
    and hour <= ${Math.floor((endSec - 1) / 3600)}::int8`;

  const [traffic, classes, [seen], [rate], [active], talkers, services] = await Promise.all([
    sql<{ bucket: number; protocol: string; packets: number; bytes: number }[]>`
      select ((minute - ${fromMinute}::int8) / ${stepMinutes}::int8)::int as bucket, protocol,
        sum(packets)::float8 as packets, sum(bytes)::float8 as bytes
      from dashboard_minute
      where minute >= ${fromMinute}::int8 and minute < ${toMinute}::int8
      group by 1, 2`,
    sql<{ bucket: number; label: string; flows: number }[]>`
      select ((minute - ${fromMinute}::int8) / ${stepMinutes}::int8)::int as bucket, label,
        sum(flows)::int8 as flows
      from dashboard_class_minute
      where minute >= ${fromMinute}::int8 and minute < ${toMinute}::int8
      group by 1, 2`,
    // Flows overlapping the period: those started before its end less those
    // ended before its start. Every flow counts once as started and once as
    // ended, so that is also those ended from its start on less those started
    // from its end on: minutes from the period's start, not the whole history.
    sql<{ flows: number }[]>`
      select (coalesce(sum(flows_ended), 0)
        - coalesce(sum(flows_started) filter (where minute >= ${toMinute}::int8), 0))::int8
        as flows
      from dashboard_minute where minute >= ${fromMinute}::int8`,
    sql<{ packets: number; bytes: number }[]>`
      select
        coalesce(sum((orig_packets + resp_packets) * share), 0)::float8 as packets,
        coalesce(sum((orig_bytes + resp_bytes) * share), 0)::float8 as bytes
      from traffic_data,
        lateral (select case when last_seen > first_seen
          then (least(last_seen, ${rateEnd}::float8) - greatest(first_seen, ${rateFrom}::float8))
            / (last_seen - first_seen)
          else 1 end as share) as s
      where last_seen >= ${rateFrom}::float8 and first_seen <= ${rateEnd}::float8`,
    sql<{ n: number }[]>`select count(*)::int8 as n from traffic_data where state = 'active'`,
    hourly
      ? sql<{ ip: string; bytes: number; packets: number; flows: number }[]>`
        select ip, sum(bytes * ${hourWeight})::float8 as bytes,
          sum(packets * ${hourWeight})::float8 as packets,
          round(sum(flows * ${hourWeight}))::int8 as flows
        from dashboard_host_hour
        where ${hours} and ip <> ${ROLLUP_OTHER}::text
        group by ip order by bytes desc, ip limit ${top}`
      : topTalkers(sql, startSec, endSec, top),
    hourly
      ? sql<
        { protocol: string; port: number; bytes: number; flows: number; responders: number }[]
      >`
        select protocol, port, sum(bytes)::float8 as bytes, round(sum(flows))::int8 as flows,
          count(*)::int8 as responders
        from (
          -- Per responder first: two hash aggregates, where count(distinct)
          -- sorted the week's 25k rows.
          select protocol, port, sum(bytes * ${hourWeight}) as bytes,
            sum(flows * ${hourWeight}) as flows
          from dashboard_service_hour
          where ${hours} and protocol <> ${ROLLUP_OTHER}::text
          group by protocol, port, responder
        ) as r
        group by protocol, port order by bytes desc, flows desc, port limit ${top}`
      : topServices(sql, startSec, endSec, top),
  ]);

  const tops = await namedTopLists(sql, talkers, services, startSec, endSec);
  const zeros = () => new Array<number>(DASHBOARD_BUCKETS).fill(0);
  const packets: NamedSeries = {};
  const bytes: NamedSeries = {};
  const byClass: NamedSeries = {};
  let totalPackets = 0;
  let totalBytes = 0;
  for (const row of traffic) {
    (packets[row.protocol] ??= zeros())[row.bucket] += row.packets;
    (bytes[row.protocol] ??= zeros())[row.bucket] += row.bytes;
    totalPackets += row.packets;
    totalBytes += row.bytes;
  }
  for (const row of classes) (byClass[row.label] ??= zeros())[row.bucket] += Number(row.flows);
  for (const named of [packets, bytes]) {
    for (const values of Object.values(named)) values.forEach((v, i) => (values[i] = round(v)));
  }
  return {
    period,
    start_sec: startSec,
    end_sec: endSec,
    anchor: options.anchor,
    step_sec: stepSec,
    bucket_starts: Array.from({ length: DASHBOARD_BUCKETS }, (_, i) => startSec + i * stepSec),
    newest_flow_sec: options.newest,
    headline: {
      packets_per_sec: rate.packets / RATE_WINDOW_SEC,
      bytes_per_sec: rate.bytes / RATE_WINDOW_SEC,
      active_flows: Number(active.n),
      flows_seen: Number(seen.flows),
      packets: round(totalPackets),
      bytes: round(totalBytes),
    },
    traffic: { packets, bytes },
    flows_by_class: byClass,
    ...tops,
  };
}

/** The flows overlapping `startSec`..`endSec`, each with the share of it inside. */
function flowsInPeriod(sql: Sql, startSec: number, endSec: number, host: string | null) {
  return sql`
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
}

/** Hosts by bytes in the period, from the flows (see {@link flowsInPeriod}). */
function topTalkers(
  sql: Sql,
  startSec: number,
  endSec: number,
  top: number,
  host: string | null = null,
) {
  const inPeriod = flowsInPeriod(sql, startSec, endSec, host);
  // One pass over the period's flows, each counted at both of its ends.
  return sql<{ ip: string; bytes: number; packets: number; flows: number }[]>`
    select host(e.ip) as ip, sum(f.bytes * f.share)::float8 as bytes,
      sum(f.packets * f.share)::float8 as packets, count(*)::int8 as flows
    from (${inPeriod}) f, lateral (values (f.orig_ip), (f.resp_ip)) as e (ip)
    where e.ip is not null
    group by e.ip order by bytes desc, ip limit ${top}`;
}

/** Services by bytes in the period, from the flows (see {@link flowsInPeriod}). */
function topServices(
  sql: Sql,
  startSec: number,
  endSec: number,
  top: number,
  host: string | null = null,
) {
  const inPeriod = flowsInPeriod(sql, startSec, endSec, host);
  return sql<
    { protocol: string; port: number; bytes: number; flows: number; responders: number }[]
  >`
    select protocol, resp_port as port, sum(bytes * share)::float8 as bytes,
      count(*)::int8 as flows, count(distinct resp_ip)::int8 as responders
    from (${inPeriod}) f
    where resp_port is not null and protocol in ('TCP', 'UDP', 'SCTP')
    group by protocol, resp_port order by bytes desc, flows desc, port limit ${top}`;
}

/**
 * Named flows looked at per top host or service, the newest first: enough for
 * its three commonest names. Each is a heap fetch, and over 7 days a busy
 * server's are spread over the whole table (20 keys of 2000, the host page's
 * sample, cost more than the rest of a 7 d request at 1 M flows).
 */
const NAME_SAMPLE = 200;

/** The top lists as the answer gives them, with the names their flows carried in the period. */
async function namedTopLists(
  sql: Sql,
  talkers: readonly { ip: string; bytes: number; packets: number; flows: number }[],
  services: readonly {
    protocol: string;
    port: number;
    bytes: number;
    flows: number;
    responders: number;
  }[],
  startSec: number,
  endSec: number,
): Promise<Pick<DashboardData, "top_talkers" | "top_services">> {
  const nameRange = { fromSec: startSec, toSec: endSec, sample: NAME_SAMPLE };
  const [talkerNames, servicesNames] = await Promise.all([
    hostNames(sql, talkers.map((t) => t.ip), nameRange),
    serviceNames(sql, services, nameRange),
  ]);
  return {
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

/**
 * Agents that delivered a batch within the last `withinSec` seconds (database
 * clock), from each agent's newest batch, through the index on `agent_id` and
 * `received_at` (migration 021), walking from one agent to the next (a skip
 * scan): one index probe per agent, where counting the distinct agents of the
 * period's batches read every batch of it (a week of one a second: 605k rows,
 * 1.6 s).
 */
export async function agentsReporting(
  sql: Sql,
  withinSec: number,
): Promise<{ agents: number; last_batch_at: string | null }> {
  // Walks the index down from the last agent: each step's first row is the
  // next agent's newest batch (the order by both columns is one only that
  // index gives; with agent_id = x the planner took the received_at index,
  // reading every batch newer than x's newest).
  const [row]: [{ agents: number; last: Date | null }] = await sql`
    with recursive newest (agent_id, received_at) as (
      (select agent_id, received_at from ingest_batches
        order by agent_id desc, received_at desc limit 1)
      union all
      select b.agent_id, b.received_at from newest n,
        lateral (select agent_id, received_at from ingest_batches
          where agent_id < n.agent_id order by agent_id desc, received_at desc limit 1) as b
    )
    select count(*)::int8 as agents, max(received_at) as last from newest
    where received_at >= now() - make_interval(secs => ${withinSec})`;
  return { agents: Number(row.agents), last_batch_at: row.last?.toISOString() ?? null };
}
