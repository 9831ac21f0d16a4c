/**
 * The flow API: `GET /api/last10`, `GET /api/alltraffic` (filters, sorts,
 * keyset pages; NDJSON export with `Accept: application/x-ndjson`) and
 * `GET /api/alltraffic.csv`.
 *
 * @module
 */
import type { Context } from "hono";
import { createRoute, z } from "@hono/zod-openapi";
import {
  countFlowsUpTo,
  type FlowCursor,
  type FlowFilter,
  type FlowRow,
  type FlowSort,
  lastFlows,
  searchFlows,
  type Sql,
} from "@traffic-analyzer/shared/db";
import { type HeavyReadLimiter, streamingBody } from "../heavy_reads.ts";
import { createRouter, type Router } from "./_router.ts";
import { badRequest, ErrorSchema, FlowSchema } from "./_schemas.ts";
import {
  cursorOf,
  encodeCursor,
  filterOf,
  FLOW_EXPORT_MAX_ROWS,
  FlowExportQuery,
  FlowSearchQuery,
} from "./flow_query.ts";

/** Options for {@link flowRoutes}. */
export interface FlowRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** The cap on concurrent heavy reads (exports). */
  heavyReads: HeavyReadLimiter;
}

/** Columns of the CSV export, in order: every field of a flow. */
export const FLOW_CSV_COLUMNS: readonly (keyof FlowRow)[] = [
  "id",
  "flow_uid",
  "community_id",
  "agent",
  "tunnel_type",
  "tunnel_id",
  "orig_ip",
  "orig_port",
  "resp_ip",
  "resp_port",
  "protocol",
  "vlan",
  "first_seen",
  "last_seen",
  "duration",
  "orig_packets",
  "resp_packets",
  "orig_bytes",
  "resp_bytes",
  "state",
  "close_reason",
  "conn_state",
  "label",
  "score",
  "model_version",
  "app_protocol",
  "dns_query",
  "dns_query_count",
  "dns_names",
  "tls_sni",
  "tls_alpn",
  "tls_ja3",
  "tls_ja4",
  "http_method",
  "http_host",
  "http_path",
  "http_user_agent",
  "http_status",
  "ssh_client",
  "ssh_server",
  "dhcp_hostname",
  "orig_scope",
  "orig_country",
  "orig_asn",
  "orig_as_org",
  "resp_scope",
  "resp_country",
  "resp_asn",
  "resp_as_org",
];

/**
 * One CSV field (RFC 4180). Text starting with `=`, `+`, `-`, `@`, tab or
 * CR gets a leading `'`, so a spreadsheet shows it rather than running it as
 * a formula (protocol names and labels are text from outside).
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return /[",\r\n']/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

interface ExportPlan {
  filter: FlowFilter;
  sort: FlowSort;
  order: "asc" | "desc";
  limit: number;
  cursor: FlowCursor | null;
}

/** Every matching flow, page by page (one query per 1,000 rows), up to the plan's limit. */
async function* exportRows(sql: Sql, plan: ExportPlan): AsyncGenerator<FlowRow[]> {
  let left = plan.limit;
  let cursor = plan.cursor;
  while (left > 0) {
    const page = await searchFlows(sql, {
      filter: plan.filter,
      sort: plan.sort,
      order: plan.order,
      limit: Math.min(left, 1000),
      cursor,
    });
    if (page.flows.length > 0) yield page.flows;
    left -= page.flows.length;
    if (page.next === null) return;
    cursor = page.next;
  }
}

async function* csvText(rows: AsyncIterable<FlowRow[]>): AsyncGenerator<string> {
  yield FLOW_CSV_COLUMNS.join(",") + "\r\n";
  for await (const flows of rows) {
    let text = "";
    for (const flow of flows) {
      text += FLOW_CSV_COLUMNS.map((column) => csvField(flow[column])).join(",") + "\r\n";
    }
    yield text;
  }
}

async function* ndjsonText(rows: AsyncIterable<FlowRow[]>): AsyncGenerator<string> {
  for await (const flows of rows) {
    let text = "";
    for (const flow of flows) text += JSON.stringify(flow) + "\n";
    yield text;
  }
}

