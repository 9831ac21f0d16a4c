/**
 * The dashboard's roll-ups of `traffic_data` (migration 020), kept by the
 * aggregator's pass in its own transaction: per minute, packets and bytes by
 * protocol with flows started and ended, and flows started by predicted
 * class; per hour, bytes by host and by service and responder.
 *
 * A flow's packets and bytes are spread evenly over its span
 * `first_seen`..`last_seen`, as the dashboard always spread them, so a
 * minute holds the share of each flow inside it. A flow written again (a
 * long flow, pass after pass) contributes the difference: its stored
 * version is subtracted and the new one added ({@link DashboardRollupDeltas}).
 * Deltas are summed per row in memory and added with one statement per
 * table, never a row at a time.
 *
 * Hours are folded once they are over: each keeps its
 * {@link HOST_HOUR_KEEP} biggest hosts and {@link SERVICE_HOUR_KEEP} biggest
 * service responders and adds the rest to an `other` row, so an hour's rows
 * stay bounded whatever a scan brings. A folded hour sends later deltas of
 * hosts it no longer lists to `other`, so totals stay exact.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { pgArrayLiteral } from "./pg_array_literal.ts";
import { StatementPipeline } from "./statement_pipeline.ts";
import type { FoldAhead } from "./rollup_fold_ahead.ts";

/** Hosts an hour keeps by name once folded (the rest add up in `other`). */
export const HOST_HOUR_KEEP = 100;

/** Service responders an hour keeps once folded (the rest add up in `other`). */
export const SERVICE_HOUR_KEEP = 200;

/** The key of an hour's folded remainder (`ip`, `protocol` and `responder`). */
export const ROLLUP_OTHER = "other";

/** Protocols whose responder port names a service. */
const SERVICE_PROTOCOLS = new Set(["TCP", "UDP", "SCTP"]);

/** What the roll-ups need of one flow, as stored (or about to be). */
export interface RollupFlow {
  /** First packet, epoch seconds. */
  first_seen: number;
  /** Last packet, epoch seconds. */
  last_seen: number;
  /** `TCP`, `UDP`, `ICMP`, … */
  protocol: string;
  /** Predicted class; null when unscored. */
  label: string | null;
  /** Packets both ways. */
  packets: number;
  /** Bytes both ways. */
  bytes: number;
  /** Originator address, or null. */
  orig_ip: string | null;
  /** Responder address, or null. */
  resp_ip: string | null;
  /** Responder port, or null. */
  resp_port: number | null;
}

/** A change to one `dashboard_minute` row. */
export interface TrafficCell {
  /** floor(epoch seconds / 60). */
  minute: number;
  /** `TCP`, `UDP`, … */
  protocol: string;
  /** Packets added (negative: taken away). */
  packets: number;
  /** Bytes added. */
  bytes: number;
  /** Flows started in the minute, added. */
  started: number;
  /** Flows whose last packet is in the minute, added. */
  ended: number;
}

/** A change to one `dashboard_class_minute` row. */
export interface ClassCell {
  /** floor(epoch seconds / 60). */
  minute: number;
  /** Predicted class, `unscored` for none. */
  label: string;
  /** Flows started in the minute, added. */
  flows: number;
}

/** A change to one `dashboard_host_hour` row. */
export interface HostCell {
  /** floor(epoch seconds / 3600). */
  hour: number;
  /** The address, as its text. */
  ip: string;
  /** Bytes added. */
  bytes: number;
  /** Packets added. */
  packets: number;
  /** Flows started in the hour, added. */
  flows: number;
}

/** A change to one `dashboard_service_hour` row. */
export interface ServiceCell {
  /** floor(epoch seconds / 3600). */
  hour: number;
  /** `TCP`, `UDP` or `SCTP`. */
  protocol: string;
  /** Responder port. */
  port: number;
  /** Responder address, as its text. */
  responder: string;
  /** Bytes added. */
  bytes: number;
  /** Flows started in the hour, added. */
  flows: number;
}

/** How far back from a flow's last packet its span is spread: 8 days, past every dashboard period. */
export const ROLLUP_SPREAD_MAX_SEC = 8 * 86_400;

