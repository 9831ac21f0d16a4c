-- Indexes for the dashboard's small queries (issue 12), each of which read
-- far more than it returns at 1 M flows (server/bench/dashboard_bench.ts).
--
-- The names of the top hosts and services (shared/db/flow_names.ts) look at
-- the newest flows of each key in the period that carry a name. Through the
-- plain resp_ip and resp_port indexes of migration 008 they read every flow
-- of the key however old and kept the period's few (a BitmapAnd with the
-- last_seen index: 125 ms for 10 hosts over 15 min), or walked the table
-- (5.3 s for the services of 24 h, a sequential scan the planner expected
-- to stop early). Partial, so they hold only the flows with a name, and the
-- flows without one cost the aggregator's writes nothing more.
create index traffic_data_resp_ip_named on traffic_data (resp_ip, last_seen desc, id desc)
  where coalesce(tls_sni, http_host) is not null;
create index traffic_data_resp_port_named on traffic_data (resp_port, last_seen desc, id desc)
  where coalesce(tls_sni, http_host, dns_query) is not null;

-- Agents reporting: each agent's newest batch, found by a skip scan over the
-- agents (a handful) instead of counting the distinct agents of every batch
-- received in the period (a week of one batch a second: 605k rows, 1.6 s).
create index ingest_batches_agent_received_at on ingest_batches (agent_id, received_at);

-- How many flows carry a name, for the planner: without it, it takes nearly
-- every flow to have one (the default for IS NOT NULL on an expression), so
-- it prices the partial indexes above as if they held the whole table and
-- walked the last_seen index instead, filtering out the other keys' flows
-- (143k flows for the services of 24 h with no name among them).
create statistics traffic_data_host_name on (coalesce(tls_sni, http_host)) from traffic_data;
create statistics traffic_data_service_name on (coalesce(tls_sni, http_host, dns_query))
  from traffic_data;
analyze traffic_data;
