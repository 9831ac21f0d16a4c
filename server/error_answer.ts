/**
 * The app's one error handler: `HttpError` answers with its status, an
 * unreachable database with 503 and `Retry-After`, anything else with a
 * logged 500 that leaks nothing. Programs get JSON; a browser asking for a
 * page gets an HTML page (raw JSON during an outage helps nobody).
 *
 * @module
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { getLogger } from "@logtape/logtape";
import { LOG_ROOT } from "@traffic-analyzer/shared";
import { HttpError } from "./http_errors.ts";
import { isDatabaseUnavailable } from "./database_unavailable.ts";
import { isPageRequest } from "./page_request.ts";
import type { ServerMetrics } from "./server_metrics.ts";
import type { Assets } from "./pages/assets.ts";
import { renderErrorPage } from "./pages/error_page.tsx";

/** What a 503 for an unreachable database tells clients to wait, in seconds. */
export const DATABASE_RETRY_AFTER_SEC = 5;

const log = getLogger([LOG_ROOT, "server"]);

/** Options for {@link errorHandler} and {@link notFoundHandler}. */
export interface ErrorAnswerOptions {
  /** Counts refused ingests. */
  metrics: ServerMetrics;
  /** Assets for the HTML error page. */
  assets: Assets;
}

async function answer(
  c: Context,
  options: ErrorAnswerOptions,
  status: number,
  message: string,
  details: Record<string, unknown> = {},
  databaseDown = false,
): Promise<Response> {
  if (isPageRequest(c.req.raw, c.req.path)) {
    return await renderErrorPage(c, {
      page: { assets: options.assets, banner: null },
      status,
      message: databaseDown
        ? "The database is unavailable. Nothing is lost: agents keep their batches until it is back."
        : message,
      retrySec: databaseDown ? DATABASE_RETRY_AFTER_SEC : undefined,
    });
  }
  return c.json({ error: message, ...details }, status as 400);
}

/** The `app.onError` handler. */
export function errorHandler(options: ErrorAnswerOptions): ErrorHandler {
  return async function answerError(error, c) {
    if (error instanceof HttpError) {
      // Counted here, not in the handler, so refusals by the auth middleware count too.
      if (c.req.path === "/ingest_packets") {
        options.metrics.ingestRejected.inc({ status: String(error.status) });
      }
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return await answer(c, options, error.status, error.message, error.details);
    }
    if (isDatabaseUnavailable(error)) {
      log.warn("Database unavailable: {error}", { error: String(error) });
      c.header("Retry-After", String(DATABASE_RETRY_AFTER_SEC));
      return await answer(c, options, 503, "database unavailable, retry later", {}, true);
    }
    log.error("Unhandled error on {method} {path}: {error}", {
      method: c.req.method,
      path: c.req.path,
      error,
    });
    return await answer(c, options, 500, "internal server error");
  };
}

/** Options for {@link notFoundHandler}. */
export interface NotFoundOptions extends ErrorAnswerOptions {
  /** The methods a path answers, for 405 and `Allow`; empty for an unknown path. */
  methodsAllowed: (path: string) => string[];
}

/** The `app.notFound` handler: 405 with `Allow` for a known path, else 404. */
export function notFoundHandler(options: NotFoundOptions): NotFoundHandler {
  return async function answerNotFound(c) {
    const allowed = options.methodsAllowed(c.req.path);
    if (allowed.length > 0) {
      c.header("Allow", allowed.join(", "));
      return await answer(
        c,
        options,
        405,
        `${c.req.method} is not allowed on ${c.req.path}: use ${allowed.join(" or ")}`,
      );
    }
    return await answer(c, options, 404, `no route for ${c.req.method} ${c.req.path}`);
  };
}
