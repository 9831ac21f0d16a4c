/**
 * The incident list's query parameters (one zod schema for `GET /api/alerts`
 * and the `/alerts` page) and its cursor.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { IncidentCursor, IncidentFilter } from "@traffic-analyzer/shared/db";
import { HttpError } from "../http_errors.ts";
import { decimalInteger } from "./_schemas.ts";
import { FlowFilterParams, queryError, timeParam } from "./flow_query.ts";

/** The query of an incident list. Strict: a misspelt parameter answers 400. */
export const AlertListQuery = z.strictObject({
  state: z.enum(["open", "acknowledged"]).optional().openapi({
    param: { name: "state", in: "query" },
    description: "`open` or `acknowledged`; both when absent.",
  }),
  label: FlowFilterParams.label,
  ip: FlowFilterParams.ip.openapi({
    param: { name: "ip", in: "query" },
    description:
      "An address or CIDR: the incident's key address or either end of one of its flows.",
  }),
  from: timeParam(
    "from",
    "Incidents active at or after this (their last flow): epoch s or ISO 8601.",
  ),
  to: timeParam(
    "to",
    "Incidents active at or before this (their first flow): epoch s or ISO 8601.",
  ),
  limit: decimalInteger({ min: 1, max: 1000 }).default(100).openapi({
    param: { name: "limit", in: "query" },
    description: "Incidents per page, 1–1000.",
    example: "100",
  }),
  cursor: z.string().max(200).optional().openapi({
    param: { name: "cursor", in: "query" },
    description: "The `next_cursor` of the previous page, with the same filters.",
  }),
});

/** A parsed {@link AlertListQuery}. */
export type AlertListInput = z.output<typeof AlertListQuery>;

/** The path parameter of an acknowledgement. */
export const AlertIdParam = z.object({
  id: decimalInteger({ min: 1, max: Number.MAX_SAFE_INTEGER }).openapi({
    param: { name: "id", in: "path" },
    description: "The incident's id.",
    example: "12",
  }),
});

/** The filter a parsed query describes. */
export function incidentFilterOf(input: AlertListInput): IncidentFilter {
  return {
    state: input.state ?? null,
    labels: input.label ?? null,
    ip: input.ip ?? null,
    fromSec: input.from ?? null,
    toSec: input.to ?? null,
  };
}

/** Encodes where a page ended as an opaque URL-safe string. */
export function encodeIncidentCursor(cursor: IncidentCursor): string {
  return btoa(JSON.stringify(["incidents", cursor.lastSeen, cursor.id]))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The cursor of a parsed query; 400 naming `cursor` when it is not one of ours. */
export function incidentCursorOf(input: AlertListInput): IncidentCursor | null {
  if (input.cursor === undefined) return null;
  try {
    const value = JSON.parse(atob(input.cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (
      Array.isArray(value) && value.length === 3 && value[0] === "incidents" &&
      typeof value[1] === "number" && Number.isFinite(value[1]) &&
      Number.isSafeInteger(value[2]) && value[2] >= 1
    ) {
      return { lastSeen: value[1], id: value[2] };
    }
  } catch {
    // Not base64 or not JSON: the same answer as a wrong shape.
  }
  throw new HttpError(400, "invalid cursor: pass the next_cursor of a previous page", {
    details: { field: "cursor" },
  });
}

/** Parses a query outside a typed route (the page): 400 naming the parameter. */
export function parseAlertList(query: Record<string, string>): AlertListInput {
  const parsed = AlertListQuery.safeParse(query);
  if (!parsed.success) throw queryError(parsed.error.issues[0]);
  return parsed.data;
}
