/**
 * `POST /ingest_packets`: authenticated, size-limited, schema-checked,
 * exactly-once ingest of a batch of packet records, as JSON or as an Arrow
 * IPC stream (see `ingest_batch_body.ts`).
 *
 * @module
 */
import type { Context } from "hono";
import { RawPacketCopyError, type Sql, storeColumnarBatch } from "@traffic-analyzer/shared/db";
import { HttpError } from "./http_errors.ts";
import { ingestFormatOf, invalidBatchError, readIngestBatch } from "./ingest_batch_body.ts";
import type { ServerMetrics } from "./server_metrics.ts";

/** Limits on one ingest request. */
export interface IngestLimits {
  /** Largest body as sent. */
  maxBodyBytes: number;
  /** Largest body after decompression. */
  maxDecompressedBytes: number;
  /** Most records in a batch. */
  maxBatchRecords: number;
}

/** Options for {@link ingestHandler}. */
export interface IngestHandlerOptions {
  sql: Sql;
  limits: IngestLimits;
  metrics: ServerMetrics;
}

const HEADER_VALUE = /^[\x21-\x7e]{1,200}$/;

function optionalHeader(c: Context, name: string): string | null {
  const value = c.req.header(name);
  if (value === undefined) return null;
  if (!HEADER_VALUE.test(value)) {
    throw new HttpError(
      400,
      `${name} must be 1 to 200 printable ASCII characters`,
      {
        details: { header: name },
      },
    );
  }
  return value;
}

/** Builds the handler; authentication runs before it as middleware. */
export function ingestHandler(options: IngestHandlerOptions) {
  const { sql, limits, metrics } = options;
  return async function ingestPackets(c: Context): Promise<Response> {
    const started = performance.now();
    try {
      ingestFormatOf(c.req.header("content-type"));
      const idempotencyKey = optionalHeader(c, "Idempotency-Key") ??
        `auto-${crypto.randomUUID()}`;
      const agentId = optionalHeader(c, "X-Agent-Id") ?? "unknown";
      const { batch, bodySha256 } = await readIngestBatch(c.req.raw, limits);
      let stored;
      try {
        stored = await storeColumnarBatch(sql, { agentId, idempotencyKey, bodySha256, batch });
      } catch (error) {
        if (error instanceof RawPacketCopyError) {
          throw invalidBatchError({
            record: error.record,
            field: error.field,
            message: error.message,
          });
        }
        throw error;
      }
      metrics.ingestBatches.inc({ result: stored.status });
      if (stored.status === "conflict") {
        throw new HttpError(
          409,
          `Idempotency-Key ${idempotencyKey} was already used for a different batch`,
          { details: { batch_id: stored.batchId } },
        );
      }
      if (stored.status === "duplicate") {
        return c.json({
          status: "duplicate",
          batch_id: stored.batchId,
          stored: 0,
        }, 200);
      }
      metrics.ingestRecords.inc({}, stored.stored);
      metrics.ingestBatchRecords.observe(stored.stored);
      return c.json({
        status: "stored",
        batch_id: stored.batchId,
        stored: stored.stored,
      }, 201);
    } finally {
      metrics.ingestSeconds.observe((performance.now() - started) / 1000);
    }
  };
}
