-- A batch sent again under its idempotency key is told a repeat from a
-- conflict without hashing every batch's packets up front (issue 15):
-- content_sha256, the SHA-256 of each batch's raw_packets COPY data (510
-- bytes a packet), took more than a tenth of the server's CPU on Arrow
-- ingest, for the rare repeat whose body differs. Such a repeat now compares
-- its packets with the stored rows (shared/db/stored_packets_match.ts), so
-- the column goes.
alter table ingest_batches drop column if exists content_sha256;

-- body_sha256 now hashes the body as sent, before its Content-Encoding is
-- undone (a retry sends those bytes again; the agent's zstd bodies are a
-- seventh of what they decompress to). Rows stored before hold the SHA-256
-- of the decompressed body: a repeat of one of those differs here and is
-- then told by its packets.
comment on column ingest_batches.body_sha256 is
  'SHA-256 (hex) of the batch''s body as sent, before its Content-Encoding is undone (before migration 025: of the decompressed body)';
