-- Application-layer metadata (issue 14). The agent extracts it from the
-- packets it decodes, before PAYLOAD_CAPTURE cuts the payload, and sends it
-- in the record; raw_packets keeps it per packet. The aggregator folds it
-- into the flow (the first value of each field, a DNS query count and the
-- first names) and adds GeoIP country and ASN of both endpoints once per
-- flow. All nullable (or defaulted), so adding them rewrites no existing row.
alter table raw_packets
  add column app_protocol text,
  add column dns_query text,
  add column dns_qtype integer,
  add column dns_rcode smallint,
  add column dns_answers text,
  add column dns_cnames text,
  add column dns_ttl bigint,
  add column dns_names text,
  add column tls_sni text,
  add column tls_alpn text,
  add column tls_versions text,
  add column tls_ja3 text,
  add column tls_ja4 text,
  add column tls_version integer,
  add column tls_cipher integer,
  add column http_method text,
  add column http_host text,
  add column http_path text,
  add column http_user_agent text,
  add column http_status smallint,
  add column ssh_banner text,
  add column dhcp_hostname text,
  add column dhcp_requested_ip inet;

alter table traffic_data
  add column app_protocol text,
  add column dns_query text,
  add column dns_qtype integer,
  add column dns_rcode smallint,
  add column dns_answers text,
  add column dns_query_count integer not null default 0,
  add column dns_names text,
  add column tls_sni text,
  add column tls_alpn text,
  add column tls_ja3 text,
  add column tls_ja4 text,
  add column tls_version integer,
  add column tls_cipher integer,
  add column http_method text,
  add column http_host text,
  add column http_path text,
  add column http_user_agent text,
  add column http_status smallint,
  add column ssh_client text,
  add column ssh_server text,
  add column dhcp_hostname text,
  add column orig_scope text,
  add column orig_country text,
  add column orig_asn bigint,
  add column orig_as_org text,
  add column resp_scope text,
  add column resp_country text,
  add column resp_asn bigint,
  add column resp_as_org text;

-- The filters of /api/alltraffic (host, ja4, app, country, asn).
create index traffic_data_tls_sni_idx on traffic_data (tls_sni) where tls_sni is not null;
create index traffic_data_http_host_idx on traffic_data (http_host) where http_host is not null;
create index traffic_data_dns_query_idx on traffic_data (dns_query) where dns_query is not null;
create index traffic_data_tls_ja4_idx on traffic_data (tls_ja4) where tls_ja4 is not null;
create index traffic_data_app_protocol_idx on traffic_data (app_protocol) where app_protocol is not null;
