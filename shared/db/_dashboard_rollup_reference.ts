/**
 * Test helper: the dashboard roll-ups as stored, and as a direct GROUP BY
 * over `traffic_data` computes them, in one comparable form (values rounded
 * to 1/1000, rows that add up to nothing left out: a folded hour's empty
 * `other` row, a minute whose deltas cancelled out).
 *
 * @module
 */
import type { Sql } from "./open_database.ts";

/** Every roll-up row as text, per table, sorted. */
export interface RollupSnapshot {
  /** `dashboard_minute`. */
  minute: string[];
  /** `dashboard_class_minute`. */
  classes: string[];
  /** `dashboard_host_hour`. */
  hosts: string[];
  /** `dashboard_service_hour`. */
  services: string[];
}

const r3 = (column: string) => `round((${column})::numeric, 3)`;

async function rows(sql: Sql, query: string): Promise<string[]> {
  const result = await sql.unsafe<{ row: string }[]>(query);
  return result.map((r) => r.row).sort();
}

/** The roll-up tables as stored. */
export async function storedRollups(sql: Sql): Promise<RollupSnapshot> {
  return {
    minute: await rows(
      sql,
      `select concat_ws('|', minute, protocol, ${r3("packets")}, ${r3("bytes")}, flows_started,
        flows_ended) as row from dashboard_minute
      where ${r3("packets")} <> 0 or ${r3("bytes")} <> 0 or flows_started <> 0 or flows_ended <> 0`,
    ),
    classes: await rows(
      sql,
      `select concat_ws('|', minute, label, flows) as row from dashboard_class_minute
      where flows <> 0`,
    ),
    hosts: await rows(
      sql,
      `select concat_ws('|', hour, ip, ${r3("bytes")}, ${r3("packets")}, flows) as row
      from dashboard_host_hour where ${r3("bytes")} <> 0 or ${r3("packets")} <> 0 or flows <> 0`,
    ),
    services: await rows(
      sql,
      `select concat_ws('|', hour, protocol, port, responder, ${r3("bytes")}, flows) as row
      from dashboard_service_hour where ${r3("bytes")} <> 0 or flows <> 0`,
    ),
  };
}

/** A flow's share of slot `s` (minutes: 60, hours: 3600) of its span (migration 020's function). */
const part = (slot: number, s: string) =>
  `dashboard_share(f.first_seen, f.last_seen, ${s}, ${slot})`;

/** The roll-ups computed from `traffic_data` directly (no hour folded). */
export async function rollupsFromFlows(sql: Sql): Promise<RollupSnapshot> {
  // As spread() in dashboard_rollups.ts: the first slot and the last 8 days (migration 020's
  // dashboard_slots, which its backfill uses too).
  const minutes = `dashboard_slots(f.first_seen, f.last_seen, 60) as m`;
  const hours = `dashboard_slots(f.first_seen, f.last_seen, 3600) as h`;
  return {
    minute: await rows(
      sql,
      `select concat_ws('|', m, protocol, ${r3("packets")}, ${r3("bytes")}, started, ended) as row
      from (
        select m, f.protocol,
          sum((f.orig_packets + f.resp_packets) * (${part(60, "m")})) as packets,
          sum((f.orig_bytes + f.resp_bytes) * (${part(60, "m")})) as bytes,
          count(*) filter (where m = floor(f.first_seen / 60)) as started,
          count(*) filter (where m = floor(f.last_seen / 60)) as ended
        from traffic_data f, ${minutes} group by m, f.protocol) as g
      where ${r3("packets")} <> 0 or ${r3("bytes")} <> 0 or started <> 0 or ended <> 0`,
    ),
    classes: await rows(
      sql,
      `select concat_ws('|', floor(first_seen / 60)::int8, coalesce(label, 'unscored'), count(*))
        as row
      from traffic_data group by floor(first_seen / 60)::int8, coalesce(label, 'unscored')`,
    ),
    hosts: await rows(
      sql,
      `select concat_ws('|', h, ip, ${r3("bytes")}, ${r3("packets")}, flows) as row from (
        select h, f.ip, sum(f.bytes * (${part(3600, "h")})) as bytes,
          sum(f.packets * (${part(3600, "h")})) as packets,
          count(*) filter (where h = floor(f.first_seen / 3600)) as flows
        from (
          select host(orig_ip) as ip, first_seen, last_seen, orig_bytes + resp_bytes as bytes,
            orig_packets + resp_packets as packets from traffic_data where orig_ip is not null
          union all
          select host(resp_ip), first_seen, last_seen, orig_bytes + resp_bytes,
            orig_packets + resp_packets from traffic_data where resp_ip is not null
        ) as f, ${hours}
        group by h, f.ip) as g
      where ${r3("bytes")} <> 0 or ${r3("packets")} <> 0 or flows <> 0`,
    ),
    services: await rows(
      sql,
      `select concat_ws('|', h, protocol, resp_port, responder, ${r3("bytes")}, flows) as row
      from (
        select h, f.protocol, f.resp_port, host(f.resp_ip) as responder,
          sum((f.orig_bytes + f.resp_bytes) * (${part(3600, "h")})) as bytes,
          count(*) filter (where h = floor(f.first_seen / 3600)) as flows
        from traffic_data f, ${hours}
        where f.resp_port is not null and f.resp_ip is not null
          and f.protocol in ('TCP', 'UDP', 'SCTP')
        group by h, f.protocol, f.resp_port, host(f.resp_ip)) as g
      where ${r3("bytes")} <> 0 or flows <> 0`,
    ),
  };
}
