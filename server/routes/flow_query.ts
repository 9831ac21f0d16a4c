/**
 * The flow filter as query parameters, validated at the edge with one zod
 * schema: the API, the export, the page and the pcap export take the same
 * parameters, and a bad one answers 400 naming it (a visible message on the
 * page), never a 500 from the database.
 *
 * @module
 */
import { isIP } from "node:net";
import { z } from "@hono/zod-openapi";
import {
  FLOW_SORTS,
  type FlowCursor,
  type FlowFilter,
  type FlowSort,
} from "@traffic-analyzer/shared/db";
import { APP_PROTOCOLS, type AppProtocol } from "@traffic-analyzer/shared/app_layer";
import { HttpError } from "../http_errors.ts";
import { decimalInteger } from "./_schemas.ts";

/** True for an IPv4/IPv6 address, or one with a prefix length (`10.0.0.0/8`). */
export function isAddressOrCidr(text: string): boolean {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = address.includes("%") ? 0 : isIP(address);
  if (version === 0) return false;
  if (slash < 0) return true;
  const prefix = text.slice(slash + 1);
  return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Epoch seconds from `1764000000`, `1764000000.5` or ISO 8601 (UTC unless it says otherwise). */
export function parseTimeSec(text: string): number | null {
  if (/^\d{1,12}(?:\.\d{1,9})?$/.test(text)) return Number(text);
  if (!ISO_TIME.test(text)) return null;
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) && text.length > 10;
  const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : hasZone ? text : `${text}Z`);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

const address = (name: string, description: string) =>
  z.string().max(64).refine(isAddressOrCidr, "must be an IPv4 or IPv6 address or CIDR")
    .optional().openapi({ param: { name, in: "query" }, description, example: "10.0.0.0/8" });

/**
 * An optional time query parameter: epoch seconds or ISO 8601, parsed to
 * epoch seconds (400 naming the parameter otherwise).
 */
export const timeParam = (name: string, description: string) =>
  z.string().max(40).transform((text, ctx) => {
    const sec = parseTimeSec(text);
    if (sec === null) {
      ctx.addIssue({
        code: "custom",
        message: "must be epoch seconds or ISO 8601 (2026-01-31T12:00:00Z)",
      });
      return z.NEVER;
    }
    return sec;
  }).optional().openapi({
    param: { name, in: "query" },
    description,
    example: "2026-01-31T12:00:00Z",
    type: "string",
  });

const port = (name: string, description: string) =>
  decimalInteger({ min: 0, max: 65_535 }).optional().openapi({
    param: { name, in: "query" },
    description,
  });

