-- Tunnelled packets: a record describes the inner packet, and these columns
-- keep the tunnel that carried it (see the packet record schema in the
-- README). Nullable or defaulted, so adding them rewrites no existing row.
alter table raw_packets
  add column tunnel_type text,
  add column tunnel_src_ip inet,
  add column tunnel_dst_ip inet,
  add column tunnel_id bigint,
  add column tunnel_depth smallint not null default 0;
