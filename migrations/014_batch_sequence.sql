-- Capture order of batches (issue 10). An agent names the stream a batch
-- belongs to (a capture file by its content hash, or the agent's live
-- capture) and the position of the batch's first packet in it; the next batch
-- of the stream starts at `sequence + record_count`. The aggregator merges
-- each stream's batches in that order, whatever order they committed in, so
-- a batch replayed late from an outbox is merged where it belongs. Both null
-- for batches that carry no order (older agents, hand-made requests): those
-- keep the commit order.
alter table ingest_batches
  add column stream text,
  add column sequence bigint,
  add constraint ingest_batches_stream_sequence check (
    (stream is null) = (sequence is null) and (sequence is null or sequence >= 0)
  ),
  -- A batch above the aggregator's watermark that a pass already took: one
  -- held back before it (waiting for an earlier batch of its stream) keeps
  -- the watermark below, so the batches taken past it are marked here.
  add column aggregated boolean not null default false;

-- Where each stream stands: the position the next batch to merge starts at.
create table aggregator_streams (
  agent_id text not null,
  stream text not null,
  next_sequence bigint not null,
  updated_at timestamptz not null default now(),
  primary key (agent_id, stream)
);

-- Batches merged after a later batch of their stream (they committed after
-- the wait for them ran out), and gaps the aggregator stopped waiting for.
alter table aggregator_progress
  add column late_batches bigint not null default 0,
  add column skipped_gaps bigint not null default 0;
