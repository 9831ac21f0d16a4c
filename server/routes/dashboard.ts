/**
 * `GET /api/dashboard`: everything the dashboard at `/` shows, for one
 * period, with the state of the pipeline (aggregator lag, agents reporting)
 * so the page can say plainly when the numbers are stale.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import {
  agentsReporting,
  DASHBOARD_PERIODS,
  type DashboardData,
  type DashboardPeriod,
  readAggregatorStatus,
  readDashboard,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { assessAggregator } from "../aggregator_health.ts";
import { createRouter, type Router } from "./_router.ts";
import { badRequest } from "./_schemas.ts";
import { parseTimeSec } from "./flow_query.ts";

/** Counts the open incidents; absent until the incidents table exists. */
export type OpenIncidentCounter = (sql: Sql) => Promise<number>;

/** Options for {@link dashboardRoutes} and {@link readDashboardView}. */
export interface DashboardOptions {
  /** Database handle. */
  sql: Sql;
  /** Clock in epoch milliseconds. */
  clock: () => number;
  /** The aggregator's interval, to tell when it is behind. */
  aggregateIntervalMs: number;
  /** Open incidents for the headline; without it the headline leaves them out. */
  openIncidents?: OpenIncidentCounter;
}

/** The dashboard's answer: the period's numbers and the pipeline's state. */
export interface DashboardView extends DashboardData {
  /** When the answer was made, epoch seconds (the server's clock). */
  generated_sec: number;
  /** Open incidents, or null when this server does not track them. */
  open_incidents: number | null;
  /** Agents that delivered a batch within the period (by wall time). */
  agents_reporting: number;
  /** When the last batch arrived, ISO 8601, or null. */
  last_batch_at: string | null;
  aggregator: {
    /** `ok`, or `behind` with the reason. */
    status: "ok" | "behind";
    reason: string | null;
    /** Packets not aggregated yet, and how long the oldest has waited (s). */
    lag_packets: number;
    lag_sec: number;
    last_pass_at: string | null;
  };
}

/** Reads the dashboard for a period (the page renders it, the API returns it). */
export async function readDashboardView(
  options: DashboardOptions,
  period: DashboardPeriod,
  endSec: number | null,
): Promise<DashboardView> {
  const { sql } = options;
  const nowSec = options.clock() / 1000;
  const [data, agents, status, incidents] = await Promise.all([
    readDashboard(sql, { period, nowSec, endSec }),
    agentsReporting(sql, DASHBOARD_PERIODS[period]),
    readAggregatorStatus(sql),
    options.openIncidents ? options.openIncidents(sql) : Promise.resolve(null),
  ]);
  const assessment = assessAggregator(status, options.aggregateIntervalMs);
  return {
    ...data,
    generated_sec: nowSec,
    open_incidents: incidents,
    agents_reporting: agents.agents,
    last_batch_at: agents.last_batch_at,
    aggregator: {
      status: assessment.status === "ok" ? "ok" : "behind",
      reason: assessment.reason,
      lag_packets: status.lagPackets,
      lag_sec: status.lagSec,
      last_pass_at: status.lastPassAt,
    },
  };
}

const periods = Object.keys(DASHBOARD_PERIODS) as [DashboardPeriod, ...DashboardPeriod[]];

/** The dashboard's query: `period` and an optional `end`. */
export const DashboardQuery = z.strictObject({
  period: z.enum(periods).default("1h").openapi({
    param: { name: "period", in: "query" },
    description: "`15m`, `1h` (default), `24h` or `7d`.",
  }),
  end: z.string().max(40).transform((text, ctx) => {
    const sec = parseTimeSec(text);
    if (sec === null) {
      ctx.addIssue({ code: "custom", message: "must be epoch seconds or ISO 8601" });
      return z.NEVER;
    }
    return sec;
  }).optional().openapi({
    param: { name: "end", in: "query" },
    description: "Where the period ends: epoch seconds or ISO 8601. Default: now, or the " +
      "newest flow's `last_seen` when no flow was seen in the period (a replayed capture).",
    type: "string",
  }),
});

const Series = z.record(z.string(), z.array(z.number()));

const DashboardSchema = z.object({
  period: z.enum(periods),
  start_sec: z.number(),
  end_sec: z.number(),
  anchor: z.enum(["now", "requested", "newest_flow"]),
  step_sec: z.number(),
  bucket_starts: z.array(z.number()),
  newest_flow_sec: z.number().nullable(),
  generated_sec: z.number(),
  headline: z.object({
    packets_per_sec: z.number(),
    bytes_per_sec: z.number(),
    active_flows: z.number().int(),
    flows_seen: z.number().int(),
    packets: z.number().int(),
    bytes: z.number().int(),
  }),
  open_incidents: z.number().int().nullable(),
  agents_reporting: z.number().int(),
  last_batch_at: z.string().nullable(),
  aggregator: z.object({
    status: z.enum(["ok", "behind"]),
    reason: z.string().nullable(),
    lag_packets: z.number().int(),
    lag_sec: z.number(),
    last_pass_at: z.string().nullable(),
  }),
  traffic: z.object({ packets: Series, bytes: Series }),
  flows_by_class: Series,
  top_talkers: z.array(z.object({
    ip: z.string(),
    bytes: z.number(),
    packets: z.number(),
    flows: z.number().int(),
    names: z.array(z.string()).openapi({
      description: "Names clients reached the host as (TLS/QUIC server name, HTTP Host), " +
        "commonest first, from a sample of its flows",
    }),
  })),
  top_services: z.array(z.object({
    protocol: z.string(),
    port: z.number().int(),
    bytes: z.number(),
    flows: z.number().int(),
    responders: z.number().int(),
    names: z.array(z.string()).openapi({
      description: "Names the service's flows carried (server name, HTTP Host, DNS query), " +
        "commonest first, from a sample of its flows",
    }),
  })),
}).openapi("Dashboard");

/** The dashboard API sub-app. */
export function dashboardRoutes(options: DashboardOptions): Router {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/dashboard",
      summary: "The dashboard's numbers for one period",
      description: "Headline numbers, traffic over time by protocol (60 buckets; a flow's " +
        "packets and bytes are spread evenly over its span), flows started per bucket by " +
        "predicted class, top talkers and top services, and the pipeline's state. Rates are " +
        "over the last 60 s of the period.",
      request: { query: DashboardQuery },
      responses: {
        200: {
          description: "The dashboard",
          content: { "application/json": { schema: DashboardSchema } },
        },
        400: badRequest("`period` or `end` is not valid"),
      },
    }),
    async (c) => {
      const { period, end } = c.req.valid("query");
      c.header("Cache-Control", "no-store");
      return c.json(await readDashboardView(options, period, end ?? null), 200);
    },
  );
  return app;
}
