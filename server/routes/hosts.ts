/**
 * `GET /api/hosts/{ip}`: one host's traffic over time, peers, and the
 * services it used and offered, for a period.
 *
 * @module
 */
import { isIP } from "node:net";
import { createRoute, z } from "@hono/zod-openapi";
import {
  type DashboardData,
  type DashboardPeriod,
  type HostSummary,
  type IncidentRow,
  readDashboard,
  readHostSummary,
  searchIncidents,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { createRouter, type Router } from "./_router.ts";
import { badRequest } from "./_schemas.ts";
import { DashboardQuery } from "./dashboard.ts";
import { apiIncident, IncidentSchema } from "./alerts.tsx";

/** Incidents a host view lists (the newest; `/alerts?ip=` has them all). */
export const HOST_INCIDENTS = 10;

/** Options for {@link hostRoutes}. */
export interface HostRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** Clock in epoch milliseconds. */
  clock: () => number;
}

/** What the host API returns and the host page shows. */
export interface HostView extends HostSummary {
  ip: string;
  /** The host's traffic over the period, as on the dashboard. */
  activity: DashboardData;
  /**
   * The newest incidents involving the host, as key address or as an end of
   * one of their flows, whatever the period; `incidents_more` says there are more.
   */
  incidents: IncidentRow[];
  incidents_more: boolean;
}

/** The `{ip}` path parameter: one IPv4 or IPv6 address. */
export const HostParams = z.object({
  ip: z.string().max(64).refine((text) => isIP(text) !== 0, "must be an IPv4 or IPv6 address")
    .openapi({ param: { name: "ip", in: "path" }, example: "10.0.0.1" }),
});

/** Reads a host's view for a period. */
export async function readHostView(
  options: HostRoutesOptions,
  ip: string,
  period: DashboardPeriod,
  endSec: number | null,
): Promise<HostView> {
  const activity = await readDashboard(options.sql, {
    period,
    nowSec: options.clock() / 1000,
    endSec,
    host: ip,
  });
  const summary = await readHostSummary(options.sql, {
    ip,
    fromSec: activity.start_sec,
    toSec: activity.end_sec,
  });
  const incidents = await searchIncidents(options.sql, {
    filter: { ip },
    limit: HOST_INCIDENTS,
  });
  return {
    ip,
    ...summary,
    activity,
    incidents: incidents.incidents,
    incidents_more: incidents.next !== null,
  };
}

const Service = z.object({
  protocol: z.string(),
  port: z.number().int(),
  flows: z.number().int(),
  bytes: z.number(),
  hosts: z.number().int(),
  last_seen: z.number(),
  names: z.array(z.string()).openapi({
    description: "Names its flows carried (server name, HTTP Host, DNS query), commonest first",
  }),
});

/** The host API sub-app. */
export function hostRoutes(options: HostRoutesOptions): Router {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/hosts/{ip}",
      summary: "One host: traffic over time, peers, services used and offered",
      description: "Over a period as on the dashboard (`period`, `end`). `activity` has the " +
        "dashboard's numbers for the flows with this host at either end. Its flows are " +
        "`/api/alltraffic?ip=<ip>`.",
      request: { params: HostParams, query: DashboardQuery },
      responses: {
        200: {
          description: "The host",
          content: {
            "application/json": {
              schema: z.object({
                ip: z.string(),
                flows: z.number().int(),
                first_seen: z.number().nullable(),
                last_seen: z.number().nullable(),
                bytes_sent: z.number(),
                bytes_received: z.number(),
                peers: z.array(z.object({
                  ip: z.string(),
                  flows: z.number().int(),
                  bytes: z.number(),
                  packets: z.number(),
                  last_seen: z.number(),
                  names: z.array(z.string()).openapi({
                    description: "Names clients reached the peer as (server name, HTTP Host)",
                  }),
                })),
                services_used: z.array(Service),
                services_offered: z.array(Service),
                activity: z.record(z.string(), z.unknown()),
                incidents: z.array(IncidentSchema),
                incidents_more: z.boolean(),
              }),
            },
          },
        },
        400: badRequest("ip, period or end is not valid"),
      },
    }),
    async (c) => {
      const { ip } = c.req.valid("param");
      const { period, end } = c.req.valid("query");
      const view = await readHostView(options, ip, period, end ?? null);
      return c.json({ ...view, incidents: view.incidents.map(apiIncident) }, 200);
    },
  );
  return app;
}
