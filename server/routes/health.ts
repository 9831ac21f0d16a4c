/**
 * `GET /health`: database status, version, uptime and the aggregator's
 * progress (read from the database: the aggregator may run anywhere).
 *
 * @module
 */
import { createRoute } from "@hono/zod-openapi";
import {
  type AggregatorStatus,
  checkDatabase,
  readAggregatorStatus,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { VERSION } from "@traffic-analyzer/shared";
import { shippedEnrichmentSources } from "@traffic-analyzer/shared/enrich";
import { assessAggregator } from "../aggregator_health.ts";
import { createRouter, type Router } from "./_router.ts";

/** Options for {@link healthRoutes}. */
export interface HealthRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** Which backend `sql` talks to. */
  backend: "postgres" | "pglite";
  /** Clock in epoch milliseconds. */
  clock: () => number;
  /** Start time for uptime, epoch ms. */
  startedAtMs: number;
  /** The aggregator's interval, to tell when it has fallen behind. */
  aggregateIntervalMs: number;
  /** How long the database may take to answer before it counts as unavailable. @default 2000 */
  databaseTimeoutMs?: number;
}

const GEOIP_SOURCES = (() => {
  const { country, asn } = shippedEnrichmentSources();
  const shown = (source: typeof country) => ({
    name: source.name,
    version: source.version,
    built_at: source.builtAt,
    license: source.license,
  });
  return { country: shown(country), asn: shown(asn) };
})();

/**
 * Why the database counts as unavailable. A query that found no answer in
 * time is not proof of an unreachable server: the embedded database answers
 * one query at a time, and a long ingest holds it (seen on a busy start).
 */
function unavailableReason(database: { error: string; timedOut: boolean }): string {
  return database.timedOut
    ? `the database did not answer in time (${database.error}): it is busy or cannot be reached`
    : `the database cannot be reached: ${database.error}`;
}

/** The health sub-app. */
export function healthRoutes(options: HealthRoutesOptions): Router {
  const { sql, clock, startedAtMs } = options;
  const app = createRouter();
  app.openapi(
    createRoute({
      method: "get",
      path: "/health",
      summary: "Database status, version, uptime and aggregator progress",
      description: "`status` is `ok`, `degraded` (answered 200, with a `reason`: packets have " +
        "waited longer than 3 aggregation intervals and no pass ran in that time) or " +
        "`unavailable` (503: the database cannot be reached, or did not answer within 2 s). `geoip` names the GeoIP country " +
        "and ASN databases (npm package, version, build date, licence).",
      responses: {
        200: { description: "Healthy or degraded" },
        503: { description: "The database is unreachable" },
      },
    }),
    async (c) => {
      const database = await checkDatabase(sql, { timeoutMs: options.databaseTimeoutMs });
      let aggregator: AggregatorStatus | null = null;
      if (database.ok) aggregator = await readAggregatorStatus(sql).catch(() => null);
      const assessment = aggregator === null
        ? { status: "ok", reason: null }
        : assessAggregator(aggregator, options.aggregateIntervalMs);
      const body = {
        status: database.ok ? assessment.status : "unavailable",
        ...(!database.ok
          ? { reason: unavailableReason(database) }
          : assessment.reason !== null
          ? { reason: assessment.reason }
          : {}),
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
        // The GeoIP country and ASN databases flows are enriched from (npm packages).
        geoip: GEOIP_SOURCES,
      };
      return c.json(body, database.ok ? 200 : 503);
    },
  );
  return app;
}
