-- The packets of each batch not aggregated yet, in the compact column form of
-- shared/packet/packet_columns.ts: written by ingest in the batch's own
-- transaction, read by the aggregator in one value per batch, and deleted by
-- the pass that aggregates the batch. Reading the same packets as raw_packets
-- rows costs the server and the client seconds per million packets; this
-- table is a work queue, so it stays small while the aggregator keeps up.
-- Batches stored before this table existed (or by an older server) have no
-- row here, and the aggregator reads their raw_packets rows instead.
create table batch_packet_columns (
  batch_id bigint primary key,
  block bytea not null
);
-- The blocks are dense binary: compressing them costs ingest time for little gain.
alter table batch_packet_columns alter column block set storage external;