/** The filter parameters alone (the pcap export adds its own to them). */
export const FlowFilterParams = {
  ip: address("ip", "An address or CIDR matching either end of the flow."),
  orig_ip: address("orig_ip", "An address or CIDR the originator must be in."),
  resp_ip: address("resp_ip", "An address or CIDR the responder must be in."),
  port: port("port", "A port at either end."),
  resp_port: port("resp_port", "The responder's port."),
  protocol: z.string().regex(/^[A-Za-z0-9._+-]{1,32}$/, "must be a protocol name such as TCP")
    .optional().openapi({
      param: { name: "protocol", in: "query" },
      description: "Protocol name (TCP, UDP, ICMP, ICMPv6, ARP, an IANA name or IP-<n>); any case.",
      example: "TCP",
    }),
  label: z.string().regex(
    /^[a-z0-9_]{1,32}(?:,[a-z0-9_]{1,32}){0,19}$/,
    "must be class names separated by commas, such as portscan,syn_flood",
  ).transform((text) => text.split(",")).optional().openapi({
    param: { name: "label", in: "query" },
    description: "A class name, or several separated by commas.",
    example: "portscan,syn_flood",
    type: "string",
  }),
  min_score: z.string().regex(
    /^(?:0(?:\.\d{1,6})?|1(?:\.0{1,6})?|\.\d{1,6})$/,
    "must be from 0 to 1",
  )
    .transform(Number).optional().openapi({
      param: { name: "min_score", in: "query" },
      description:
        "Only flows scored at least this (0–1; the score is the calibrated probability of an attack).",
      example: "0.5",
      type: "number",
    }),
  state: z.enum(["active", "closed"]).optional().openapi({
    param: { name: "state", in: "query" },
    description: "`active` or `closed`.",
  }),
  community_id: z.string().max(100).regex(
    /^[0-9]+:[A-Za-z0-9+/]+={0,2}$/,
    "must be a Community ID such as 1:wCb3OG7yAFWelaUydu0D+125CLM=",
  ).optional().openapi({
    param: { name: "community_id", in: "query" },
    description: "Only the flows with this Community ID: pivot from a Zeek or Suricata record.",
    example: "1:wCb3OG7yAFWelaUydu0D+125CLM=",
  }),
  agent: z.string().regex(
    /^[\x21-\x7e]{1,200}$/,
    "must be an agent id: 1 to 200 printable ASCII characters without spaces",
  ).optional().openapi({
    param: { name: "agent", in: "query" },
    description: "Only the flows of this agent (its `X-Agent-Id`, `AGENT_ID`), exactly.",
    example: "sensor-1",
  }),
  from: timeParam("from", "`last_seen` at or after this: epoch seconds or ISO 8601."),
  to: timeParam("to", "`last_seen` at or before this: epoch seconds or ISO 8601."),
  host: z.string().max(253).regex(
    /^(?:\*\.)?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/,
    "must be a host name such as www.example.com, or *.example.com for every name below it",
  ).optional().openapi({
    param: { name: "host", in: "query" },
    description: "A name matching the TLS/QUIC server name (SNI), the HTTP host or the DNS " +
      "query name, without regard to case; `*.example.com` matches every name below example.com.",
    example: "*.example.com",
  }),
  ja4: z.string().regex(
    /^[a-z0-9]{10}_[0-9a-f]{12}_[0-9a-f]{12}$/,
    "must be a JA4 fingerprint such as t13d1516h2_8daaf6152771_e5627efa2ab1",
  ).optional().openapi({
    param: { name: "ja4", in: "query" },
    description: "The JA4 client fingerprint of the flow's first ClientHello (TLS or QUIC).",
    example: "t13d1516h2_8daaf6152771_e5627efa2ab1",
  }),
  app: z.enum(APP_PROTOCOLS as [AppProtocol, ...AppProtocol[]]).optional().openapi({
    param: { name: "app", in: "query" },
    description: "The application protocol recognised by content: " +
      APP_PROTOCOLS.map((p) => `\`${p}\``).join(", ") + ".",
  }),
  country: z.string().regex(/^[A-Za-z]{2}$/, "must be a two-letter ISO 3166 country code")
    .transform((text) => text.toUpperCase()).optional().openapi({
      param: { name: "country", in: "query" },
      description: "ISO 3166-1 alpha-2 country (GeoIP) of either end.",
      example: "US",
    }),
  asn: z.string().regex(
    /^(?:[Aa][Ss])?[0-9]{1,10}$/,
    "must be an AS number such as 15169 or AS15169",
  )
    .transform((text) => Number(text.replace(/^as/i, "")))
    .pipe(z.number().int().min(0).max(4_294_967_295)).optional().openapi({
      param: { name: "asn", in: "query" },
      description: "AS number of either end (`15169` or `AS15169`).",
      example: "AS15169",
      type: "string",
    }),
};

