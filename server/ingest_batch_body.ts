/**
 * The body of `POST /ingest_packets` as a validated batch of packet columns,
 * from either wire format: a JSON array of records (`application/json`, the
 * seed's format, checked record by record) or an Arrow IPC stream
 * (`application/vnd.apache.arrow.stream`, what the agent sends, checked
 * column by column as strictly). Both end as the same `ColumnarBatch`, which
 * ingest writes to the database with one code path.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { z } from "@hono/zod-openapi";
import {
  type ColumnarBatch,
  type ColumnarBatchBuilder,
  type ColumnarBatchBuilderPool,
  describeArrowSchema,
  readArrowBatch,
  readJsonBatch,
  scanJsonBatch,
} from "@traffic-analyzer/shared/packet";
import type { RecordIssue } from "@traffic-analyzer/shared/packet/schema";
import { HttpError } from "./http_errors.ts";
import { readRequestBody } from "./body_reader.ts";

/** The media type of an Arrow IPC stream. */
export const ARROW_STREAM_TYPE = "application/vnd.apache.arrow.stream";

/**
 * The Arrow body in the OpenAPI document: a binary stream, its schema given
 * field by field (derived from the field table, like the JSON schema) in
 * `x-arrow-schema` and in the README's "Arrow batches" section.
 */
export const ARROW_BODY_OPENAPI_SCHEMA = z.string().openapi({
  format: "binary",
  description: "An Arrow IPC stream of packets (the same fields as the JSON records, as " +
    "columns; the captured bytes in `data` as Binary, not base64). Schema: README, " +
    "section 'Arrow batches', and x-arrow-schema here.",
  "x-arrow-schema": describeArrowSchema(),
} as never);

/** Limits on one ingest request. */
export interface IngestBodyLimits {
  /** Largest body as sent. */
  maxBodyBytes: number;
  /** Largest body after decompression. */
  maxDecompressedBytes: number;
  /** Most records in a batch. */
  maxBatchRecords: number;
}

/** A body read and validated. */
export interface IngestBatchBody {
  /** The packets. */
  batch: ColumnarBatch;
  /**
   * SHA-256 (hex) of the body as sent, before its Content-Encoding is undone:
   * a retry sends the same bytes again.
   */
  bodySha256: string;
  /** Which format it came in. */
  format: "json" | "arrow";
  /**
   * The pooled builder `batch` is a view of (see {@link ReadIngestBatchOptions.builders}),
   * to give back once the batch is stored; null when the batch owns its arrays.
   */
  builder: ColumnarBatchBuilder | null;
}

/** Options for {@link readIngestBatch}. */
export interface ReadIngestBatchOptions {
  /**
   * Builders a JSON body in the agents' form is read into, instead of a new
   * one per request; the caller gives the builder back after the store.
   * @default null (a new builder for each body)
   */
  builders?: ColumnarBatchBuilderPool | null;
}

// node:crypto hashes the bytes where they are; crypto.subtle.digest copies
// them first (measured: +70 MB and 1.4 s for a 70 MB body, against +0 and 0.17 s).
function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The 400 for a record or column that is wrong, naming where. */
export function invalidBatchError(issue: RecordIssue): HttpError {
  const where = issue.record === null
    ? issue.field === null ? "batch" : `field ${issue.field}`
    : `record ${issue.record}${issue.field === null ? "" : `, field ${issue.field}`}`;
  return new HttpError(400, `invalid ${where}: ${issue.message}`, {
    details: { record: issue.record, field: issue.field },
  });
}

function tooManyRecords(count: number, limit: number): HttpError {
  return new HttpError(413, `batch has ${count} records, more than the limit of ${limit}`, {
    details: { limit_records: limit },
  });
}

/** Which format a Content-Type names (absent: JSON, as the seed's clients send); 415 otherwise. */
export function ingestFormatOf(contentType: string | undefined): "json" | "arrow" {
  if (!contentType || /^application\/json\b/i.test(contentType)) return "json";
  if (contentType.toLowerCase().startsWith(ARROW_STREAM_TYPE)) return "arrow";
  throw new HttpError(
    415,
    `Content-Type must be application/json or ${ARROW_STREAM_TYPE}, not ${contentType}`,
  );
}

/** A body read, and the hash {@link IngestBatchBody.bodySha256} of it. */
interface HashedBody {
  body: Uint8Array;
  bodySha256: string;
}

