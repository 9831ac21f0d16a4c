/**
 * `GET /api/flows/{id}` (a flow, its prediction and features) and
 * `GET /api/flows/{id}/packets` (its stored raw packets, a page at a time).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Sql } from "@traffic-analyzer/shared/db";
import { HttpError } from "../http_errors.ts";
import type { FeatureInfo } from "../feature_catalog.ts";
import {
  decodePacketCursor,
  type FlowDetailView,
  readFlowDetailView,
  readFlowPacketPage,
} from "../flow_detail_view.ts";
import { createRouter, type Router } from "./_router.ts";
import { badRequest, decimalInteger, ErrorSchema, FlowSchema } from "./_schemas.ts";

/** Options for {@link flowDetailRoutes}. */
export interface FlowDetailRoutesOptions {
  /** Database handle. */
  sql: Sql;
  /** The features by name and unit (models/FEATURES.md). */
  catalog: { version: number; features: FeatureInfo[] };
}

/** The `{id}` path parameter of a flow. */
export const FlowIdParams = z.object({
  id: decimalInteger({ min: 1, max: Number.MAX_SAFE_INTEGER }).openapi({
    param: { name: "id", in: "path" },
    example: "42",
  }),
});

/** The query of a packet page. */
export const FlowPacketsQuery = z.strictObject({
  limit: decimalInteger({ min: 1, max: 1000 }).default(100).openapi({
    param: { name: "limit", in: "query" },
    description: "Packets per page, 1–1000.",
  }),
  after: z.string().max(40).optional().openapi({
    param: { name: "after", in: "query" },
    description: "The `next_cursor` of the previous page.",
  }),
});

/** Reads a flow or answers 404. */
export async function flowOr404(
  options: FlowDetailRoutesOptions,
  id: number,
): Promise<FlowDetailView> {
  const view = await readFlowDetailView(options.sql, id, options.catalog);
  if (view === null) throw new HttpError(404, `no flow ${id}`, { details: { flow_id: id } });
  return view;
}

/** The packet cursor of a query, or 400. */
export function packetCursorOf(after: string | undefined) {
  if (after === undefined) return null;
  const cursor = decodePacketCursor(after);
  if (cursor === null) {
    throw new HttpError(400, "invalid after: pass the next_cursor of a previous page", {
      details: { field: "after" },
    });
  }
  return cursor;
}

const notFound = {
  description: "No such flow",
  content: { "application/json": { schema: ErrorSchema } },
};

const ContributionSchema = z.object({
  feature: z.string().openapi({ example: "ctx_src_rejected_ratio" }),
  value: z.number().nullable().openapi({ description: "The flow's value of the feature." }),
  contribution: z.number().openapi({
    description: "SHAP value: how far this feature moved the raw score from the model's " +
      "expected score (positive: toward an attack).",
    example: 0.21,
  }),
});

const FeatureSchema = z.object({
  index: z.number().int(),
  name: z.string(),
  definition: z.string(),
  unit: z.string(),
  value: z.number().nullable(),
});

const text = z.string().nullable();
const int = z.number().int().nullable();

/** The flow's application metadata, by protocol (null parts: none seen). */
const AppSchema = z.object({
  app_protocol: text,
  dns: z.object({
    query: text,
    qtype: int,
    rcode: int,
    answers: z.array(z.string()),
    query_count: z.number().int(),
    names: z.array(z.string()),
  }).nullable(),
  tls: z.object({ sni: text, alpn: text, ja4: text, ja3: text, version: int, cipher: int })
    .nullable(),
  http: z.object({ method: text, host: text, path: text, user_agent: text, status: int })
    .nullable(),
  ssh: z.object({ client: text, server: text }).nullable(),
  dhcp: z.object({ hostname: text }).nullable(),
}).openapi("FlowApp", {
  description: "What the agent extracted from the flow's packets (first values). DNS TTL " +
    "and CNAMEs are per packet: see the flow's packets.",
});

/** The flow detail sub-app. */
export function flowDetailRoutes(options: FlowDetailRoutesOptions): Router {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/flows/{id}",
      summary: "One flow: endpoints, counters, state, prediction and every feature",
      description: "`features` lists the model's input vector with each feature's name, " +
        "definition and unit (models/FEATURES.md). `prediction.class_probabilities` is null: " +
        "the aggregator stores the label and the score (the calibrated probability of an " +
        "attack) only. " +
        "`prediction.explanation` says why a flow raised an alert: for every flow with an " +
        "attack label and a score of at least ALERT_MIN_SCORE, the five features with the largest exact TreeSHAP " +
        "contributions (either sign, largest first) to the forest's raw, uncalibrated score " +
        "1 − P(benign); the model's expected score plus all contributions equals that score. " +
        "Null for other flows, for flows stored before explanations existed, and when the " +
        "model has no covers file.",
      request: { params: FlowIdParams },
      responses: {
        200: {
          description: "The flow",
          content: {
            "application/json": {
              schema: z.object({
                flow: FlowSchema.extend({
                  interface: z.string().nullable(),
                  ip_proto: z.number().int().nullable(),
                  vlan_inner: z.number().int().nullable(),
                  feature_version: z.number().int().nullable(),
                  updated_at: z.string(),
                }),
                prediction: z.object({
                  label: z.string().nullable(),
                  score: z.number().nullable(),
                  model_version: z.string().nullable(),
                  class_probabilities: z.record(z.string(), z.number()).nullable(),
                  explanation: z.array(ContributionSchema).nullable(),
                }),
                features: z.array(FeatureSchema).nullable(),
                features_note: z.string().nullable(),
                app: AppSchema,
              }),
            },
          },
        },
        400: badRequest("id is not a flow id"),
        404: notFound,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await flowOr404(options, id), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/flows/{id}/packets",
      summary: "One flow's stored raw packets with their decoded fields, a page at a time",
      description: "Oldest first. `state.status` is `stored`, `expired` (raw-packet retention " +
        "removed them; `state.note` says so) or `missing`. `direction` is `orig` or `resp`; " +
        "`has_bytes` says whether the captured bytes are stored.",
      request: { params: FlowIdParams, query: FlowPacketsQuery },
      responses: {
        200: {
          description: "A page of packets",
          content: {
            "application/json": {
              schema: z.object({
                packets: z.array(z.record(z.string(), z.unknown())),
                next_cursor: z.string().nullable(),
                state: z.object({
                  status: z.enum(["stored", "expired", "missing"]),
                  note: z.string().nullable(),
                  oldest_stored_day: z.string().nullable(),
                }),
              }),
            },
          },
        },
        400: badRequest("id, limit or after is not valid"),
        404: notFound,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, after } = c.req.valid("query");
      const cursor = packetCursorOf(after);
      const view = await flowOr404(options, id);
      return c.json(
        await readFlowPacketPage(options.sql, view.flow, { limit, after: cursor }),
        200,
      );
    },
  );
  return app;
}
