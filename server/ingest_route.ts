/**
 * `POST /ingest_packets`: authenticated, size-limited, schema-checked,
 * exactly-once ingest of a batch of packet records.
 *
 * @module
 */
import type { Context } from "hono";
import { type Sql, storePacketBatch } from "@traffic-analyzer/shared/db";
import { validatePacketBatch } from "@traffic-analyzer/shared/packet/schema";
import { HttpError } from "./http_errors.ts";
import { readLimitedBody } from "./body_reader.ts";
import type { ServerMetrics } from "./server_metrics.ts";

/** Limits on one ingest request. */
export interface IngestLimits {
  /** Largest body as sent. */
  maxBodyBytes: number;
  /** Largest body after gunzip. */
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

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

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
      const contentType = c.req.header("content-type");
      if (contentType && !/^application\/json\b/i.test(contentType)) {
        throw new HttpError(
          415,
          `Content-Type must be application/json, not ${contentType}`,
        );
      }
      const idempotencyKey = optionalHeader(c, "Idempotency-Key") ??
        `auto-${crypto.randomUUID()}`;
      const agentId = optionalHeader(c, "X-Agent-Id") ?? "unknown";
      const body = await readLimitedBody(c.req.raw, limits);

      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(body);
      } catch (cause) {
        throw new HttpError(400, "request body is not valid UTF-8", { cause });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (cause) {
        throw new HttpError(
          400,
          `request body is not valid JSON: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
      if (!Array.isArray(parsed)) {
        throw new HttpError(
          400,
          "request body must be a JSON array of packet records",
        );
      }
      if (parsed.length > limits.maxBatchRecords) {
        throw new HttpError(
          413,
          `batch has ${parsed.length} records, more than the limit of ${limits.maxBatchRecords}`,
          { details: { limit_records: limits.maxBatchRecords } },
        );
      }
      const result = validatePacketBatch(parsed);
      if (!result.ok) {
        const { issue } = result;
        const where = issue.record === null
          ? "batch"
          : `record ${issue.record}${issue.field === null ? "" : `, field ${issue.field}`}`;
        throw new HttpError(400, `invalid ${where}: ${issue.message}`, {
          details: { record: issue.record, field: issue.field },
        });
      }

      const stored = await storePacketBatch(sql, {
        agentId,
        idempotencyKey,
        bodySha256: await sha256Hex(body),
        records: result.records,
      });
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