/** Encodes where a page ended as an opaque URL-safe string. */
export function encodeCursor(cursor: FlowCursor): string {
  const json = JSON.stringify([cursor.sort, cursor.order, cursor.key, cursor.id]);
  return btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes {@link encodeCursor}; null for anything it did not make. */
export function decodeCursor(text: string): FlowCursor | null {
  try {
    const json = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const value = JSON.parse(json);
    if (!Array.isArray(value) || value.length !== 4) return null;
    const [sort, order, key, id] = value;
    if (!(FLOW_SORTS as readonly string[]).includes(sort)) return null;
    if (order !== "asc" && order !== "desc") return null;
    if (typeof key !== "number" || !Number.isFinite(key)) return null;
    if (!Number.isSafeInteger(id) || id < 1) return null;
    return { sort, order, key, id };
  } catch {
    return null;
  }
}

/** Most rows one export (CSV or NDJSON) streams. */
export const FLOW_EXPORT_MAX_ROWS = 100_000;

/**
 * The query of a flow search: filters, sort, order, limit and cursor. Strict:
 * a misspelt filter (`?ipp=`) answers 400 rather than quietly matching all.
 */
export const FlowSearchQuery = z.strictObject({
  ...FlowFilterParams,
  sort: z.enum(FLOW_SORTS).default("last_seen").openapi({
    param: { name: "sort", in: "query" },
    description: "Sort key: `last_seen` (default), `bytes`, `packets`, `score` or `duration`.",
  }),
  order: z.enum(["desc", "asc"]).default("desc").openapi({
    param: { name: "order", in: "query" },
    description: "`desc` (default) or `asc`.",
  }),
  limit: decimalInteger({ min: 1, max: 1000 }).default(100).openapi({
    param: { name: "limit", in: "query" },
    description: "Flows per page, 1–1000.",
    example: "100",
  }),
  cursor: z.string().max(200).optional().openapi({
    param: { name: "cursor", in: "query" },
    description: "The `next_cursor` of the previous page, with the same filters, sort and order.",
  }),
});

/** A parsed {@link FlowSearchQuery}. */
export type FlowSearchInput = z.output<typeof FlowSearchQuery>;

/** The query of an export: a search whose limit goes up to {@link FLOW_EXPORT_MAX_ROWS}. */
export const FlowExportQuery = FlowSearchQuery.extend({
  limit: decimalInteger({ min: 1, max: FLOW_EXPORT_MAX_ROWS }).default(FLOW_EXPORT_MAX_ROWS)
    .openapi({
      param: { name: "limit", in: "query" },
      description: `Most rows, 1–${FLOW_EXPORT_MAX_ROWS} (the default and the cap).`,
    }),
});

/** The filter a parsed query describes. */
export function filterOf(
  input: Partial<z.output<z.ZodObject<typeof FlowFilterParams>>>,
): FlowFilter {
  return {
    ip: input.ip ?? null,
    origIp: input.orig_ip ?? null,
    respIp: input.resp_ip ?? null,
    port: input.port ?? null,
    respPort: input.resp_port ?? null,
    protocol: input.protocol ?? null,
    labels: input.label ?? null,
    minScore: input.min_score ?? null,
    state: input.state ?? null,
    communityId: input.community_id ?? null,
    agent: input.agent ?? null,
    fromSec: input.from ?? null,
    toSec: input.to ?? null,
    host: input.host ?? null,
    ja4: input.ja4 ?? null,
    app: input.app ?? null,
    country: input.country ?? null,
    asn: input.asn ?? null,
  };
}

/** The cursor of a parsed query, checked against its sort and order; 400 when it does not fit. */
export function cursorOf(input: FlowSearchInput): FlowCursor | null {
  if (input.cursor === undefined) return null;
  const cursor = decodeCursor(input.cursor);
  if (cursor === null) {
    throw new HttpError(400, "invalid cursor: pass the next_cursor of a previous page", {
      details: { field: "cursor" },
    });
  }
  if (cursor.sort !== input.sort || cursor.order !== input.order) {
    throw new HttpError(
      400,
      `invalid cursor: it continues a sort=${cursor.sort}&order=${cursor.order} search, ` +
        `not sort=${input.sort}&order=${input.order}`,
      { details: { field: "cursor" } },
    );
  }
  return cursor;
}

/** Parses a query outside a typed route (the page): 400 naming the parameter. */
export function parseFlowSearch(query: Record<string, string>): FlowSearchInput {
  const parsed = FlowSearchQuery.safeParse(query);
  if (!parsed.success) throw queryError(parsed.error.issues[0]);
  return parsed.data;
}

/** The 400 for a failed query check, naming the parameter (or the unknown one). */
export function queryError(issue: z.core.$ZodIssue): HttpError {
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.join(", ");
    return new HttpError(400, `unknown parameter ${keys}`, { details: { field: issue.keys[0] } });
  }
  const where = issue.path.join(".") || "query";
  return new HttpError(400, `invalid ${where}: ${issue.message}`, { details: { field: where } });
}

/** Re-exported for route modules. */
export type { FlowSort };