/** Streams an export; headers say how many rows come and whether the cap cut it. */
async function exportAnswer(
  c: Context,
  sql: Sql,
  heavyReads: HeavyReadLimiter,
  plan: ExportPlan,
  format: "csv" | "ndjson",
): Promise<Response> {
  const release = heavyReads.acquire();
  try {
    // Counted up to one past the limit: enough to say whether it was cut.
    const matching = await countFlowsUpTo(sql, plan.filter, plan.limit + 1);
    const rows = exportRows(sql, plan);
    const text = format === "csv" ? csvText(rows) : ndjsonText(rows);
    return c.body(streamingBody(text, release), 200, {
      "Content-Type": format === "csv"
        ? "text/csv; charset=utf-8; header=present"
        : "application/x-ndjson; charset=utf-8",
      ...(format === "csv" ? { "Content-Disposition": 'attachment; filename="flows.csv"' } : {}),
      "X-Export-Limit": String(plan.limit),
      "X-Export-Truncated": String(matching > plan.limit),
    });
  } catch (error) {
    release();
    throw error;
  }
}

const exportResponses = {
  400: badRequest("A filter parameter is not valid (named in `error` and `field`)"),
  429: {
    description: "Too many heavy reads at once (with Retry-After)",
    content: { "application/json": { schema: ErrorSchema } },
  },
};

/** The flow API sub-app. */
export function flowRoutes(options: FlowRoutesOptions): Router {
  const { sql, heavyReads } = options;
  const app = createRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/last10",
      summary: "The 10 most recently active flows",
      responses: {
        200: {
          description: "Flows, newest first",
          content: { "application/json": { schema: z.array(FlowSchema) } },
        },
      },
    }),
    async (c) => c.json(await lastFlows(sql, 10), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/alltraffic",
      summary: "Flows matching a filter, one page at a time",
      description: "Every parameter is optional and they combine. Pages are keyset-paginated: " +
        "pass `next_cursor` back with the same filter, sort and order, and no flow repeats or " +
        "goes missing while the aggregator writes. With `Accept: application/x-ndjson` the " +
        `whole result is streamed as one flow per line instead (up to ${FLOW_EXPORT_MAX_ROWS} ` +
        "flows; `X-Export-Truncated` says whether the cap cut it).",
      request: { query: FlowSearchQuery },
      responses: {
        200: {
          description: "One page of flows (or NDJSON, one flow per line)",
          content: {
            "application/json": {
              schema: z.object({
                flows: z.array(FlowSchema),
                next_cursor: z.string().nullable(),
              }),
            },
            "application/x-ndjson": { schema: FlowSchema },
          },
        },
        ...exportResponses,
      },
    }),
    async (c) => {
      const input = c.req.valid("query");
      const cursor = cursorOf(input);
      const filter = filterOf(input);
      if ((c.req.header("accept") ?? "").includes("application/x-ndjson")) {
        // An export ignores the page size unless a smaller limit was asked for.
        const limit = c.req.query("limit") === undefined ? FLOW_EXPORT_MAX_ROWS : input.limit;
        return await exportAnswer(c, sql, heavyReads, {
          filter,
          sort: input.sort,
          order: input.order,
          limit,
          cursor,
        }, "ndjson") as never;
      }
      const page = await searchFlows(sql, {
        filter,
        sort: input.sort,
        order: input.order,
        limit: input.limit,
        cursor,
      });
      return c.json({
        flows: page.flows,
        next_cursor: page.next === null ? null : encodeCursor(page.next),
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/alltraffic.csv",
      summary: "Flows matching a filter, as CSV",
      description: "The same parameters as `/api/alltraffic`; every matching flow, streamed, up " +
        `to \`limit\` (at most ${FLOW_EXPORT_MAX_ROWS}). \`X-Export-Truncated: true\` says the ` +
        "cap cut it: narrow the filter (`from`/`to`). Text that a spreadsheet would run as a " +
        "formula gets a leading `'`.",
      request: { query: FlowExportQuery },
      responses: {
        200: {
          description: "CSV with a header row",
          content: { "text/csv": { schema: z.string() } },
        },
        ...exportResponses,
      },
    }),
    async (c) => {
      const input = c.req.valid("query");
      return await exportAnswer(c, sql, heavyReads, {
        filter: filterOf(input),
        sort: input.sort,
        order: input.order,
        limit: input.limit,
        cursor: cursorOf(input),
      }, "csv") as never;
    },
  );
  return app;
}
