/**
 * The Hono app factory: mounts one sub-app per concern (`routes/`), each
 * built from injected dependencies, so tests call the whole server
 * in-process with `app.request()`.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { countOpenIncidents, type Sql } from "@traffic-analyzer/shared/db";
import { VERSION } from "@traffic-analyzer/shared";
import { errorHandler, notFoundHandler } from "./error_answer.ts";
import { routeMethods } from "./route_methods.ts";
import { createServerMetrics, type ServerMetrics } from "./server_metrics.ts";
import { loadAssets } from "./pages/assets.ts";
import { securityHeaders } from "./security_headers.ts";
import { requestHeaderLimit } from "./header_limit.ts";
import { HeavyReadLimiter } from "./heavy_reads.ts";
import { readAuth } from "./read_auth.ts";
import { loginRoutes } from "./routes/login.tsx";
import { type IngestLimits, ingestRoutes } from "./routes/ingest.ts";
import { flowRoutes } from "./routes/flows.ts";
import { rawPacketRoutes } from "./routes/raw_packets.ts";
import { pcapRoutes } from "./routes/pcap.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { pageRoutes } from "./routes/pages.tsx";
import { alertRoutes } from "./routes/alerts.tsx";
import { dashboardRoutes, type OpenIncidentCounter } from "./routes/dashboard.ts";
import { flowDetailRoutes } from "./routes/flow_detail.ts";
import { hostRoutes } from "./routes/hosts.ts";
import { uiPageRoutes } from "./routes/ui_pages.tsx";
import { loadFeatureCatalog } from "./feature_catalog.ts";

export type { IngestLimits } from "./routes/ingest.ts";

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
  /**
   * The read token: when set, every read needs it (bearer on the API, a login
   * cookie on the pages). @default null (reads open)
   */
  readToken?: string | null;
  /** Mark the login cookie `Secure`: set when the server speaks HTTPS. @default false */
  secureCookie?: boolean;
  /** Most packets one `/api/pcap` export streams. @default 1000000 */
  pcapExportMaxPackets?: number;
  /** Most heavy reads (raw packets, exports, pcap) at once; more answer 429. @default 4 */
  maxHeavyReads?: number;
  /** Time between aggregation passes, to tell when the aggregator is behind. @default 30000 */
  aggregateIntervalMs?: number;
  /** Clock in epoch milliseconds. @default Date.now */
  clock?: () => number;
  /** Start time for uptime, epoch ms. @default clock() at creation */
  startedAtMs?: number;
  /** Metric families; tests pass their own to read counts. @default createServerMetrics() */
  metrics?: ServerMetrics;
  /** Counts open incidents for the dashboard's headline. @default countOpenIncidents */
  openIncidents?: OpenIncidentCounter;
}

/** Builds the server app. Nothing is opened here: the caller owns `sql`. */
export function createApp(options: CreateAppOptions): OpenAPIHono {
  const clock = options.clock ?? Date.now;
  const startedAtMs = options.startedAtMs ?? clock();
  const metrics = options.metrics ?? createServerMetrics();
  const { sql } = options;
  const heavyReads = new HeavyReadLimiter(options.maxHeavyReads ?? 4);

  const app = new OpenAPIHono();

  const assets = loadAssets();
  app.onError(errorHandler({ metrics, assets }));
  app.notFound(
    notFoundHandler({ metrics, assets, methodsAllowed: (path) => methodsAllowed(path) }),
  );
  app.use(securityHeaders());
  app.use(async function recordRequest(c, next) {
    const started = performance.now();
    await next();
    const route = c.req.routePath || "unmatched";
    metrics.httpRequests.inc({ route, status: String(c.res.status) });
    metrics.httpSeconds.observe((performance.now() - started) / 1000, { route });
    if (c.res.status >= 500) metrics.httpErrors.inc({ status: String(c.res.status) });
  });
  app.use(requestHeaderLimit());
  const readToken = options.readToken ?? null;
  app.use(readAuth({ token: readToken }));

  app.route(
    "/",
    ingestRoutes({ sql, ingestTokens: options.ingestTokens, limits: options.limits, metrics }),
  );
  app.route("/", flowRoutes({ sql, heavyReads }));
  app.route("/", rawPacketRoutes({ sql, heavyReads }));
  app.route(
    "/",
    pcapRoutes({ sql, heavyReads, maxPackets: options.pcapExportMaxPackets ?? 1_000_000 }),
  );
  const aggregateIntervalMs = options.aggregateIntervalMs ?? 30_000;
  app.route(
    "/",
    healthRoutes({ sql, backend: options.backend, clock, startedAtMs, aggregateIntervalMs }),
  );
  app.route("/", metricsRoutes({ sql, metrics, clock, startedAtMs }));
  if (readToken !== null) {
    app.route(
      "/",
      loginRoutes({ token: readToken, assets, secureCookie: options.secureCookie ?? false }),
    );
  }
  app.route("/", alertRoutes({ sql, assets, aggregateIntervalMs }));
  const catalog = loadFeatureCatalog();
  const dashboard = {
    sql,
    clock,
    aggregateIntervalMs,
    openIncidents: options.openIncidents ?? countOpenIncidents,
  };
  app.route("/", dashboardRoutes(dashboard));
  app.route("/", flowDetailRoutes({ sql, catalog }));
  app.route("/", hostRoutes({ sql, clock }));
  app.route("/", uiPageRoutes({ ...dashboard, assets, catalog }));
  app.route("/", pageRoutes({ sql, assets, aggregateIntervalMs }));
  // Read once every route is mounted: a wrong method on a known path is a
  // 405 with Allow, not a 404.
  const methodsAllowed = routeMethods(app.routes);

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
