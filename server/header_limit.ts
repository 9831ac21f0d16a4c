/**
 * Refuses requests with oversized headers with 431 and a JSON reason.
 *
 * Deno's HTTP server (hyper) has limits of its own that no `Deno.serve`
 * option changes: more than 100 header fields, or a request head larger than
 * its read buffer (between 64 and 100 KiB here), get a bare `400` with an
 * empty body before any application code runs (denoland/deno#21047). This
 * middleware sets a lower bound, so every request between it and hyper's
 * limit gets a proper 431 with a reason.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http_errors.ts";

/** Options for {@link requestHeaderLimit}. */
export interface RequestHeaderLimitOptions {
  /** Largest total of header names and values, in bytes. @default 16384 */
  maxBytes?: number;
  /** Most header fields. @default 64 */
  maxFields?: number;
}

/** Middleware answering 431 when the request's headers exceed the limits. */
export function requestHeaderLimit(options: RequestHeaderLimitOptions = {}): MiddlewareHandler {
  const maxBytes = options.maxBytes ?? 16_384;
  const maxFields = options.maxFields ?? 64;
  if (!Number.isInteger(maxBytes) || maxBytes < 1024) {
    throw new RangeError(
      `Cannot limit headers as 'maxBytes' must be an integer >= 1024: current value is ${maxBytes}`,
    );
  }
  if (!Number.isInteger(maxFields) || maxFields < 8) {
    throw new RangeError(
      `Cannot limit headers as 'maxFields' must be an integer >= 8: current value is ${maxFields}`,
    );
  }
  return async function requestHeaderLimitMiddleware(c, next) {
    let bytes = 0;
    let fields = 0;
    // Header values are ByteStrings: one character per byte.
    for (const [name, value] of c.req.raw.headers) {
      bytes += name.length + value.length + 4;
      fields++;
    }
    if (bytes > maxBytes || fields > maxFields) {
      throw new HttpError(
        431,
        `request headers are too large: ${fields} fields and ${bytes} bytes, ` +
          `the limits are ${maxFields} fields and ${maxBytes} bytes`,
        { details: { limit_bytes: maxBytes, limit_fields: maxFields } },
      );
    }
    await next();
  };
}
