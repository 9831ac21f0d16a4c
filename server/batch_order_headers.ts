/**
 * The batch's place in its agent's capture, from `X-Batch-Stream` and
 * `X-Batch-Sequence` (the same on both wire formats). Checked at the edge by
 * a schema: both or neither, the stream 1 to 100 printable ASCII
 * characters, the sequence plain decimal digits up to 2^53 - 1. A request
 * with neither (an older agent, curl) keeps the commit order.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { BatchOrder } from "@traffic-analyzer/shared/db";
import { HttpError } from "./http_errors.ts";

/** Header naming the stream a batch belongs to. */
export const BATCH_STREAM_HEADER = "X-Batch-Stream";
/** Header giving the position of the batch's first packet in its stream. */
export const BATCH_SEQUENCE_HEADER = "X-Batch-Sequence";

/** The two headers as the OpenAPI document and the check see them. */
export const BatchOrderHeadersSchema = z.object({
  stream: z.string().regex(/^[\x21-\x7e]{1,100}$/, {
    message: "must be 1 to 100 printable ASCII characters without spaces",
  }).optional(),
  sequence: z.string().regex(/^(0|[1-9][0-9]{0,15})$/, {
    message: "must be plain decimal digits (0 to 9007199254740991)",
  }).refine((text) => Number.isSafeInteger(Number(text)), {
    message: "must be at most 9007199254740991",
  }).optional(),
});

/**
 * The order a request's headers give, or null when it sends neither header;
 * a 400 naming the header when one is missing or malformed.
 */
export function readBatchOrder(header: (name: string) => string | undefined): BatchOrder | null {
  const stream = header(BATCH_STREAM_HEADER);
  const sequence = header(BATCH_SEQUENCE_HEADER);
  if (stream === undefined && sequence === undefined) return null;
  if (stream === undefined || sequence === undefined) {
    const missing = stream === undefined ? BATCH_STREAM_HEADER : BATCH_SEQUENCE_HEADER;
    const given = stream === undefined ? BATCH_SEQUENCE_HEADER : BATCH_STREAM_HEADER;
    throw new HttpError(400, `${missing} is required with ${given}`, {
      details: { header: missing },
    });
  }
  const parsed = BatchOrderHeadersSchema.safeParse({ stream, sequence });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue.path[0] === "stream" ? BATCH_STREAM_HEADER : BATCH_SEQUENCE_HEADER;
    throw new HttpError(400, `${name} ${issue.message}`, { details: { header: name } });
  }
  return { stream, sequence: Number(sequence) };
}
