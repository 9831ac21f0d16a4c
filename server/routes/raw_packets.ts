/**
 * `GET /api/raw_packets/last/{count}`: the newest stored packets, streamed
 * as a JSON array; their captured bytes only with `?include=data`.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { newestRawPackets, type RawPacketRow, type Sql } from "@traffic-analyzer/shared/db";
import { type HeavyReadLimiter, streamingBody } from "../heavy_reads.ts";
import { createRouter, type Router } from "./_router.ts";
import { badRequest, decimalInteger, ErrorSchema } from "./_schemas.ts";

/** Options for {@link rawPacketRoutes}. */
export interface RawPacketRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** The cap on concurrent heavy reads. */
  heavyReads: HeavyReadLimiter;
}

/** A JSON array written one chunk of rows at a time. */
async function* jsonArray<T>(first: IteratorResult<T[]>, rest: AsyncIterator<T[]>) {
  yield "[";
  let comma = false;
  for (let step = first; !step.done; step = await rest.next()) {
    let text = "";
    for (const row of step.value) {
      text += (comma ? "," : "") + JSON.stringify(row);
      comma = true;
    }
    yield text;
  }
  yield "]";
}

/** The raw-packet API sub-app. */
export function rawPacketRoutes(options: RawPacketRoutesOptions): Router {
  const { sql, heavyReads } = options;
  const app = createRouter();
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/raw_packets/last/{count}",
      summary: "The most recently ingested raw packets",
      description: "Streamed newest first. The captured bytes (`data`, base64) are left out " +
        "unless `include=data` asks for them. A heavy read: past the concurrency cap it " +
        "answers 429.",
      request: {
        params: z.object({
          count: decimalInteger({ min: 1, max: 10_000 }).openapi({
            param: { name: "count", in: "path" },
            example: "10",
          }),
        }),
        query: z.object({
          include: z.enum(["data"]).optional().openapi({
            param: { name: "include", in: "query" },
            description: "`data` adds each packet's captured bytes (base64).",
          }),
        }),
      },
      responses: {
        200: { description: "Packets, newest first" },
        400: badRequest("count is not an integer from 1 to 10000, or include is not data"),
        429: {
          description: "Too many heavy reads at once (with Retry-After)",
          content: { "application/json": { schema: ErrorSchema } },
        },
      },
    }),
    async (c) => {
      const { count } = c.req.valid("param");
      const { include } = c.req.valid("query");
      const release = heavyReads.acquire();
      try {
        const rows = newestRawPackets(sql, { count, includeData: include === "data" });
        // The first chunk is read before answering, so a database outage is a
        // 503 rather than a cut-off 200.
        const first = await rows.next();
        const body = streamingBody(jsonArray<RawPacketRow>(first, rows), release);
        return c.body(body, 200, { "Content-Type": "application/json; charset=utf-8" });
      } catch (error) {
        release();
        throw error;
      }
    },
  );
  return app;
}
