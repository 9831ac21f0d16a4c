-- Incidents: the non-benign flows of one class from one source (or to one
-- target, for floods with many sources) within a time window, so that one
-- port scan is one incident rather than a thousand flagged flows. Written by
-- the aggregator in the transaction of the pass that scores the flows
-- (shared/db/incident_store.ts), so they never disagree with traffic_data.

create table incidents (
  id bigserial primary key,
  -- The predicted class shared by every flow of the incident.
  label text not null,
  -- What the flows share: the originator ('source') or the responder ('target').
  key_kind text not null check (key_kind in ('source', 'target')),
  key_ip inet not null,
  -- Aggregates over the member flows as stored now in traffic_data, recomputed
  -- by every pass that writes one of them.
  flow_count bigint not null default 0,
  port_count bigint not null default 0,
  target_count bigint not null default 0,
  source_count bigint not null default 0,
  -- Packet time, epoch seconds, like traffic_data.first_seen / last_seen.
  first_seen double precision not null,
  last_seen double precision not null,
  max_score real not null,
  -- ALERT_MIN_SCORE of the pass that opened it: its flows scored at least this.
  min_score real not null,
  -- 'open' takes new flows of its class and key within the window;
  -- 'acknowledged' takes no new ones (a resumed attack opens a new incident).
  state text not null default 'open' check (state in ('open', 'acknowledged')),
  acknowledged_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- The list at /alerts and GET /api/alerts: newest activity first, keyset pages.
create index incidents_last_seen on incidents (last_seen desc, id desc);
-- The pass's lookup of the open incident a flow joins.
create index incidents_open_key on incidents (label, key_kind, key_ip, last_seen)
  where state = 'open';

-- Which incident each flagged flow belongs to (at most one). Keyed by
-- flow_uid, so a flow written again by a later (or rerun) pass is never
-- counted twice. No foreign key to traffic_data: flows are only ever added
-- or updated there, and tests empty traffic_data on its own.
create table incident_flows (
  flow_uid text collate "C" primary key,
  incident_id bigint not null references incidents (id) on delete cascade
);
create index incident_flows_incident on incident_flows (incident_id);