/**
 * The decompressed body, and the SHA-256 of the bytes as sent (before their
 * Content-Encoding is undone): a retry sends those again unchanged, and the
 * agent's zstd bodies are a seventh of what they decompress to.
 */
async function readHashedBody(
  request: Request,
  limits: IngestBodyLimits,
): Promise<HashedBody> {
  const { sent, body } = await readRequestBody(request, limits);
  return { body, bodySha256: sha256Hex(sent) };
}

/** UTF-8 without the check: {@link readJsonBody} checks the bytes first. */
const UTF8 = new TextDecoder();

/**
 * A JSON body as a batch, and its SHA-256. The form agents send (every field,
 * in order, as `JSON.stringify` writes it) is read from the bytes straight
 * into columns by `scanJsonBatch`; any other body, and any body it finds
 * wrong, is decoded to text and read by `JSON.parse` and `readJsonBatch`,
 * which give the answer. The bytes are dropped before `JSON.parse`, so a
 * large body is held once as bytes, once as text and once as parsed records,
 * but never all three at once.
 */
async function readJsonBody(
  request: Request,
  limits: IngestBodyLimits,
  builders: ColumnarBatchBuilderPool | null,
): Promise<{ batch: ColumnarBatch; bodySha256: string; builder: ColumnarBatchBuilder | null }> {
  let body: Uint8Array | null;
  let bodySha256: string;
  // Into variables, not an object kept beside them: `body = null` below must let the bytes go.
  ({ body, bodySha256 } = await readHashedBody(request, limits));
  const builder = builders?.take();
  // The scan checks UTF-8 itself, and only where it met a byte above 0x7f: a
  // body of ASCII (what agents send but for non-ASCII text) skips `isUtf8`.
  const scanned = scanJsonBatch(body, {
    maxRecords: limits.maxBatchRecords,
    builder,
    checkUtf8: true,
  });
  if (scanned !== null) return { batch: scanned, bodySha256, builder: builder ?? null };
  // Nothing reads what the scan left in it.
  if (builder !== undefined) builders!.give(builder);
  // Checked, then decoded without the check: the same text as a `fatal` TextDecoder
  // gives, where that decoder took 3-8 times as long (Deno 2.9, a 660 KB batch).
  if (!isUtf8(body)) throw new HttpError(400, "request body is not valid UTF-8");
  const text = UTF8.decode(body);
  body = null;
  return { batch: parseJson(text, limits), bodySha256, builder: null };
}

function parseJson(text: string, limits: IngestBodyLimits): ColumnarBatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new HttpError(400, `request body is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (!Array.isArray(parsed)) {
    throw new HttpError(400, "request body must be a JSON array of packet records");
  }
  if (parsed.length > limits.maxBatchRecords) {
    throw tooManyRecords(parsed.length, limits.maxBatchRecords);
  }
  const result = readJsonBatch(parsed);
  if (!result.ok) throw invalidBatchError(result.issue);
  return result.batch;
}

function parseArrow(body: Uint8Array, limits: IngestBodyLimits): ColumnarBatch {
  const result = readArrowBatch(body, {
    maxRecords: limits.maxBatchRecords,
    maxDecompressedBytes: limits.maxDecompressedBytes,
  });
  if (result.ok) return result.batch;
  if (result.tooManyRecords !== undefined) {
    throw tooManyRecords(result.tooManyRecords, limits.maxBatchRecords);
  }
  throw invalidBatchError(result.issue);
}

/**
 * Reads the request's body under the limits and validates it in the format
 * its Content-Type names. Throws an `HttpError`: 415 for another type or
 * encoding, 413 over a limit, 400 naming the record (row) and field (column)
 * of the first problem.
 */
export async function readIngestBatch(
  request: Request,
  limits: IngestBodyLimits,
  options: ReadIngestBatchOptions = {},
): Promise<IngestBatchBody> {
  const format = ingestFormatOf(request.headers.get("content-type") ?? undefined);
  if (format === "json") {
    return { ...await readJsonBody(request, limits, options.builders ?? null), format };
  }
  const { body, bodySha256 } = await readHashedBody(request, limits);
  return {
    batch: parseArrow(body, limits),
    bodySha256,
    format,
    builder: null,
  };
}
