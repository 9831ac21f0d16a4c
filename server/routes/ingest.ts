/**
 * `POST /ingest_packets`: authenticated, size-limited, schema-checked,
 * exactly-once ingest of a batch of packet records.
 *
 * @module
 */
import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { RawPacketCopyError, type Sql, storeColumnarBatch } from "@traffic-analyzer/shared/db";
import { ColumnarBatchBuilderPool } from "@traffic-analyzer/shared/packet";
import { PacketRecordSchema } from "@traffic-analyzer/shared/packet/schema";
import { HttpError } from "../http_errors.ts";
import {
  ARROW_BODY_OPENAPI_SCHEMA,
  ARROW_STREAM_TYPE,
  ingestFormatOf,
  invalidBatchError,
  readIngestBatch,
} from "../ingest_batch_body.ts";
import { bearerTokenAuth } from "../bearer_auth.ts";
import {
  BATCH_SEQUENCE_HEADER,
  BATCH_STREAM_HEADER,
  BatchOrderHeadersSchema,
  readBatchOrder,
} from "../batch_order_headers.ts";
import type { ServerMetrics } from "../server_metrics.ts";
import { createRouter, type Router } from "./_router.ts";

/** Limits on one ingest request. */
export interface IngestLimits {
  /** Largest body as sent. */
  maxBodyBytes: number;
  /** Largest body after decompression. */
  maxDecompressedBytes: number;
  /** Most records in a batch. */
  maxBatchRecords: number;
}

/** Options for {@link ingestRoutes}. */
export interface IngestRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** Bearer tokens accepted; must not be empty. */
  ingestTokens: string[];
  /** Size limits. */
  limits: IngestLimits;
  /** Where ingest counts go. */
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
function ingestHandler(options: IngestRoutesOptions) {
  const { sql, limits, metrics } = options;
  // JSON bodies are read into these, not into a new builder each (whose
  // arrays were 4.6 % of the JSON ingest server's busy time).
  const builders = new ColumnarBatchBuilderPool();
  return async function ingestPackets(c: Context): Promise<Response> {
    const started = performance.now();
    try {
      ingestFormatOf(c.req.header("content-type"));
      const idempotencyKey = optionalHeader(c, "Idempotency-Key") ??
        `auto-${crypto.randomUUID()}`;
      const agentId = optionalHeader(c, "X-Agent-Id") ?? "unknown";
      const order = readBatchOrder((name) => c.req.header(name));
      const { batch, bodySha256, builder } = await readIngestBatch(c.req.raw, limits, {
        builders,
      });
      let stored;
      try {
        stored = await storeColumnarBatch(sql, {
          agentId,
          idempotencyKey,
          bodySha256,
          batch,
          order,
        });
      } catch (error) {
        // A value the table's column cannot hold (found while encoding the COPY).
        if (error instanceof RawPacketCopyError) {
          throw invalidBatchError({
            record: error.record,
            field: error.field,
            message: error.message,
          });
        }
        // The builder is left to the collector: a failed store may still read its arrays.
        throw error;
      }
      // Stored, or refused as a repeat: nothing reads the batch's arrays any more.
      if (builder !== null) builders.give(builder);
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

/**
 * The ingest sub-app. The route is registered in the OpenAPI document by hand
 * because its body is read under limits (and maybe gunzipped) before the
 * schema applies.
 */
export function ingestRoutes(options: IngestRoutesOptions): Router {
  const app = createRouter();
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/ingest_packets",
    summary: "Ingest a batch of packet records",
    description: "A JSON array of packet records, or an Arrow IPC stream of them as " +
      "columns (what the agent sends), optionally `Content-Encoding: gzip` or `zstd`. " +
      "Stored in one transaction; an `Idempotency-Key` makes it exactly-once. " +
      `\`${BATCH_STREAM_HEADER}\` and \`${BATCH_SEQUENCE_HEADER}\` (both or neither) place ` +
      "the batch in its agent's capture: the aggregator merges each stream's batches in " +
      "that order, whatever order they arrive in.",
    security: [{ ingestBearer: [] }],
    request: {
      headers: z.object({
        "idempotency-key": z.string().optional(),
        "x-agent-id": z.string().optional(),
        "x-batch-stream": BatchOrderHeadersSchema.shape.stream,
        "x-batch-sequence": BatchOrderHeadersSchema.shape.sequence,
      }),
      body: {
        content: {
          "application/json": { schema: z.array(PacketRecordSchema) },
          [ARROW_STREAM_TYPE]: { schema: ARROW_BODY_OPENAPI_SCHEMA },
        },
      },
    },
    responses: {
      201: { description: "Stored" },
      200: {
        description: "A repeat of a stored Idempotency-Key, with the same body or the same " +
          "packets in another format or compression: nothing stored",
      },
      400: {
        description:
          "Bad JSON or Arrow, bad compression, a schema violation (names record and field), " +
          "or a bad batch order header (names it)",
      },
      401: { description: "Missing or invalid bearer token" },
      409: { description: "Idempotency-Key reused for other packets" },
      413: {
        description: "Body, decompressed body or record count over the limit",
      },
      415: {
        description: "A Content-Type other than JSON or Arrow, or a Content-Encoding other " +
          "than gzip or zstd",
      },
      503: { description: "Database unavailable (with Retry-After)" },
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "ingestBearer", {
    type: "http",
    scheme: "bearer",
    description: "One of INGEST_TOKENS (or the generated DATA_DIR/ingest_token).",
  });
  app.post(
    "/ingest_packets",
    bearerTokenAuth({ tokens: options.ingestTokens }),
    ingestHandler(options),
  );
  return app;
}
