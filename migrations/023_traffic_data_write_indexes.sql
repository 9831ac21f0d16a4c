-- Fewer and smaller indexes on traffic_data, for the aggregator's writes
-- (issue 15): every flow a pass writes updates each index whose predicate
-- it meets, and a profile of a pass put about 33 of the 57 s that inserting
-- its 362k flows took (under load) in that upkeep. EXPLAIN of every query
-- that reads traffic_data, on PostgreSQL with 1 M flows, before and after
-- (README, "Aggregation pass"), decided what goes:
--
-- The name indexes of migration 018 served no query: the host filter of
-- flow search compares lower(tls_sni), lower(regexp_replace(http_host, ...))
-- and lower(dns_query), expressions these indexes do not hold, so it walked
-- the last_seen index before and does after; the dashboard's names read the
-- partial indexes of migration 021.
drop index if exists traffic_data_tls_sni_idx;
drop index if exists traffic_data_http_host_idx;
drop index if exists traffic_data_dns_query_idx;

-- The label and agent filters take a handful of values each. A common one
-- is served by walking the last_seen index (the planner did so for the 3 %
-- of attack labels already); a rare one needs an index on the column, and
-- the column alone does: its few matching flows are sorted after. Alone, the
-- key deduplicates (one entry per value and leaf page instead of one per
-- flow with its last_seen and id), so the index is a fraction of the size
-- and each insert writes less.
drop index if exists traffic_data_label;
create index traffic_data_label on traffic_data (label);
drop index if exists traffic_data_agent;
create index traffic_data_agent on traffic_data (agent);