/**
 * Calls `each(slot, share)` for the slots (minutes or hours, of `slotSec`
 * seconds) the span touches, with the share of the span inside each: the
 * same arithmetic as migration 020's backfill, so both give the same sums.
 * Only the first slot and those of the last {@linkcode ROLLUP_SPREAD_MAX_SEC}
 * get theirs: no dashboard period reaches further back, and a flow with a
 * bogus span (a packet stamped decades off) must not make millions of rows.
 */
function spread(
  first: number,
  last: number,
  slotSec: number,
  each: (slot: number, share: number) => void,
): void {
  const from = Math.floor(first / slotSec);
  const to = Math.floor(last / slotSec);
  if (!(last > first)) {
    each(from, 1);
    return;
  }
  const share = (slot: number) =>
    (Math.min(last, (slot + 1) * slotSec) - Math.max(first, slot * slotSec)) / (last - first);
  each(from, share(from));
  const recent = Math.max(from + 1, to - ROLLUP_SPREAD_MAX_SEC / slotSec);
  for (let slot = recent; slot <= to; slot++) each(slot, share(slot));
}

/**
 * The changes a set of flow writes makes to the roll-ups, summed per row:
 * add each new version of a flow with sign +1 and its stored version, if
 * any, with -1.
 */
export class DashboardRollupDeltas {
  // Cells by slot, then by the flow's own strings (protocol, address, label):
  // a string key built per flow (`${minute}\u0000${protocol}` and the like,
  // five or six a flow) had to be made and hashed each time, where the
  // flow's strings keep their hash. Each list holds the cells in the order
  // they were made, which is the order the rows are written in.
  readonly #traffic = new Map<number, Map<string, TrafficCell>>();
  readonly #trafficList: TrafficCell[] = [];
  readonly #classes = new Map<number, Map<string, ClassCell>>();
  readonly #classList: ClassCell[] = [];
  readonly #hosts = new Map<number, Map<string, HostCell>>();
  readonly #hostList: HostCell[] = [];
  readonly #services = new Map<number, Map<string, Map<number, Map<string, ServiceCell>>>>();
  readonly #serviceList: ServiceCell[] = [];

  /** Adds (`sign` 1) or takes away (`sign` -1) one flow's contribution. */
  addFlow(flow: RollupFlow, sign: 1 | -1): void {
    const { first_seen: first, last_seen: last, protocol } = flow;
    const packets = sign * flow.packets;
    const bytes = sign * flow.bytes;
    const startMinute = Math.floor(first / 60);
    const endMinute = Math.floor(last / 60);
    if (startMinute === endMinute) {
      // Most flows: one minute, whose share is the whole flow (what spread()
      // gives, as (last - first) / (last - first) is exactly 1).
      const cell = this.#trafficCell(startMinute, protocol);
      cell.packets += packets;
      cell.bytes += bytes;
      cell.started += sign;
      cell.ended += sign;
    } else {
      // Each cell is looked up once per slot; the first slot spread is the start's.
      let firstTraffic: TrafficCell | null = null;
      let lastTraffic: TrafficCell | null = null;
      let lastMinute = 0;
      spread(first, last, 60, (minute, share) => {
        const cell = this.#trafficCell(minute, protocol);
        cell.packets += packets * share;
        cell.bytes += bytes * share;
        firstTraffic ??= cell;
        lastTraffic = cell;
        lastMinute = minute;
      });
      firstTraffic!.started += sign;
      (endMinute === lastMinute ? lastTraffic! : this.#trafficCell(endMinute, protocol)).ended +=
        sign;
    }
    this.#classCell(startMinute, flow.label ?? "unscored").flows += sign;

    const oneHour = Math.floor(first / 3600) === Math.floor(last / 3600);
    if (flow.orig_ip !== null) {
      this.#addHost(flow.orig_ip, first, last, oneHour, bytes, packets, sign);
    }
    if (flow.resp_ip !== null) {
      this.#addHost(flow.resp_ip, first, last, oneHour, bytes, packets, sign);
    }
    if (
      flow.resp_port !== null && flow.resp_ip !== null && SERVICE_PROTOCOLS.has(protocol)
    ) {
      const { resp_port: port, resp_ip: responder } = flow;
      if (oneHour) {
        const cell = this.#serviceCell(Math.floor(first / 3600), protocol, port, responder);
        cell.bytes += bytes;
        cell.flows += sign;
      } else {
        let startCell: ServiceCell | null = null;
        spread(first, last, 3600, (hour, share) => {
          const cell = this.#serviceCell(hour, protocol, port, responder);
          cell.bytes += bytes * share;
          startCell ??= cell;
        });
        startCell!.flows += sign;
      }
    }
  }

  #addHost(
    ip: string,
    first: number,
    last: number,
    oneHour: boolean,
    bytes: number,
    packets: number,
    sign: 1 | -1,
  ): void {
    if (oneHour) {
      const cell = this.#hostCell(Math.floor(first / 3600), ip);
      cell.bytes += bytes;
      cell.packets += packets;
      cell.flows += sign;
      return;
    }
    let startCell: HostCell | null = null;
    spread(first, last, 3600, (hour, share) => {
      const cell = this.#hostCell(hour, ip);
      cell.bytes += bytes * share;
      cell.packets += packets * share;
      startCell ??= cell;
    });
    startCell!.flows += sign;
  }

