-- incident_flows without its foreign key to incidents (issue 15). The check
-- ran once per member row inserted, a lookup and a row lock on the
-- incident: in EXPLAIN ANALYZE of the 303k members one 1.5 M-packet pass of
-- the bench capture inserts, the trigger took 10.8 of the insert's 24.4 s
-- (a loaded 2-core machine, load average 21). Nothing relied on it: only
-- the aggregator's pass writes incident_flows, in the transaction that
-- creates their incidents (shared/db/incident_store.ts), and the only
-- delete of an incident there removes one left with no member, so the
-- cascade never had a row to delete.
alter table incident_flows drop constraint if exists incident_flows_incident_id_fkey;
