/**
 * What the list pages (`/alltraffic_page`, `/alerts`) share: the page
 * context with the aggregator banner, and a search answered as a page of
 * rows with a link to the next, or, when the filter form's input is refused,
 * as the form again with the reason (400), never a JSON body.
 *
 * @module
 */
import type { Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { readAggregatorStatus, type Sql } from "@traffic-analyzer/shared/db";
import { assessAggregator } from "../aggregator_health.ts";
import { HttpError } from "../http_errors.ts";
import type { Assets } from "../pages/assets.ts";
import type { PageContext } from "../pages/layout.tsx";
import { renderPage } from "../pages/render_page.ts";
import { filledQuery } from "./_filled_query.ts";

/** Options for {@link pageContextReader}. */
export interface PageContextOptions {
  /** Database handle. */
  sql: Sql;
  /** The pages' assets. */
  assets: Assets;
  /** The aggregator's interval, for the "aggregator is behind" banner. */
  aggregateIntervalMs: number;
}

/**
 * Reads a page's context: its assets and the aggregator banner. Pages read
 * it after their own query, so when the database is down that query has
 * failed already and the error page shows instead.
 */
export function pageContextReader(options: PageContextOptions): () => Promise<PageContext> {
  return async () => {
    const status = await readAggregatorStatus(options.sql);
    return {
      assets: options.assets,
      banner: assessAggregator(status, options.aggregateIntervalMs).reason,
    };
  };
}

/** One page of a search: its rows and the cursor of the next page, or null on the last. */
export interface ListPageResult<Row> {
  /** The rows of this page. */
  rows: Row[];
  /** The next page's cursor, encoded for the URL, or null. */
  cursor: string | null;
}

/** What a list page is drawn from. */
export interface ListPageView<Row> {
  /** App context. */
  page: PageContext;
  /** The query as the user gave it, blank fields left out (shown back in the form). */
  query: Record<string, string>;
  /** The rows of this page; none when the input was refused. */
  rows: Row[];
  /** The next page's URL, or null. */
  nextUrl: string | null;
  /** Why the input was refused, or null. */
  error: string | null;
}

/** Options for {@link renderListPage}. */
export interface ListPageOptions<Row> {
  /** The page's path, for the next page's link. */
  path: string;
  /** Reads the page context after the search (see {@link pageContextReader}). */
  context: () => Promise<PageContext>;
  /** The pages' assets, for the page that shows refused input. */
  assets: Assets;
  /** Parses the query and searches; an {@link HttpError} 400 is refused input. */
  search: (query: Record<string, string>) => Promise<ListPageResult<Row>>;
  /** Draws the page. */
  render: (view: ListPageView<Row>) => JSX.Element;
}

/** Answers a list page's GET: its rows and next link, or the form again with the reason (400). */
export async function renderListPage<Row>(
  c: Context,
  options: ListPageOptions<Row>,
): Promise<Response> {
  // The filter form submits every field; a blank one means "any", where the API refuses it.
  const query = filledQuery(c.req.query());
  try {
    const { rows, cursor } = await options.search(query);
    const nextUrl = cursor === null
      ? null
      : `${options.path}?${new URLSearchParams({ ...query, cursor })}`;
    return await renderPage(
      c,
      options.render({ page: await options.context(), query, rows, nextUrl, error: null }),
    );
  } catch (error) {
    if (!(error instanceof HttpError) || error.status !== 400) throw error;
    return await renderPage(
      c,
      options.render({
        page: { assets: options.assets, banner: null },
        query,
        rows: [],
        nextUrl: null,
        error: error.message,
      }),
      400,
    );
  }
}
