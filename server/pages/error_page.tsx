/**
 * The HTML answer to a page request that failed: a browser gets a page with
 * the reason, not a JSON body.
 *
 * @module
 */
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { renderPage } from "./render_page.ts";
import { Layout, type PageContext } from "./layout.tsx";

/** Props of {@link ErrorPage}. */
export interface ErrorPageProps {
  /** App context. */
  page: PageContext;
  /** HTTP status. */
  status: number;
  /** What went wrong, for a person. */
  message: string;
  /** Seconds after which the page reloads itself (503), or absent. */
  retrySec?: number;
}

/** A page that states the error; with `retrySec` it reloads itself. */
export const ErrorPage: FC<ErrorPageProps> = ({ page, status, message, retrySec }) => (
  <Layout title={`Error ${status}`} page={page} refreshSec={retrySec}>
    <p class="banner error" role="alert">{message}</p>
    {retrySec ? <p class="muted">This page tries again every {retrySec} s.</p> : null}
  </Layout>
);

/** Answers with {@link ErrorPage} and the given status. */
export async function renderErrorPage(
  c: Context,
  props: ErrorPageProps,
): Promise<Response> {
  return await renderPage(c, <ErrorPage {...props} />, props.status as ContentfulStatusCode);
}
