-- Ingest writes raw_packets by binary COPY of the packets' own fields only:
-- the batch id and the agent come from settings of the ingest transaction
-- (set_config(..., true), so they end with it). The COPY data of a batch is
-- then the same bytes whatever format it arrived in (JSON or Arrow, any
-- compression), and its SHA-256 names the batch's content.
alter table raw_packets
  alter column batch_id set default nullif(current_setting('traffic.ingest_batch_id', true), '')::bigint,
  alter column agent_id set default nullif(current_setting('traffic.ingest_agent_id', true), '');

-- SHA-256 of that COPY data: a batch sent again under its key is a repeat when
-- either the body or the content matches, so an agent that switched wire
-- formats between attempts (an upgrade with batches in its outbox, a file
-- read again with --restart) is answered 200, not 409. Null for batches
-- stored before this column existed; their repeats match on body_sha256.
alter table ingest_batches add column content_sha256 text;
