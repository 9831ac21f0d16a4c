-- Flow search by host name (issue 14): `host=NAME` compares the TLS server
-- name, the HTTP host without its port and the DNS question, each lower
-- case, exactly or, for `*.example.com`, by suffix. No index held those
-- names (migration 023 dropped the plain column indexes, which the
-- lower-case expressions could not use), so a search newest first walked
-- the last_seen index until it had a page: on PostgreSQL 15 with 1 M flows,
-- 1.5-2.4 s for a rare or absent name, exact or suffix.
--
-- One index per name, on the reversed lower-case name: an exact name is an
-- equality and a suffix a LIKE prefix of the reversed name, so one index
-- serves both (text_pattern_ops, so a prefix is a range whatever the
-- database's collation). Partial, so a flow without that name costs the
-- aggregator's writes nothing; most flows carry one name, so most pay one
-- index entry. They are not free: inserting 100k flows (75 % with a name)
-- into the 1 M-flow table took 7-19 % more backend CPU in alternating pairs
-- (README, "Flow search"). The name alone, not (name, last_seen, id): the
-- alone key deduplicates, and the wider index cost 20-42 % for a few tens of
-- ms saved on a common exact name.
-- flow_search.ts asks for each name apart (a union newest first), since
-- with the three ORed PostgreSQL still walks last_seen.
create index traffic_data_tls_sni_reversed on traffic_data
  (reverse(lower(tls_sni)) text_pattern_ops) where tls_sni is not null;
create index traffic_data_http_host_reversed on traffic_data
  (reverse(lower(regexp_replace(http_host, ':[0-9]+$', ''))) text_pattern_ops)
  where http_host is not null;
create index traffic_data_dns_query_reversed on traffic_data
  (reverse(lower(dns_query)) text_pattern_ops) where dns_query is not null;

-- How often each name occurs, for the planner: ANALYZE keeps no statistics
-- for the expression of a partial index, so without these it takes every
-- name to match 0.5 % of flows (5000 of 1 M) and prices a walk of the
-- last_seen index below a lookup even for a name no flow has.
create statistics traffic_data_tls_sni_reversed on (reverse(lower(tls_sni))) from traffic_data;
create statistics traffic_data_http_host_reversed
  on (reverse(lower(regexp_replace(http_host, ':[0-9]+$', '')))) from traffic_data;
create statistics traffic_data_dns_query_reversed on (reverse(lower(dns_query)))
  from traffic_data;
analyze traffic_data;
