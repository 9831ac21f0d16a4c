/**
 * The Hono app factory: every route of the server, built from injected
 * dependencies so tests call it in-process with `app.request()`.
 *
 * @module
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { getLogger } from "@logtape/logtape";
import {
  type AggregatorStatusRow,
  checkDatabase,
  lastFlows,
  lastRawPackets,
  pageFlows,
  readAggregatorStatus,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { PacketRecordSchema } from "@traffic-analyzer/shared/packet/schema";
import { LOG_ROOT, VERSION } from "@traffic-analyzer/shared";
import { HttpError } from "./http_errors.ts";
import { bearerTokenAuth } from "./bearer_auth.ts";
import { ingestHandler, type IngestLimits } from "./ingest_route.ts";
import { ARROW_BODY_OPENAPI_SCHEMA, ARROW_STREAM_TYPE } from "./ingest_batch_body.ts";
import { createServerMetrics, type ServerMetrics } from "./server_metrics.ts";
import { allFlowsPage, latestFlowsPage } from "./pages.ts";

/** Options for {@link createApp}. */
export interface CreateAppOptions {
  /** Database handle (PostgreSQL or PGlite). */
  sql: Sql;
  /** Which backend `sql` talks to, for `/health`. */
  backend: "postgres" | "pglite";
  /** Bearer tokens accepted by ingest; must not be empty. */
  ingestTokens: string[];
  /** Ingest size limits. */
  limits: IngestLimits;
  /** Clock in epoch milliseconds. @default Date.now */
  clock?: () => number;
  /** Start time for uptime, epoch ms. @default clock() at creation */
  startedAtMs?: number;
  /** Metric families; tests pass their own to read counts. @default createServerMetrics() */
  metrics?: ServerMetrics;
}

const log = getLogger([LOG_ROOT, "server"]);

/** Database driver errors that mean "unreachable", answered 503 so clients retry. */
function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? "";
  return [
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "CONNECT_TIMEOUT",
    "CONNECTION_CLOSED",
    "CONNECTION_ENDED",
    "CONNECTION_DESTROYED",
    "57P01", // admin_shutdown
    "57P03", // cannot_connect_now
    "53300", // too_many_connections
  ].includes(code);
}

const ErrorSchema = z.object({ error: z.string() }).passthrough().openapi(
  "Error",
);

const FlowSchema = z.object({
  id: z.number().int(),
  flow_uid: z.string(),
  community_id: z.string().nullable(),
  orig_ip: z.string().nullable(),
  orig_port: z.number().int().nullable(),
  resp_ip: z.string().nullable(),
  resp_port: z.number().int().nullable(),
  protocol: z.string(),
  vlan: z.number().int().nullable(),
  first_seen: z.number(),
  last_seen: z.number(),
  duration: z.number(),
  orig_packets: z.number().int(),
  resp_packets: z.number().int(),
  orig_bytes: z.number().int(),
  resp_bytes: z.number().int(),
  state: z.enum(["active", "closed"]),
  close_reason: z.string().nullable(),
  conn_state: z.string().nullable(),
  label: z.string().nullable(),
  score: z.number().nullable(),
  model_version: z.string().nullable(),
}).openapi("Flow");

const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({
    param: { name: "limit", in: "query" },
    example: 100,
  }),
  cursor: z.coerce.number().int().min(1).optional().openapi({
    param: { name: "cursor", in: "query" },
    description: "The `next_cursor` of the previous page.",
  }),
  community_id: z.string().max(100).regex(
    /^[0-9]+:[A-Za-z0-9+/]+={0,2}$/,
    "must be a Community ID such as 1:wCb3OG7yAFWelaUydu0D+125CLM=",
  ).optional().openapi({
    param: { name: "community_id", in: "query" },
    description: "Only the flows with this Community ID: pivot from a Zeek or Suricata record.",
    example: "1:wCb3OG7yAFWelaUydu0D+125CLM=",
  }),
});