  /** Rows that change (0 when nothing was added). */
  get size(): number {
    return this.#trafficList.length + this.#classList.length + this.#hostList.length +
      this.#serviceList.length;
  }

  /** The per-minute traffic rows that change. */
  traffic(): TrafficCell[] {
    return this.#trafficList.filter((c) =>
      c.packets !== 0 || c.bytes !== 0 || c.started !== 0 || c.ended !== 0
    );
  }

  /** The per-minute class rows that change. */
  classes(): ClassCell[] {
    return this.#classList.filter((c) => c.flows !== 0);
  }

  /** The per-hour host rows that change. */
  hosts(): HostCell[] {
    return this.#hostList.filter((c) => c.bytes !== 0 || c.packets !== 0 || c.flows !== 0);
  }

  /** The per-hour service rows that change. */
  services(): ServiceCell[] {
    return this.#serviceList.filter((c) => c.bytes !== 0 || c.flows !== 0);
  }

  #trafficCell(minute: number, protocol: string): TrafficCell {
    let cells = this.#traffic.get(minute);
    if (cells === undefined) this.#traffic.set(minute, cells = new Map());
    let cell = cells.get(protocol);
    if (cell === undefined) {
      cells.set(protocol, cell = { minute, protocol, packets: 0, bytes: 0, started: 0, ended: 0 });
      this.#trafficList.push(cell);
    }
    return cell;
  }

  #classCell(minute: number, label: string): ClassCell {
    let cells = this.#classes.get(minute);
    if (cells === undefined) this.#classes.set(minute, cells = new Map());
    let cell = cells.get(label);
    if (cell === undefined) {
      cells.set(label, cell = { minute, label, flows: 0 });
      this.#classList.push(cell);
    }
    return cell;
  }

  #hostCell(hour: number, ip: string): HostCell {
    let cells = this.#hosts.get(hour);
    if (cells === undefined) this.#hosts.set(hour, cells = new Map());
    let cell = cells.get(ip);
    if (cell === undefined) {
      cells.set(ip, cell = { hour, ip, bytes: 0, packets: 0, flows: 0 });
      this.#hostList.push(cell);
    }
    return cell;
  }

  #serviceCell(hour: number, protocol: string, port: number, responder: string): ServiceCell {
    let byResponder = this.#services.get(hour);
    if (byResponder === undefined) this.#services.set(hour, byResponder = new Map());
    let byPort = byResponder.get(responder);
    if (byPort === undefined) byResponder.set(responder, byPort = new Map());
    let cells = byPort.get(port);
    if (cells === undefined) byPort.set(port, cells = new Map());
    let cell = cells.get(protocol);
    if (cell === undefined) {
      cells.set(protocol, cell = { hour, protocol, port, responder, bytes: 0, flows: 0 });
      this.#serviceList.push(cell);
    }
    return cell;
  }
}

/** Rows per statement: bounded literals, as with the flow upserts. */
const DELTA_CHUNK_ROWS = 20_000;

function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += DELTA_CHUNK_ROWS) {
    out.push(rows.slice(i, i + DELTA_CHUNK_ROWS));
  }
  return out;
}

const col = <T>(rows: readonly T[], pick: (row: T) => string | number) =>
  pgArrayLiteral(rows.map(pick));

