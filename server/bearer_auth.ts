/**
 * Bearer-token authentication for ingest. Answers 401 with a JSON reason
 * (Hono's own bearerAuth answers in plain text).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http_errors.ts";
import { constantTimeEqual } from "./_constant_time.ts";

/** Options for {@link bearerTokenAuth}. */
export interface BearerTokenAuthOptions {
  /** Accepted tokens; must not be empty. */
  tokens: string[];
}

const encoder = new TextEncoder();

/** Middleware that lets a request through only with `Authorization: Bearer <one of tokens>`. */
export function bearerTokenAuth(
  options: BearerTokenAuthOptions,
): MiddlewareHandler {
  if (
    options.tokens.length === 0 || options.tokens.some((t) => t.length === 0)
  ) {
    throw new RangeError(
      "Cannot check bearer tokens as 'tokens' is empty or holds an empty token",
    );
  }
  const accepted = options.tokens.map((t) => encoder.encode(t));
  return async function bearerTokenAuthMiddleware(c, next) {
    const header = c.req.header("authorization");
    if (!header) {
      c.header("WWW-Authenticate", 'Bearer realm="ingest"');
      throw new HttpError(
        401,
        "missing bearer token: send Authorization: Bearer <token>",
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const offered = encoder.encode(match?.[1] ?? "");
    let ok = false;
    for (const token of accepted) ok = constantTimeEqual(offered, token) || ok;
    if (!match || !ok) {
      c.header(
        "WWW-Authenticate",
        'Bearer realm="ingest", error="invalid_token"',
      );
      throw new HttpError(401, "invalid bearer token");
    }
    await next();
  };
}