/** Builds the server app. Nothing is opened here: the caller owns `sql`. */
export function createApp(options: CreateAppOptions): OpenAPIHono {
  const clock = options.clock ?? Date.now;
  const startedAtMs = options.startedAtMs ?? clock();
  const metrics = options.metrics ?? createServerMetrics();
  const { sql } = options;

  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue.path.join(".") || "request";
        throw new HttpError(400, `invalid ${where}: ${issue.message}`, {
          details: { field: where },
        });
      }
    },
  });

  app.use(async function recordRequest(c, next) {
    const started = performance.now();
    await next();
    const route = c.req.routePath || "unmatched";
    metrics.httpRequests.inc({ route, status: String(c.res.status) });
    metrics.httpSeconds.observe((performance.now() - started) / 1000, {
      route,
    });
    if (c.res.status >= 500) {
      metrics.httpErrors.inc({ status: String(c.res.status) });
    }
  });

  app.onError((error, c) => {
    if (error instanceof HttpError) {
      // Counted here, not in the handler, so refusals by the auth middleware count too.
      if (c.req.path === "/ingest_packets") {
        metrics.ingestRejected.inc({ status: String(error.status) });
      }
      return c.json(
        { error: error.message, ...error.details },
        error.status as 400,
      );
    }
    if (isDatabaseUnavailable(error)) {
      log.warn("Database unavailable: {error}", { error: String(error) });
      c.header("Retry-After", "5");
      return c.json({ error: "database unavailable, retry later" }, 503);
    }
    log.error("Unhandled error on {method} {path}: {error}", {
      method: c.req.method,
      path: c.req.path,
      error,
    });
    return c.json({ error: "internal server error" }, 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  // Ingest: registered by hand because its body is read under limits
  // (and maybe gunzipped) before the schema applies.
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/ingest_packets",
    summary: "Ingest a batch of packet records",
    description: "A JSON array of packet records, or an Arrow IPC stream of them as " +
      "columns (what the agent sends), optionally `Content-Encoding: gzip` or `zstd`. " +
      "Stored in one transaction; an `Idempotency-Key` makes it exactly-once.",
    security: [{ bearer: [] }],
    request: {
      headers: z.object({
        "idempotency-key": z.string().optional(),
        "x-agent-id": z.string().optional(),
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
        description: "A repeat of a stored Idempotency-Key: nothing stored",
      },
      400: {
        description:
          "Bad JSON or Arrow, bad compression, or a schema violation (names record and field)",
      },
      401: { description: "Missing or invalid bearer token" },
      409: { description: "Idempotency-Key reused with a different body" },
      413: {
        description: "Body, decompressed body or record count over the limit",
      },
      503: { description: "Database unavailable" },
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
  });
  app.post(
    "/ingest_packets",
    bearerTokenAuth({ tokens: options.ingestTokens }),
    ingestHandler({ sql, limits: options.limits, metrics }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/last10",
      summary: "The 10 most recently active flows",
      responses: {
        200: {
          description: "Flows, newest first",
          content: { "application/json": { schema: z.array(FlowSchema) } },
        },
      },
    }),
    async (c) => c.json(await lastFlows(sql, 10), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/alltraffic",
      summary: "All flows, paginated with a cursor (newest first, stable order)",
      request: { query: PageQuery },
      responses: {
        200: {
          description: "One page of flows",
          content: {
            "application/json": {
              schema: z.object({
                flows: z.array(FlowSchema),
                next_cursor: z.number().nullable(),
              }),
            },
          },
        },
        400: {
          description: "Bad limit, cursor or community_id",
          content: { "application/json": { schema: ErrorSchema } },
        },
      },
    }),
    async (c) => {
      const { limit, cursor, community_id } = c.req.valid("query");
      return c.json(
        await pageFlows(sql, {
          limit,
          cursor: cursor ?? null,
          communityId: community_id ?? null,
        }),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/raw_packets/last/{count}",
      summary: "The most recently ingested raw packets",
      request: {
        params: z.object({
          count: z.coerce.number().int().min(1).max(10_000).openapi({
            param: { name: "count", in: "path" },
            example: 10,
          }),
        }),
      },
      responses: {
        200: { description: "Packets, newest first; `data` is base64" },
        400: {
          description: "count is not an integer from 1 to 10000",
          content: { "application/json": { schema: ErrorSchema } },
        },
      },
    }),
    async (c) => c.json(await lastRawPackets(sql, c.req.valid("param").count), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/health",
      summary: "Database status, version and uptime",
      responses: {
        200: { description: "Healthy" },
        503: { description: "The database is unreachable" },
      },
    }),
    async (c) => {
      const database = await checkDatabase(sql);
      // The aggregator may run in this process or elsewhere: its progress is in the database.
      let aggregator: AggregatorStatusRow | null = null;
      if (database.ok) aggregator = await readAggregatorStatus(sql).catch(() => null);
      const body = {
        status: database.ok ? "ok" : "unavailable",
        version: VERSION,
        uptime_sec: Math.round((clock() - startedAtMs) / 1000),
        database: database.ok
          ? {
            ok: true,
            backend: options.backend,
            schema_version: database.schemaVersion,
            latency_ms: Math.round(database.latencyMs * 10) / 10,
          }
          : { ok: false, backend: options.backend, error: database.error },
        aggregator: aggregator && {
          last_pass_at: aggregator.lastPassAt,
          last_pass_duration_ms: aggregator.lastPassDurationMs,
          lag_packets: aggregator.lagPackets,
          lag_sec: aggregator.lagSec,
          packets_aggregated: aggregator.packetsAggregated,
          flows_written: aggregator.flowsWritten,
        },
      };
      return c.json(body, database.ok ? 200 : 503);
    },
  );

  metrics.registry.onCollect(async () => {
    const status = await readAggregatorStatus(sql).catch(() => null);
    if (!status) return;
    aggregatorGauges.flowsWritten.set(status.flowsWritten);
    if (status.lagPackets !== null) {
      aggregatorGauges.lagPackets.set(status.lagPackets);
    }
    if (status.lagSec !== null) aggregatorGauges.lagSec.set(status.lagSec);
    if (status.lastPassDurationMs !== null) {
      aggregatorGauges.passSeconds.set(status.lastPassDurationMs / 1000);
    }
    if (status.lastPassAt !== null) {
      aggregatorGauges.lastPass.set(Date.parse(status.lastPassAt) / 1000);
    }
  });
  const aggregatorGauges = {
    flowsWritten: metrics.registry.gauge(
      "ta_aggregator_flows_written",
      "Flow rows written by the aggregator (inserts and updates).",
    ),
    lagPackets: metrics.registry.gauge(
      "ta_aggregator_lag_packets",
      "Ingested packets not yet aggregated.",
    ),
    lagSec: metrics.registry.gauge(
      "ta_aggregator_lag_seconds",
      "Age of the oldest ingested packet not yet aggregated.",
    ),
    passSeconds: metrics.registry.gauge(
      "ta_aggregator_pass_duration_seconds",
      "Duration of the last aggregation pass.",
    ),
    lastPass: metrics.registry.gauge(
      "ta_aggregator_last_pass_timestamp_seconds",
      "When the last aggregation pass finished.",
    ),
  };
  const uptime = metrics.registry.gauge(
    "ta_uptime_seconds",
    "Seconds since the server started.",
  );
  metrics.registry.onCollect(() => uptime.set((clock() - startedAtMs) / 1000));

  app.get("/metrics", async (c) => {
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(await metrics.registry.render());
  });

  app.get("/", async (c) => c.html(latestFlowsPage(await lastFlows(sql, 10))));

  app.get("/alltraffic_page", async (c) => {
    const parsed = PageQuery.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HttpError(
        400,
        `invalid ${issue.path.join(".")}: ${issue.message}`,
      );
    }
    const { limit, cursor } = parsed.data;
    const page = await pageFlows(sql, { limit, cursor: cursor ?? null });
    return c.html(allFlowsPage(page.flows, page.next_cursor, limit));
  });

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Traffic Analyzer",
      version: VERSION,
      description: "Packet ingest and flow API.",
    },
  });

  return app;
}