/** Options for {@link addDashboardRollupDeltas}. */
export interface AddRollupDeltasOptions {
  /**
   * Rows to leave out and `other` rows to add instead, as
   * {@link planFoldAhead} planned them for these deltas. @default null
   */
  foldAhead?: FoldAhead | null;
}

/**
 * Adds the deltas to the roll-up tables, one statement per table and chunk,
 * and notes the hours written as open (to fold once they are over).
 * Addresses are stored as `host(inet)` text, whatever their spelling here.
 *
 * The statements are pipelined (see `StatementPipeline`). JIT compilation
 * is off for them, and `jit` set back as it was after them. The planner
 * prices these writes far above their cost (the service rows' `exists`
 * tests at 2,800 a row, though the `other` one runs once), so past
 * `jit_above_cost` PostgreSQL compiled each 20k-row statement with inlining
 * and optimization: at the bench's 1.5 M-packet pass, 1.3-1.5 s of a 2 s
 * statement, for rows that take milliseconds to compute. On an error the
 * transaction is undone, and the setting with it.
 */
export async function addDashboardRollupDeltas(
  tx: Sql,
  deltas: DashboardRollupDeltas,
  options: AddRollupDeltasOptions = {},
): Promise<void> {
  if (deltas.size === 0) return;
  const [{ jit }] = await tx<{ jit: string }[]>`
    select s.jit, set_config('jit', 'off', true)
    from (select current_setting('jit') as jit offset 0) as s`;
  const pipeline = new StatementPipeline();
  addDeltas(tx, deltas, pipeline, options.foldAhead ?? null);
  pipeline.send(tx`select set_config('jit', ${jit}, true)`);
  await pipeline.drain();
}

/**
 * The chunks of `rows` as written without `dropped`, each less what it
 * drops: the rows that stay are grouped and summed by the same statements,
 * in the same order, as when nothing is dropped.
 */
function keptChunks<T>(rows: readonly T[], dropped: ReadonlySet<unknown> | null): T[][] {
  const out = chunks(rows);
  if (dropped === null) return out;
  return out.map((chunk) => chunk.filter((row) => !dropped.has(row))).filter((c) => c.length > 0);
}

