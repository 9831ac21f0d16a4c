/**
 * Where each capture stream stands in the aggregator: the position of the
 * next batch to merge, read before a pass and saved inside it.
 *
 * @module
 */
import type { Sql } from "./open_database.ts";
import { pgArrayColumn } from "./pg_array_literal.ts";

/** One stream's position: where the next batch to merge starts. */
export interface StreamPosition {
  /** The agent that sends the stream. */
  agentId: string;
  /** The stream: `file-<file id>` for `--read`, `live-<id>` for live capture. */
  stream: string;
  /** Position in the stream, in packets from 0, where the next batch to merge starts. */
  nextSequence: number;
  /** Milliseconds since the stream last moved, by the database's clock (when read). */
  sinceMovedMs?: number;
}

/** Where the given streams stand; a stream never merged before is absent. */
export async function readStreamPositions(
  tx: Sql,
  streams: readonly { agentId: string; stream: string }[],
): Promise<StreamPosition[]> {
  if (streams.length === 0) return [];
  const rows = await tx<
    { agent_id: string; stream: string; next_sequence: number; since_moved_ms: number }[]
  >`
    select s.agent_id, s.stream, s.next_sequence,
      greatest(0, extract(epoch from now() - s.updated_at) * 1000)::float8 as since_moved_ms
    from aggregator_streams s
    join unnest(${pgArrayColumn(streams, "agentId")}::text::text[],
      ${pgArrayColumn(streams, "stream")}::text::text[]) as k(agent_id, stream)
      on s.agent_id = k.agent_id and s.stream = k.stream`;
  return rows.map((row) => ({
    agentId: row.agent_id,
    stream: row.stream,
    nextSequence: Number(row.next_sequence),
    sinceMovedMs: row.since_moved_ms,
  }));
}

/**
 * Records where streams stand after a pass, inside its transaction. A
 * stream's `updated_at` (when it last moved on, which bounds how long a gap
 * holds its later batches, `REORDER_WAIT`) changes only when its position
 * advances: a pass that merged only late batches did not move it, and
 * counting that as a move restarted the wait on every pass, so a gap that
 * never fills stalled the stream for good (seen in the soak).
 */
export async function saveStreamPositions(
  tx: Sql,
  positions: readonly StreamPosition[],
): Promise<void> {
  if (positions.length === 0) return;
  await tx`
    insert into aggregator_streams (agent_id, stream, next_sequence)
    select * from unnest(${pgArrayColumn(positions, "agentId")}::text::text[],
      ${pgArrayColumn(positions, "stream")}::text::text[],
      ${pgArrayColumn(positions, "nextSequence")}::text::int8[])
    on conflict (agent_id, stream) do update set
      next_sequence = excluded.next_sequence,
      updated_at = case
        when excluded.next_sequence > aggregator_streams.next_sequence then now()
        else aggregator_streams.updated_at
      end`;
}
