/**
 * Read authentication with `READ_TOKEN`. When it is set, every read needs it:
 * the API and `/metrics` take `Authorization: Bearer <token>` (or the page
 * cookie, so a page's own scripts can call the API), and a page without
 * either redirects to a small login form that sets an HttpOnly cookie. When
 * it is unset, reads are open: the server binds to localhost by default, and
 * warns at start when it binds elsewhere without a token.
 *
 * The cookie holds an HMAC of the token, not the token: a stolen cookie does
 * not reveal the bearer token, and changing the token logs every browser out.
 *
 * Left open: `POST /ingest_packets` (its own tokens), `/health` (probes),
 * `/openapi.json`, the login form and the hashed assets it loads.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { createHmac } from "node:crypto";
import { HttpError } from "./http_errors.ts";
import { constantTimeEqual } from "./_constant_time.ts";

/** Name of the session cookie. */
export const READ_COOKIE = "ta_read";

const encoder = new TextEncoder();

/** The cookie value that proves knowledge of `token`. */
export function readSessionValue(token: string): string {
  return createHmac("sha256", token).update("traffic-analyzer read session v1").digest("hex");
}

/** True when `offered` is the read token. */
export function isReadToken(token: string, offered: string): boolean {
  return constantTimeEqual(encoder.encode(offered), encoder.encode(token));
}

/** Options for {@link readAuth}. */
export interface ReadAuthOptions {
  /** The read token; null leaves reads open. */
  token: string | null;
}

function isOpenPath(method: string, path: string): boolean {
  if (method === "POST" && path === "/ingest_packets") return true;
  return path === "/health" || path === "/openapi.json" || path === "/login" ||
    path === "/logout" || path.startsWith("/assets/");
}

/** Paths answered as data, where a refusal is a 401, not a redirect to the form. */
function isDataPath(path: string): boolean {
  return path.startsWith("/api/") || path === "/metrics" || path === "/ingest_packets";
}

/** Middleware that lets reads through only with the read token, when one is set. */
export function readAuth(options: ReadAuthOptions): MiddlewareHandler {
  const token = options.token;
  if (token !== null && token.length === 0) {
    throw new RangeError("Cannot protect reads as 'token' is empty: pass null to leave them open");
  }
  const session = token === null ? "" : readSessionValue(token);
  return async function readAuthMiddleware(c, next) {
    if (token === null || isOpenPath(c.req.method, c.req.path)) return await next();
    const header = c.req.header("authorization");
    const bearer = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? "";
    if (bearer !== null) {
      if (isReadToken(token, bearer)) return await next();
      c.header("WWW-Authenticate", 'Bearer realm="read", error="invalid_token"');
      throw new HttpError(401, "invalid read token");
    }
    const cookie = getCookie(c, READ_COOKIE);
    if (
      cookie !== undefined && constantTimeEqual(encoder.encode(cookie), encoder.encode(session))
    ) {
      return await next();
    }
    if (!isDataPath(c.req.path) && c.req.method === "GET") {
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    c.header("WWW-Authenticate", 'Bearer realm="read"');
    throw new HttpError(401, "reads need the read token: send Authorization: Bearer <READ_TOKEN>");
  };
}