function addDeltas(
  tx: Sql,
  deltas: DashboardRollupDeltas,
  pipeline: StatementPipeline,
  foldAhead: FoldAhead | null,
): void {
  const dropped = foldAhead?.dropped ?? null;
  for (const rows of chunks(deltas.traffic())) {
    pipeline.send(tx`
      insert into dashboard_minute as r
        (minute, protocol, packets, bytes, flows_started, flows_ended)
      select * from unnest(
        ${col(rows, (r) => r.minute)}::text::int8[], ${col(rows, (r) => r.protocol)}::text::text[],
        ${col(rows, (r) => r.packets)}::text::float8[], ${
      col(rows, (r) => r.bytes)
    }::text::float8[],
        ${col(rows, (r) => r.started)}::text::int8[], ${col(rows, (r) => r.ended)}::text::int8[])
      on conflict (minute, protocol) do update set
        packets = r.packets + excluded.packets, bytes = r.bytes + excluded.bytes,
        flows_started = r.flows_started + excluded.flows_started,
        flows_ended = r.flows_ended + excluded.flows_ended`);
  }
  for (const rows of chunks(deltas.classes())) {
    pipeline.send(tx`
      insert into dashboard_class_minute as r (minute, label, flows)
      select * from unnest(${col(rows, (r) => r.minute)}::text::int8[],
        ${col(rows, (r) => r.label)}::text::text[], ${col(rows, (r) => r.flows)}::text::int8[])
      on conflict (minute, label) do update set flows = r.flows + excluded.flows`);
  }
  const hours = new Set<number>();
  const hosts = deltas.hosts();
  for (const row of hosts) hours.add(row.hour);
  // A folded hour (it has an `other` row) takes a host it does not list into `other`.
  for (const rows of keptChunks(hosts, dropped)) {
    pipeline.send(tx`
      insert into dashboard_host_hour as r (hour, ip, bytes, packets, flows)
      select d.hour,
        case when o.hour is null or h.hour is not null then d.ip else ${ROLLUP_OTHER}::text end,
        sum(d.bytes), sum(d.packets), sum(d.flows)
      from (
        select hour, host(ip::inet) as ip, bytes, packets, flows
        from unnest(${col(rows, (r) => r.hour)}::text::int8[], ${
      col(rows, (r) => r.ip)
    }::text::text[],
          ${col(rows, (r) => r.bytes)}::text::float8[],
          ${col(rows, (r) => r.packets)}::text::float8[],
          ${col(rows, (r) => r.flows)}::text::int8[]) as u(hour, ip, bytes, packets, flows)
      ) as d
      left join dashboard_host_hour o on o.hour = d.hour and o.ip = ${ROLLUP_OTHER}::text
      left join dashboard_host_hour h on h.hour = d.hour and h.ip = d.ip
      group by 1, 2
      on conflict (hour, ip) do update set
        bytes = r.bytes + excluded.bytes, packets = r.packets + excluded.packets,
        flows = r.flows + excluded.flows`);
  }
  // After the hosts' rows: an hour with an `other` row would take them into it.
  if (foldAhead !== null && foldAhead.otherHosts.length > 0) {
    const rows = foldAhead.otherHosts;
    pipeline.send(tx`
      insert into dashboard_host_hour (hour, ip, bytes, packets, flows)
      select * from unnest(${col(rows, (r) => r.hour)}::text::int8[],
        ${col(rows, (r) => r.ip)}::text::text[], ${col(rows, (r) => r.bytes)}::text::float8[],
        ${col(rows, (r) => r.packets)}::text::float8[], ${
      col(rows, (r) => r.flows)
    }::text::int8[])`);
  }
  const services = deltas.services();
  for (const row of services) hours.add(row.hour);
  for (const rows of keptChunks(services, dropped)) {
    pipeline.send(tx`
      insert into dashboard_service_hour as r (hour, protocol, port, responder, bytes, flows)
      select d.hour,
        case when folded then ${ROLLUP_OTHER}::text else d.protocol end,
        case when folded then 0 else d.port end,
        case when folded then ${ROLLUP_OTHER}::text else d.responder end,
        sum(d.bytes), sum(d.flows)
      from (
        select u.hour, u.protocol, u.port, host(u.responder::inet) as responder, u.bytes, u.flows
        from unnest(${col(rows, (r) => r.hour)}::text::int8[],
          ${col(rows, (r) => r.protocol)}::text::text[], ${col(rows, (r) => r.port)}::text::int4[],
          ${col(rows, (r) => r.responder)}::text::text[],
          ${col(rows, (r) => r.bytes)}::text::float8[], ${col(rows, (r) => r.flows)}::text::int8[])
          as u(hour, protocol, port, responder, bytes, flows)
      ) as d
      cross join lateral (select exists (
          select 1 from dashboard_service_hour o
          where o.hour = d.hour and o.protocol = ${ROLLUP_OTHER}::text and o.port = 0
            and o.responder = ${ROLLUP_OTHER}::text)
        and not exists (
          select 1 from dashboard_service_hour s
          where s.hour = d.hour and s.protocol = d.protocol and s.port = d.port
            and s.responder = d.responder) as folded) as f
      group by 1, 2, 3, 4
      on conflict (hour, protocol, port, responder) do update set
        bytes = r.bytes + excluded.bytes, flows = r.flows + excluded.flows`);
  }
  if (foldAhead !== null && foldAhead.otherServices.length > 0) {
    const rows = foldAhead.otherServices;
    pipeline.send(tx`
      insert into dashboard_service_hour (hour, protocol, port, responder, bytes, flows)
      select * from unnest(${col(rows, (r) => r.hour)}::text::int8[],
        ${col(rows, (r) => r.protocol)}::text::text[], ${col(rows, (r) => r.port)}::text::int4[],
        ${col(rows, (r) => r.responder)}::text::text[],
        ${col(rows, (r) => r.bytes)}::text::float8[], ${col(rows, (r) => r.flows)}::text::int8[])`);
  }
  if (hours.size > 0) {
    pipeline.send(tx`
      insert into dashboard_open_hour (hour)
      select * from unnest(${pgArrayLiteral([...hours])}::text::int8[])
      on conflict do nothing`);
  }
}

/**
 * Folds the open hours older than the newest open hour but one: each keeps
 * its biggest hosts and service responders and adds the rest to its `other`
 * row. Returns the hours folded.
 */
