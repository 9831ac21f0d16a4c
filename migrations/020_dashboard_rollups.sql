-- Roll-ups of traffic_data for the dashboard (issue 12): a 24 h or 7 d
-- dashboard read spread every flow of the period over its buckets, 5-9 s at
-- 1 M flows. The aggregator's pass adds what each flow it writes changes
-- (shared/db/dashboard_rollups.ts) in its own transaction, and
-- `deno task rescore` moves class counts; no trigger (one made flow writes 4
-- times slower). Each flow's packets and bytes are spread evenly over its
-- span first_seen..last_seen, as the dashboard always did; a minute (or hour)
-- holds the share of the flow inside it. Times are epoch seconds: `minute` is
-- floor(t / 60), `hour` floor(t / 3600). Only the last 8 days of a span (and
-- its first slot, where it is counted as started) get their share: no
-- dashboard period reaches further back than 7 days, and a flow with a bogus
-- span (a packet stamped decades off) must not make millions of rows.

-- Traffic per minute and protocol; flows counted in the minute of their
-- first_seen (started) and of their last_seen (ended).
create table dashboard_minute (
  minute bigint not null,
  protocol text not null,
  packets double precision not null default 0,
  bytes double precision not null default 0,
  flows_started bigint not null default 0,
  flows_ended bigint not null default 0,
  primary key (minute, protocol)
);

-- Flows started per minute by predicted class ('unscored' for no label).
create table dashboard_class_minute (
  minute bigint not null,
  label text not null,
  flows bigint not null default 0,
  primary key (minute, label)
);

-- Bytes and packets per hour and host (either end; text of host(ip)), flows
-- counted in the hour they started. Once an hour is over (see
-- dashboard_open_hour) it keeps its 100 biggest hosts and folds the rest
-- into the row 'other', so an hour holds at most 101 rows whatever the
-- number of addresses (a scan brings thousands).
create table dashboard_host_hour (
  hour bigint not null,
  ip text not null,
  bytes double precision not null default 0,
  packets double precision not null default 0,
  flows bigint not null default 0,
  primary key (hour, ip)
);

-- Bytes per hour and service (protocol, responder port) and responder; the
-- same folding keeps an hour's 200 biggest rows and the row
-- ('other', 0, 'other').
create table dashboard_service_hour (
  hour bigint not null,
  protocol text not null,
  port integer not null,
  responder text not null,
  bytes double precision not null default 0,
  flows bigint not null default 0,
  primary key (hour, protocol, port, responder)
);

-- Hours written to since they were last folded.
create table dashboard_open_hour (
  hour bigint primary key
);

-- The slots (minutes: slot_sec 60, hours: 3600) a flow's span gets a share
-- of: its first and those of its last 8 days (11520 minutes, 192 hours), as
-- spread() in shared/db/dashboard_rollups.ts does for the aggregator's pass.
-- Plain SQL functions, so the planner inlines them into the queries below.
create function dashboard_slots(first_seen float8, last_seen float8, slot_sec integer)
returns setof bigint language sql immutable as $$
  select floor(first_seen / slot_sec)::bigint
  union
  select generate_series(
    greatest(floor(first_seen / slot_sec)::bigint,
      floor(last_seen / slot_sec)::bigint - (8 * 86400 / slot_sec)),
    floor(last_seen / slot_sec)::bigint)
$$;

-- The share of a flow's packets and bytes inside slot `slot`: the part of
-- its span inside the slot (all of it for a flow of one instant).
create function dashboard_share(first_seen float8, last_seen float8, slot bigint,
  slot_sec integer)
returns float8 language sql immutable as $$
  select case when last_seen > first_seen
    then (least(last_seen, (slot + 1)::float8 * slot_sec)
      - greatest(first_seen, slot::float8 * slot_sec)) / (last_seen - first_seen)
    else 1 end
$$;

-- Backfill from the flows stored so far, so an upgraded database shows its
-- history.
insert into dashboard_minute (minute, protocol, packets, bytes, flows_started, flows_ended)
select m, f.protocol,
  sum((f.orig_packets + f.resp_packets) * p.part), sum((f.orig_bytes + f.resp_bytes) * p.part),
  count(*) filter (where m = floor(f.first_seen / 60)::bigint),
  count(*) filter (where m = floor(f.last_seen / 60)::bigint)
