/**
 * The flow search page, and the hashed assets the pages load. (The
 * dashboard at `/`, flow and host pages are in `ui_pages.tsx`.)
 *
 * @module
 */
import { filledQuery } from "./_filled_query.ts";
import { readAggregatorStatus, searchFlows, type Sql } from "@traffic-analyzer/shared/db";
import { assessAggregator } from "../aggregator_health.ts";
import { HttpError } from "../http_errors.ts";
import type { Assets } from "../pages/assets.ts";
import type { PageContext } from "../pages/layout.tsx";
import { FlowSearchPage } from "../pages/flow_pages.tsx";
import { renderPage } from "../pages/render_page.ts";
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
  // Read after the page's own query: when the database is down that query
  // has already failed and the error page shows instead.
  const context = async (): Promise<PageContext> => {
    const status = await readAggregatorStatus(sql);
    return { assets, banner: assessAggregator(status, options.aggregateIntervalMs).reason };
  };

  for (const asset of assets.values()) {
    app.get(asset.path, (c) => {
      c.header("Content-Type", asset.contentType);
      c.header("Cache-Control", "public, max-age=31536000, immutable");
      return c.body(asset.body as Uint8Array<ArrayBuffer>);
    });
  }

  app.get("/alltraffic_page", async (c) => {
    // The filter form submits every field; a blank one means "any", where the API refuses it.
    const query = filledQuery(c.req.query());
    let input;
    try {
      input = parseFlowSearch(query);
      const cursor = cursorOf(input);
      const result = await searchFlows(sql, {
        filter: filterOf(input),
        sort: input.sort,
        order: input.order,
        limit: input.limit,
        cursor,
      });
      const nextUrl = result.next === null ? null : `/alltraffic_page?${new URLSearchParams({
        ...query,
        cursor: encodeCursor(result.next),
      })}`;
      return await renderPage(
        c,
        <FlowSearchPage
          page={await context()}
          query={query}
          flows={result.flows}
          nextUrl={nextUrl}
          error={null}
        />,
      );
    } catch (error) {
      if (!(error instanceof HttpError) || error.status !== 400) throw error;
      // The form comes back with what was typed and the reason, not a JSON body.
      return await renderPage(
        c,
        <FlowSearchPage
          page={{ assets, banner: null }}
          query={query}
          flows={[]}
          nextUrl={null}
          error={error.message}
        />,
        400,
      );
    }
  });
  return app;
}