export async function foldDashboardHours(
  tx: Sql,
  options: { hostsKept?: number; servicesKept?: number } = {},
): Promise<number> {
  const hostsKept = options.hostsKept ?? HOST_HOUR_KEEP;
  const servicesKept = options.servicesKept ?? SERVICE_HOUR_KEEP;
  const due = await tx<{ hour: number }[]>`
    delete from dashboard_open_hour
    where hour < (select max(hour) - 1 from dashboard_open_hour)
    returning hour`;
  if (due.length === 0) return 0;
  const hours = pgArrayLiteral(due.map((d) => Number(d.hour)));
  await tx`
    with ranked as (
      select hour, ip, row_number() over (partition by hour order by bytes desc, ip) as rank
      from dashboard_host_hour
      where hour = any(${hours}::text::int8[]) and ip <> ${ROLLUP_OTHER}::text
    ),
    folded as (
      delete from dashboard_host_hour d using ranked k
      where d.hour = k.hour and d.ip = k.ip and k.rank > ${hostsKept}
      returning d.hour, d.bytes, d.packets, d.flows
    )
    insert into dashboard_host_hour as r (hour, ip, bytes, packets, flows)
    select h.hour, ${ROLLUP_OTHER}::text, coalesce(sum(f.bytes), 0), coalesce(sum(f.packets), 0),
      coalesce(sum(f.flows), 0)
    from unnest(${hours}::text::int8[]) as h(hour) left join folded f on f.hour = h.hour
    group by h.hour
    on conflict (hour, ip) do update set
      bytes = r.bytes + excluded.bytes, packets = r.packets + excluded.packets,
      flows = r.flows + excluded.flows`;
  await tx`
    with ranked as (
      select hour, protocol, port, responder,
        row_number() over (partition by hour order by bytes desc, protocol, port, responder)
          as rank
      from dashboard_service_hour
      where hour = any(${hours}::text::int8[])
        and not (protocol = ${ROLLUP_OTHER}::text and port = 0 and responder = ${ROLLUP_OTHER}::text)
    ),
    folded as (
      delete from dashboard_service_hour d using ranked k
      where d.hour = k.hour and d.protocol = k.protocol and d.port = k.port
        and d.responder = k.responder and k.rank > ${servicesKept}
      returning d.hour, d.bytes, d.flows
    )
    insert into dashboard_service_hour as r (hour, protocol, port, responder, bytes, flows)
    select h.hour, ${ROLLUP_OTHER}::text, 0, ${ROLLUP_OTHER}::text, coalesce(sum(f.bytes), 0),
      coalesce(sum(f.flows), 0)
    from unnest(${hours}::text::int8[]) as h(hour) left join folded f on f.hour = h.hour
    group by h.hour
    on conflict (hour, protocol, port, responder) do update set
      bytes = r.bytes + excluded.bytes, flows = r.flows + excluded.flows`;
  return due.length;
}

/** Uids looked up per statement. */
const LOOKUP_CHUNK = 20_000;

/**
 * The stored versions of these flows (those in `traffic_data`), as the
 * roll-ups counted them: read before they are overwritten, to subtract.
 *
 * A semi-join on the unnested uids, not `flow_uid = any(array)`: the array
 * is cast from text, so the planner cannot hash it, and for thousands of
 * uids it chose a sequential scan testing every row against every uid.
 * Measured on PGlite with 14,710 flows stored and 5,000 uids: 61 s that
 * way, 0.7 s this way (it probes the flow_uid index); a 50k-packet pass
 * spent 100 s in this one statement.
 */
export async function readStoredRollupFlows(
  tx: Sql,
  uids: readonly string[],
): Promise<RollupFlow[]> {
  const out: RollupFlow[] = [];
  for (let i = 0; i < uids.length; i += LOOKUP_CHUNK) {
    const rows = await tx<RollupFlow[]>`
      select first_seen, last_seen, protocol, label,
        (orig_packets + resp_packets)::float8 as packets,
        (orig_bytes + resp_bytes)::float8 as bytes,
        host(orig_ip) as orig_ip, host(resp_ip) as resp_ip, resp_port
      from traffic_data
      where flow_uid in (
        select unnest(${pgArrayLiteral(uids.slice(i, i + LOOKUP_CHUNK))}::text::text[]))`;
    for (const row of rows) out.push(row);
  }
  return out;
}
