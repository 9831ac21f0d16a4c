/**
 * `GET /metrics`: Prometheus text format, with the aggregator's progress read
 * from the database at scrape time.
 *
 * @module
 */
import { readAggregatorStatus, type Sql } from "@traffic-analyzer/shared/db";
import type { ServerMetrics } from "../server_metrics.ts";
import { createRouter, type Router } from "./_router.ts";

/** Options for {@link metricsRoutes}. */
export interface MetricsRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** The server's metric families. */
  metrics: ServerMetrics;
  /** Clock in epoch milliseconds. */
  clock: () => number;
  /** Start time for uptime, epoch ms. */
  startedAtMs: number;
}

/** The metrics sub-app; registers the aggregator and uptime gauges in `metrics`. */
export function metricsRoutes(options: MetricsRoutesOptions): Router {
  const { sql, metrics, clock, startedAtMs } = options;
  const registry = metrics.registry;
  const aggregatorGauges = {
    flowsWritten: registry.gauge(
      "ta_aggregator_flows_written",
      "Flow rows written by the aggregator (inserts and updates).",
    ),
    lagPackets: registry.gauge("ta_aggregator_lag_packets", "Ingested packets not yet aggregated."),
    lagSec: registry.gauge(
      "ta_aggregator_lag_seconds",
      "Age of the oldest ingested packet not yet aggregated.",
    ),
    passSeconds: registry.gauge(
      "ta_aggregator_pass_duration_seconds",
      "Duration of the last aggregation pass.",
    ),
    lastPass: registry.gauge(
      "ta_aggregator_last_pass_timestamp_seconds",
      "When the last aggregation pass finished.",
    ),
  };
  registry.onCollect(async () => {
    const status = await readAggregatorStatus(sql).catch(() => null);
    if (!status) return;
    aggregatorGauges.flowsWritten.set(status.flowsWritten);
    if (status.lagPackets !== null) aggregatorGauges.lagPackets.set(status.lagPackets);
    if (status.lagSec !== null) aggregatorGauges.lagSec.set(status.lagSec);
    if (status.lastPassDurationMs !== null) {
      aggregatorGauges.passSeconds.set(status.lastPassDurationMs / 1000);
    }
    if (status.lastPassAt !== null) {
      aggregatorGauges.lastPass.set(Date.parse(status.lastPassAt) / 1000);
    }
  });
  const uptime = registry.gauge("ta_uptime_seconds", "Seconds since the server started.");
  registry.onCollect(() => uptime.set((clock() - startedAtMs) / 1000));

  const app = createRouter();
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/metrics",
    summary: "Server and aggregator metrics in the Prometheus text format (0.0.4)",
    responses: {
      200: {
        description: "Counters, gauges and histograms (`ta_*`)",
        content: { "text/plain": { schema: { type: "string" } } },
      },
    },
  });
  app.get("/metrics", async (c) => {
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(await registry.render());
  });
  return app;
}
