-- Aggregator state: the watermark over ingested batches (in commit order), the
-- packet-time flow clock, pass statistics, and the flow table itself, so a pass
-- can be killed at any point and rerun with the same result, and any instance
-- can take over from another.

create table aggregator_progress (
  id smallint primary key default 1 check (id = 1),
  -- Last batch aggregated. Batch ids are visible in commit order below the
  -- ingest horizon, so no batch can appear behind this point later.
  last_batch_id bigint not null default 0,
  -- Increments every pass; an instance reuses its in-memory flow table only
  -- when the version is the one it wrote itself.
  state_version bigint not null default 0,
  -- Packet-time clock of the flow table and the wall time it last moved.
  flow_clock double precision,
  flow_clock_wall timestamptz,
  -- The flow table (open flows, fragments, context windows) as of the
  -- watermark: gzip-compressed JSON, opaque to the database (a jsonb of a large
  -- table costs more to parse than the pass itself).
  flow_table_state bytea,
  last_pass_at timestamptz,
  last_pass_duration_ms double precision,
  last_pass_packets bigint not null default 0,
  last_pass_flows bigint not null default 0,
  packets_aggregated bigint not null default 0,
  flows_written bigint not null default 0
);
insert into aggregator_progress default values;

-- Drops one partition of raw_packets, checking that it is one.
create function raw_packets_drop_partition(part_name text) returns void
language plpgsql as $$
begin
  if not exists (
    select 1 from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    where i.inhparent = to_regclass(format('%I.raw_packets', current_schema()))
      and c.relname = part_name
      and c.relnamespace = current_schema()::regnamespace
  ) then
    raise exception '% is not a partition of raw_packets', part_name;
  end if;
  execute format('drop table %I.%I', current_schema(), part_name);
end
$$;
