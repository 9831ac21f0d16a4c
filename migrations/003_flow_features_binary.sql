-- Cheaper flow writes. An aggregation pass upserts every new or changed flow,
-- up to hundreds of thousands of them, so the cost of writing one flow row
-- bounds how much traffic one aggregator keeps up with.

-- traffic_data.features becomes bytea: the model's input vector as consecutive
-- big-endian IEEE float32 values, exactly what float4send gives for each, in
-- the order of FEATURE_NAMES of feature_version (models/FEATURES.md). As
-- real[], every vector travelled as up to 1 KB of decimal text that the
-- aggregator had to format and PostgreSQL had to parse value by value: most of
-- the cost of writing a flow. As bytea the aggregator sends the float32 bytes
-- it already has, all of a statement's vectors in one parameter, and a stored
-- vector takes 364 bytes instead of the 388 of a real[] (no array header). The
-- values are the same float32s bit for bit; decodeFeatureVector()
-- (shared/db/feature_vector_bytes.ts) reads them back.
--
-- ALTER ... USING cannot hold a subquery, so the conversion is a function for
-- the length of this migration.
create function traffic_data_features_to_bytea(v real[]) returns bytea
language sql immutable strict as $$
  select coalesce(string_agg(float4send(x), ''::bytea order by i), ''::bytea)
  from unnest(v) with ordinality as t(x, i)
$$;

-- flow_uid and community_id are opaque ASCII ids (a hash, and base64), only
-- ever compared for equality, yet their B-tree indexes compared them with the
-- database's collation (strcoll) on every insert and update. Byte order ("C")
-- gives the same equality and, for ASCII, the same order as C.UTF-8, and cut
-- the server's time per written flow by about a tenth (PostgreSQL 15, 300k
-- flows). One ALTER so the table is rewritten once.
alter table traffic_data
  alter column features type bytea using traffic_data_features_to_bytea(features),
  alter column flow_uid type text collate "C",
  alter column community_id type text collate "C";

drop function traffic_data_features_to_bytea(real[]);

alter table traffic_data
  add constraint traffic_data_features_float32
  check (octet_length(features) % 4 = 0);

comment on column traffic_data.features is
  'The model''s input vector in the order of FEATURE_NAMES of feature_version '
  '(models/FEATURES.md), exactly what the model scored: consecutive big-endian '
  'float32 values (float4send of each), 4 bytes per feature.';
