/**
 * A parsed JSON batch of packet records (the body of a JSON ingest request)
 * checked against `PACKET_FIELDS` and turned into a {@linkcode ColumnarBatch}
 * in one pass: the JSON counterpart of `readArrowBatch`. It accepts and
 * refuses exactly what `validatePacketBatch` does, naming the same record,
 * field and problem, and builds the batch `appendRecord` of its records
 * would (a test holds the two paths to that).
 *
 * @module
 */
import type { ColumnarBatch } from "./columnar_batch.ts";
import { ColumnarBatchBuilder } from "./columnar_batch_builder.ts";
import {
  batchShapeIssue,
  hasEveryFieldInOrder,
  type RecordIssue,
  validatePacketRecord,
} from "./packet_schema.ts";

/** Result of {@link readJsonBatch}. */
export type JsonBatchResult =
  | { ok: true; batch: ColumnarBatch }
  | { ok: false; issue: RecordIssue };

/**
 * Checks a parsed JSON batch and returns it as columns, or the first problem
 * (the batch built so far is dropped). A record with every field in order
 * (what agents send) is checked and appended in one pass; any other (a
 * seed-style record with defaults to fill in, an unknown field, keys in
 * another order) goes through `validatePacketRecord` and `appendRecord`.
 */
export function readJsonBatch(parsed: unknown): JsonBatchResult {
  const shape = batchShapeIssue(parsed);
  if (shape !== null) return { ok: false, issue: shape };
  const inputs = parsed as unknown[];
  const builder = new ColumnarBatchBuilder(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    if (
      typeof input === "object" && input !== null && !Array.isArray(input) &&
      hasEveryFieldInOrder(input)
    ) {
      const issue = builder.appendJsonRecord(input as Record<string, unknown>, i);
      if (issue !== null) return { ok: false, issue };
      continue;
    }
    const result = validatePacketRecord(input, i);
    if (!result.ok) return result;
    builder.appendRecord(result.record);
  }
  return { ok: true, batch: builder.build() };
}
