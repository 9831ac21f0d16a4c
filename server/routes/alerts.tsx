/**
 * Incidents: `GET /api/alerts`, `POST /api/alerts/{id}/acknowledge`, the
 * `/alerts` page and its acknowledge form (`POST /alerts/{id}/acknowledge`).
 *
 * Acknowledging needs what reading needs: with `READ_TOKEN` set, the bearer
 * token (API) or the login cookie (page); without it, nothing, as reads are
 * open to whoever reaches the server (localhost by default). Acknowledgements
 * a browser sends on behalf of another site are refused (403).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import {
  acknowledgeIncident,
  type IncidentRow,
  searchIncidents,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { readLimitedBody } from "../body_reader.ts";
import { HttpError } from "../http_errors.ts";
import type { Assets } from "../pages/assets.ts";
import { AlertsPage } from "../pages/alerts_page.tsx";
import { sameOriginWrites } from "../same_origin_writes.ts";
import { pageContextReader, renderListPage } from "./_list_page.ts";
import { createRouter, type Router } from "./_router.ts";
import { badRequest, ErrorSchema } from "./_schemas.ts";
import {
  AlertIdParam,
  AlertListQuery,
  encodeIncidentCursor,
  incidentCursorOf,
  incidentFilterOf,
  parseAlertList,
} from "./alert_query.ts";
import { incidentFlowsQuery } from "../incident_links.ts";

/** Options for {@link alertRoutes}. */
export interface AlertRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** The pages' assets. */
  assets: Assets;
  /** The aggregator's interval, for the "aggregator is behind" banner. */
  aggregateIntervalMs: number;
}

/** One incident in the API, with the links to its flows. */
export const IncidentSchema = z.object({
  id: z.number().int(),
  label: z.string(),
  key_kind: z.enum(["source", "target"]).openapi({
    description: "`source`: every flow comes from `key_ip`; `target`: every flow goes to it.",
  }),
  key_ip: z.string(),
  flow_count: z.number().int(),
  port_count: z.number().int().openapi({ description: "Distinct responder ports." }),
  target_count: z.number().int().openapi({ description: "Distinct responders." }),
  source_count: z.number().int().openapi({ description: "Distinct originators." }),
  first_seen: z.number().openapi({ description: "Epoch seconds (packet time)." }),
  last_seen: z.number(),
  max_score: z.number(),
  min_score: z.number().openapi({ description: "The ALERT_MIN_SCORE it was built with." }),
  state: z.enum(["open", "acknowledged"]),
  acknowledged_at: z.string().nullable(),
  flows_url: z.string().openapi({ description: "The flow search page of its flows." }),
  flows_api_url: z.string().openapi({ description: "The same flows from `/api/alltraffic`." }),
}).openapi("Incident");

/** An incident as the API gives it: with the URLs of its flows. */
export function apiIncident(incident: IncidentRow) {
  const query = incidentFlowsQuery(incident);
  return {
    ...incident,
    flows_url: `/alltraffic_page?${query}`,
    flows_api_url: `/api/alltraffic?${query}`,
  };
}

/** Only a path back to the alerts page or the dashboard: anything else would be an open redirect. */
function safeBack(next: string | null): string {
  return next !== null && /^\/(?:alerts(?:\?[^\r\n\\]*)?)?$/.test(next) ? next : "/alerts";
}

/** The incidents sub-app. */
export function alertRoutes(options: AlertRoutesOptions): Router {
  const { sql, assets } = options;
  const app = createRouter();
  app.use("/api/alerts/:id/acknowledge", sameOriginWrites());
  app.use("/alerts/:id/acknowledge", sameOriginWrites());

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/alerts",
      summary: "Incidents, newest activity first, one page at a time",
      description: "An incident groups the flagged flows (non-benign, scored at least " +
        "ALERT_MIN_SCORE) of one class from one source, or to one target for floods, close " +
        "together in time. Every parameter is optional. Pages are keyset-paginated: pass " +
        "`next_cursor` back with the same filters.",
      request: { query: AlertListQuery },
      responses: {
        200: {
          description: "One page of incidents",
          content: {
            "application/json": {
              schema: z.object({
                incidents: z.array(IncidentSchema),
                next_cursor: z.string().nullable(),
              }),
            },
          },
        },
        400: badRequest("A parameter is not valid (named in `error` and `field`)"),
      },
    }),
    async (c) => {
      const input = c.req.valid("query");
      const page = await searchIncidents(sql, {
        filter: incidentFilterOf(input),
        limit: input.limit,
        cursor: incidentCursorOf(input),
      });
      return c.json({
        incidents: page.incidents.map(apiIncident),
        next_cursor: page.next === null ? null : encodeIncidentCursor(page.next),
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/alerts/{id}/acknowledge",
      summary: "Acknowledges an incident",
      description: "From then on it takes no new flows: if the activity goes on, a new " +
        "incident opens. Acknowledging twice keeps the first time. Needs the read token when " +
        "READ_TOKEN is set. A browser request from another site is refused.",
      request: { params: AlertIdParam },
      responses: {
        200: {
          description: "The incident, acknowledged",
          content: { "application/json": { schema: IncidentSchema } },
        },
        400: badRequest("The id is not valid"),
        403: {
          description: "Sent by a browser on behalf of another site",
          content: { "application/json": { schema: ErrorSchema } },
        },
        404: {
          description: "No incident has this id",
          content: { "application/json": { schema: ErrorSchema } },
        },
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const incident = await acknowledgeIncident(sql, id);
      if (incident === null) {
        throw new HttpError(404, `no incident ${id}`, { details: { field: "id" } });
      }
      return c.json(apiIncident(incident), 200);
    },
  );

  const context = pageContextReader(options);

  app.get("/alerts", (c) =>
    renderListPage(c, {
      path: "/alerts",
      context,
      assets,
      search: async (query) => {
        const input = parseAlertList(query);
        const page = await searchIncidents(sql, {
          filter: incidentFilterOf(input),
          limit: input.limit,
          cursor: incidentCursorOf(input),
        });
        return {
          rows: page.incidents,
          cursor: page.next === null ? null : encodeIncidentCursor(page.next),
        };
      },
      render: ({ rows, ...view }) => <AlertsPage {...view} incidents={rows} />,
    }));

  app.post("/alerts/:id/acknowledge", async (c) => {
    const text = c.req.param("id");
    const parsed = AlertIdParam.safeParse({ id: text });
    if (!parsed.success) {
      throw new HttpError(400, "invalid id: must be an incident id (plain decimal digits)", {
        details: { field: "id" },
      });
    }
    // A form of one short field: anything larger is not one.
    const body = await readLimitedBody(c.req.raw, {
      maxBodyBytes: 4096,
      maxDecompressedBytes: 4096,
    });
    const form = new URLSearchParams(new TextDecoder().decode(body));
    const incident = await acknowledgeIncident(sql, parsed.data.id);
    if (incident === null) {
      throw new HttpError(404, `no incident ${parsed.data.id}`, { details: { field: "id" } });
    }
    return c.redirect(safeBack(form.get("next")), 303);
  });
  return app;
}
