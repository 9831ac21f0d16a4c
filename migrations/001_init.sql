-- Initial schema: accepted batches, raw packets (partitioned by ingestion day),
-- aggregated flows. Written for PostgreSQL 15+ and PGlite alike; objects are
-- created in the current schema so tests can isolate themselves by schema.

-- One row per accepted ingest batch. Ids are handed out in commit order
-- (see aggregator_queries.ts: ingest holds a shared advisory lock that the
-- aggregator briefly takes exclusively), so the aggregator's watermark is a
-- plain id.
create table ingest_batches (
  id bigserial primary key,
  agent_id text not null,
  idempotency_key text not null unique,
  record_count integer not null check (record_count >= 0),
  body_sha256 text not null,
  received_at timestamptz not null default now()
);
create index ingest_batches_received_at on ingest_batches (received_at);

-- Raw packets, partitioned by the day they were received (UTC). Retention drops
-- whole partitions instead of running a full-table DELETE; ingestion time, not
-- capture time, decides, so an old capture replayed today is not discarded at once.
create table raw_packets (
  id bigserial not null,
  received_at timestamptz not null default now(),
  batch_id bigint not null,
  agent_id text not null,
  "timestamp" double precision not null,
  interface text not null,
  src_ip inet,
  dst_ip inet,
  protocol text not null,
  src_port integer,
  dst_port integer,
  length integer not null,
  caplen integer not null,
  link_type integer,
  eth_src text,
  eth_dst text,
  ether_type integer,
  vlan_id integer,
  vlan_inner_id integer,
  ip_version smallint,
  ip_proto smallint,
  ttl smallint,
  ip_id bigint,
  ip_tos smallint,
  ip_header_length smallint,
  ip_flow_label integer,
  frag_offset integer,
  more_fragments boolean not null,
  dont_fragment boolean not null,
  is_fragment boolean not null,
  tcp_seq bigint,
  tcp_ack bigint,
  tcp_flags smallint,
  tcp_window integer,
  tcp_header_length smallint,
  icmp_type smallint,
  icmp_code smallint,
  icmp_id integer,
  icmp_seq integer,
  arp_opcode integer,
  payload_length integer not null,
  malformed boolean not null,
  malformed_reason text,
  data bytea,
  primary key (id, received_at)
) partition by range (received_at);
create index raw_packets_batch_id on raw_packets using brin (batch_id);
create index raw_packets_timestamp on raw_packets using brin ("timestamp");

-- Creates the partition of raw_packets that holds `day` (UTC) unless it exists.
-- The advisory lock serialises concurrent creators (several servers at midnight).
create function raw_packets_ensure_partition(day date) returns text
language plpgsql as $$
declare
  part_name text := 'raw_packets_' || to_char(day, 'YYYYMMDD');
  lower_bound timestamptz := day::timestamp at time zone 'UTC';
begin
  perform pg_advisory_xact_lock(hashtext('raw_packets_ensure_partition:' || current_schema()));
  if to_regclass(format('%I.%I', current_schema(), part_name)) is null then
    execute format(
      'create table %I.%I partition of %I.raw_packets for values from (%L) to (%L)',
      current_schema(), part_name, current_schema(),
      lower_bound, lower_bound + interval '1 day'
    );
  end if;
  return part_name;
end
$$;

-- Aggregated bidirectional flows, one row per flow, updated while it is active.
create table traffic_data (
  id bigserial primary key,
  flow_uid text not null unique,
  -- Null for flows Community ID does not define (non-IP).
  community_id text,
  interface text,
  orig_ip inet,
  orig_port integer,
  resp_ip inet,
  resp_port integer,
  protocol text not null,
  ip_proto smallint,
  vlan integer,
  vlan_inner integer,
  first_seen double precision not null,
  last_seen double precision not null,
  orig_packets bigint not null default 0,
  resp_packets bigint not null default 0,
  orig_bytes bigint not null default 0,
  resp_bytes bigint not null default 0,
  state text not null check (state in ('active', 'closed')),
  close_reason text,
  -- Zeek-style connection state (S0, SF, REJ, ...).
  conn_state text,
  -- The model's input vector, in the order of FEATURE_NAMES of feature_version
  -- (models/FEATURES.md): exactly what the model scored.
  features real[],
  feature_version smallint,
  label text,
  score real,
  model_version text,
  updated_at timestamptz not null default now()
);
create index traffic_data_last_seen on traffic_data (last_seen desc, id desc);
create index traffic_data_community_id on traffic_data (community_id);
