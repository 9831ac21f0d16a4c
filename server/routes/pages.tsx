/**
 * The flow search page, and the hashed assets the pages load. (The
 * dashboard at `/`, flow and host pages are in `ui_pages.tsx`.)
 *
 * @module
 */
import { searchFlows, type Sql } from "@traffic-analyzer/shared/db";
import type { Assets } from "../pages/assets.ts";
import { FlowSearchPage } from "../pages/flow_pages.tsx";
import { pageContextReader, renderListPage } from "./_list_page.ts";
import { createRouter, type Router } from "./_router.ts";
import { cursorOf, encodeCursor, filterOf, parseFlowSearch } from "./flow_query.ts";

/** Options for {@link pageRoutes}. */
export interface PageRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** The pages' assets. */
  assets: Assets;
  /** The aggregator's interval, for the "aggregator is behind" banner. */
  aggregateIntervalMs: number;
}

/** The pages sub-app (not in the OpenAPI document: HTML for people). */
export function pageRoutes(options: PageRoutesOptions): Router {
  const { sql, assets } = options;
  const app = createRouter();
  const context = pageContextReader(options);

  for (const asset of assets.values()) {
    app.get(asset.path, (c) => {
      c.header("Content-Type", asset.contentType);
      c.header("Cache-Control", "public, max-age=31536000, immutable");
      return c.body(asset.body as Uint8Array<ArrayBuffer>);
    });
  }

  app.get("/alltraffic_page", (c) =>
    renderListPage(c, {
      path: "/alltraffic_page",
      context,
      assets,
      search: async (query) => {
        const input = parseFlowSearch(query);
        const result = await searchFlows(sql, {
          filter: filterOf(input),
          sort: input.sort,
          order: input.order,
          limit: input.limit,
          cursor: cursorOf(input),
        });
        return {
          rows: result.flows,
          cursor: result.next === null ? null : encodeCursor(result.next),
        };
      },
      render: ({ rows, ...view }) => <FlowSearchPage {...view} flows={rows} />,
    }));
  return app;
}
