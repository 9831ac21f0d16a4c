/**
 * Refuses state-changing requests that a browser sends on behalf of another
 * site (cross-site request forgery). An acknowledgement is a POST that a
 * page of any site could make a browser send to this server, with its read
 * cookie, or to a server on localhost whose reads are open. Browsers say
 * where a request comes from (`Sec-Fetch-Site`, `Origin`); clients such as
 * curl send neither and are let through (they hold the bearer token or need
 * none).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http_errors.ts";

/** Middleware: 403 for a request a browser marks as coming from another site. */
export function sameOriginWrites(): MiddlewareHandler {
  return async function sameOriginWritesMiddleware(c, next) {
    const site = c.req.header("sec-fetch-site");
    if (site !== undefined) {
      // The browser's own word; unlike Origin against Host, it holds behind a
      // proxy that rewrites Host.
      if (site !== "same-origin" && site !== "none") {
        throw new HttpError(403, `cross-site request refused (Sec-Fetch-Site: ${site})`);
      }
      return await next();
    }
    // Older browsers send only Origin.
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      let host: string | null = null;
      try {
        host = origin === "null" ? null : new URL(origin).host;
      } catch {
        host = null;
      }
      if (host === null || host !== (c.req.header("host") ?? new URL(c.req.url).host)) {
        throw new HttpError(403, "cross-site request refused (Origin is another site)");
      }
    }
    await next();
  };
}
