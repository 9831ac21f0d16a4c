/**
 * The dashboard, flow detail and host pages: `/`, `/flows/{id}`,
 * `/hosts/{ip}`. Each reads the same functions as its JSON route, so page
 * and API never disagree.
 *
 * @module
 */
import { filledQuery } from "./_filled_query.ts";
import { isIP } from "node:net";
import {
  type FlowRow,
  lastFlows,
  newestIncidents,
  searchFlows,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { HttpError } from "../http_errors.ts";
import type { Assets } from "../pages/assets.ts";
import { renderPage } from "../pages/render_page.ts";
import { DashboardPage } from "../pages/dashboard_page.tsx";
import { FlowDetailPage } from "../pages/flow_detail_page.tsx";
import { HostPage } from "../pages/host_page.tsx";
import { readFlowPacketPage } from "../flow_detail_view.ts";
import type { FeatureInfo } from "../feature_catalog.ts";
import { pageContextReader } from "./_list_page.ts";
import { createRouter, type Router } from "./_router.ts";
import { DashboardQuery, type OpenIncidentCounter, readDashboardView } from "./dashboard.ts";
import { flowOr404, packetCursorOf } from "./flow_detail.ts";
import { readHostView } from "./hosts.ts";
import { filterOf, parseFlowSearch, queryError } from "./flow_query.ts";
import { decimalInteger } from "./_schemas.ts";

/** Options for {@link uiPageRoutes}. */
export interface UiPageRoutesOptions {
  sql: Sql;
  assets: Assets;
  clock: () => number;
  aggregateIntervalMs: number;
  catalog: { version: number; features: FeatureInfo[] };
  openIncidents?: OpenIncidentCounter;
}

/** Packets per page on the flow page. */
const PACKETS_PER_PAGE = 100;

/** The pages sub-app (not in the OpenAPI document: HTML for people). */
export function uiPageRoutes(options: UiPageRoutesOptions): Router {
  const { sql, assets } = options;
  const app = createRouter();
  const context = pageContextReader(options);

  app.get("/", async (c) => {
    const parsed = DashboardQuery.safeParse(filledQuery(c.req.query()));
    if (!parsed.success) throw queryError(parsed.error.issues[0]);
    const { period, end } = parsed.data;
    const [view, latest, incidents] = await Promise.all([
      readDashboardView(options, period, end ?? null),
      lastFlows(sql, 10),
      newestIncidents(sql, { limit: 5 }),
    ]);
    // The banner says when the aggregator is behind; the page's script keeps it current.
    return await renderPage(
      c,
      <DashboardPage
        page={{ assets, banner: view.aggregator.reason }}
        view={view}
        latest={latest}
        incidents={incidents}
        end={end ?? null}
      />,
    );
  });

  app.get("/flows/:id", async (c) => {
    const idCheck = decimalInteger({ min: 1, max: Number.MAX_SAFE_INTEGER }).safeParse(
      c.req.param("id"),
    );
    if (!idCheck.success) {
      throw new HttpError(400, `invalid id: ${idCheck.error.issues[0].message}`, {
        details: { field: "id" },
      });
    }
    const query = c.req.query();
    const unknown = Object.keys(query).filter((name) => name !== "after");
    if (unknown.length > 0) throw new HttpError(400, `unknown parameter ${unknown.join(", ")}`);
    const after = packetCursorOf(query.after || undefined);
    const view = await flowOr404(options, idCheck.data);
    const packets = await readFlowPacketPage(sql, view.flow, {
      limit: PACKETS_PER_PAGE,
      after,
    });
    return await renderPage(
      c,
      <FlowDetailPage
        page={await context()}
        view={view}
        packets={packets}
        after={query.after || null}
      />,
    );
  });

  app.get("/hosts/:ip", async (c) => {
    const ip = c.req.param("ip");
    if (isIP(ip) === 0) {
      throw new HttpError(400, "invalid ip: must be an IPv4 or IPv6 address", {
        details: { field: "ip" },
      });
    }
    const query = filledQuery(c.req.query());
    const { period: periodText, end: endText, ...flowQuery } = query;
    const parsed = DashboardQuery.safeParse({
      ...(periodText === undefined ? {} : { period: periodText }),
      ...(endText === undefined ? {} : { end: endText }),
    });
    if (!parsed.success) throw queryError(parsed.error.issues[0]);
    const view = await readHostView(options, ip, parsed.data.period, parsed.data.end ?? null);
    let flows: FlowRow[] = [];
    let error: string | null = null;
    try {
      if ("ip" in flowQuery) {
        throw new HttpError(400, "unknown parameter ip: this page's host is in its path", {
          details: { field: "ip" },
        });
      }
      const input = parseFlowSearch({ limit: "25", ...flowQuery });
      flows = (await searchFlows(sql, {
        filter: { ...filterOf(input), ip },
        sort: input.sort,
        order: input.order,
        limit: input.limit,
      })).flows;
    } catch (caught) {
      if (!(caught instanceof HttpError) || caught.status !== 400) throw caught;
      error = caught.message;
    }
    return await renderPage(
      c,
      <HostPage
        page={await context()}
        view={view}
        flows={flows}
        filterQuery={new URLSearchParams(flowQuery).toString()}
        error={error}
      />,
      error === null ? 200 : 400,
    );
  });
  return app;
}
