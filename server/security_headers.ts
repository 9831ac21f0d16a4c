/**
 * Response headers that keep a browser from running, framing or sniffing
 * anything the server did not mean it to. Pages load scripts and styles only
 * from this server (hashed assets), never inline, so the policy needs no
 * `unsafe-inline`; a page that needs an inline script adds its hash.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** The Content-Security-Policy every answer carries. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/**
 * Middleware that adds CSP, `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: no-referrer` (filter URLs hold addresses) and
 * `X-Frame-Options: DENY` to every answer, JSON included: a JSON body opened
 * in a tab is a document too.
 */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
  };
}