from traffic_data f,
  dashboard_slots(f.first_seen, f.last_seen, 60) as m,
  dashboard_share(f.first_seen, f.last_seen, m, 60) as p(part)
group by m, f.protocol;

insert into dashboard_class_minute (minute, label, flows)
select floor(first_seen / 60)::bigint, coalesce(label, 'unscored'), count(*)
from traffic_data
group by 1, 2;

-- Hosts and services go through temporary tables first: an hour's rows past
-- its biggest are added up into 'other' before anything is stored, so the
-- tables are written once, with no dead rows.
create temporary table dashboard_host_all on commit drop as
select h as hour, e.ip, sum(e.bytes * p.part) as bytes, sum(e.packets * p.part) as packets,
  count(*) filter (where h = floor(e.first_seen / 3600)::bigint) as flows
from (
  select host(orig_ip) as ip, first_seen, last_seen, (orig_bytes + resp_bytes) as bytes,
    (orig_packets + resp_packets) as packets
  from traffic_data where orig_ip is not null
  union all
  select host(resp_ip), first_seen, last_seen, (orig_bytes + resp_bytes),
    (orig_packets + resp_packets)
  from traffic_data where resp_ip is not null
) as e,
  dashboard_slots(e.first_seen, e.last_seen, 3600) as h,
  dashboard_share(e.first_seen, e.last_seen, h, 3600) as p(part)
group by h, e.ip;

create temporary table dashboard_service_all on commit drop as
select h as hour, f.protocol, f.resp_port as port, host(f.resp_ip) as responder,
  sum((f.orig_bytes + f.resp_bytes) * p.part) as bytes,
  count(*) filter (where h = floor(f.first_seen / 3600)::bigint) as flows
from traffic_data f,
  dashboard_slots(f.first_seen, f.last_seen, 3600) as h,
  dashboard_share(f.first_seen, f.last_seen, h, 3600) as p(part)
where f.resp_port is not null and f.resp_ip is not null and f.protocol in ('TCP', 'UDP', 'SCTP')
group by h, f.protocol, f.resp_port, host(f.resp_ip);

-- Every hour but the newest two is folded, as the aggregator folds an hour
-- once it is over (shared/db/dashboard_rollups.ts); the newest two stay open.
insert into dashboard_open_hour (hour)
select hour from (select hour from dashboard_host_all union select hour from dashboard_service_all) h
where hour >= (select max(hour) - 1
  from (select hour from dashboard_host_all union select hour from dashboard_service_all) a);

insert into dashboard_host_hour (hour, ip, bytes, packets, flows)
select hour, case when kept then ip else 'other' end, sum(bytes), sum(packets), sum(flows)
from (
  select a.*, o.hour is not null
      or row_number() over (partition by a.hour order by a.bytes desc, a.ip) <= 100 as kept
  from dashboard_host_all a left join dashboard_open_hour o on o.hour = a.hour
) as r
group by 1, 2;
-- A folded hour has its 'other' row, even when nothing was folded into it.
insert into dashboard_host_hour (hour, ip)
select distinct a.hour, 'other' from dashboard_host_all a
where not exists (select 1 from dashboard_open_hour o where o.hour = a.hour)
on conflict do nothing;

insert into dashboard_service_hour (hour, protocol, port, responder, bytes, flows)
select hour, case when kept then protocol else 'other' end, case when kept then port else 0 end,
  case when kept then responder else 'other' end, sum(bytes), sum(flows)
from (
  select a.*, o.hour is not null
      or row_number() over (partition by a.hour
        order by a.bytes desc, a.protocol, a.port, a.responder) <= 200 as kept
  from dashboard_service_all a left join dashboard_open_hour o on o.hour = a.hour
) as r
group by 1, 2, 3, 4;
insert into dashboard_service_hour (hour, protocol, port, responder)
select distinct a.hour, 'other', 0, 'other' from dashboard_service_all a
where not exists (select 1 from dashboard_open_hour o where o.hour = a.hour)
on conflict do nothing;

analyze dashboard_minute;
analyze dashboard_class_minute;
analyze dashboard_host_hour;
analyze dashboard_service_hour;
