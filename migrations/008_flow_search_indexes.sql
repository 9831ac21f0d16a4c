-- Indexes for flow search (GET /api/alltraffic and /alltraffic_page): each
-- selective filter finds its flows through an index instead of reading all
-- of traffic_data. shared/db/flow_search_plan_test.ts prints and checks the
-- plans on PostgreSQL with 1 million flows.
--
-- They cost the aggregator: every flow it writes updates them. Measured on a
-- loaded machine (PostgreSQL 15, 300k-row insert into traffic_data): 12.9-13.5 s
-- without them, 20.6-23.9 s with these plus an index on score, which was then
-- left out: min_score is served by walking the last_seen index (the plans
-- show it), and a score sort reads every flow either way.
--
-- ip, orig_ip, resp_ip: B-trees on inet serve `<<=` (in a CIDR) as a range
-- scan, and `ip` (either end) as a BitmapOr of the two.
create index traffic_data_orig_ip on traffic_data (orig_ip);
create index traffic_data_resp_ip on traffic_data (resp_ip);
-- port (either end) and resp_port.
create index traffic_data_orig_port on traffic_data (orig_port);
create index traffic_data_resp_port on traffic_data (resp_port);
-- label: the non-benign classes are rare, and a label page is newest first.
create index traffic_data_label on traffic_data (label, last_seen desc, id desc);
-- state=active: the live flows, a small part of the table, newest first.
create index traffic_data_active on traffic_data (last_seen desc, id desc) where state = 'active';
