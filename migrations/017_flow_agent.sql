-- Flows are kept apart per capturing agent (sensor) and per tunnel that
-- names a network (VXLAN/Geneve VNI, GRE key, ERSPAN or PPPoE session): two
-- agents seeing one conversation store a flow each, as Zeek and Arkime do,
-- and two tenants' overlapping inner addresses stay apart. These columns
-- keep what a flow was keyed on (see shared/flow/flow_table.ts). Nullable, so
-- adding them rewrites no row: flows stored before have no agent.
alter table traffic_data
  add column agent text,
  add column tunnel_type text,
  add column tunnel_id bigint;
-- The agent filter of flow search (GET /api/alltraffic?agent=), newest
-- first like the label index: one agent's flows without reading the others'
-- (shared/db/flow_search_plan_test.ts checks the plan).
create index traffic_data_agent on traffic_data (agent, last_seen desc, id desc);
