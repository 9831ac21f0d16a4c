/**
 * Response schemas several route modules share, for the OpenAPI document.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";

/** The JSON body of every 4xx/5xx answer. */
export const ErrorSchema = z.object({ error: z.string() }).passthrough().openapi("Error");

/** One flow as the API returns it (the seed's field names). */
export const FlowSchema = z.object({
  id: z.number().int(),
  flow_uid: z.string(),
  community_id: z.string().nullable(),
  agent: z.string().nullable().openapi({
    description: "The agent (sensor) whose packets made the flow: each agent's view is a flow " +
      "of its own. Null for flows stored before flows had one.",
    example: "sensor-1",
  }),
  tunnel_type: z.string().nullable().openapi({
    description: "The tunnel the flow was keyed on (vxlan, geneve, gre, erspan, pppoe), so two " +
      "tenants' overlapping inner addresses stay apart; null when untunnelled (or in MPLS, " +
      "GTP-U or IP-in-IP, which key nothing).",
  }),
  tunnel_id: z.number().int().nullable().openapi({
    description: "That tunnel's id: VXLAN/Geneve VNI, GRE key, ERSPAN or PPPoE session.",
  }),
  orig_ip: z.string().nullable(),
  orig_port: z.number().int().nullable(),
  resp_ip: z.string().nullable(),
  resp_port: z.number().int().nullable(),
  protocol: z.string(),
  vlan: z.number().int().nullable(),
  first_seen: z.number(),
  last_seen: z.number(),
  duration: z.number(),
  orig_packets: z.number().int(),
  resp_packets: z.number().int(),
  orig_bytes: z.number().int(),
  resp_bytes: z.number().int(),
  state: z.enum(["active", "closed"]),
  close_reason: z.string().nullable(),
  conn_state: z.string().nullable(),
  label: z.string().nullable(),
  score: z.number().nullable(),
  model_version: z.string().nullable(),
}).openapi("Flow");

/** A 400 answer in the OpenAPI document. */
export function badRequest(description: string) {
  return { description, content: { "application/json": { schema: ErrorSchema } } };
}

/** Bounds of {@link decimalInteger}. */
export interface DecimalIntegerOptions {
  /** Smallest value accepted. */
  min: number;
  /** Largest value accepted. */
  max: number;
}

/**
 * A path or query parameter holding an integer written as plain decimal
 * digits. `Number()`, and so `z.coerce.number()`, also reads `1e3`, `0x10`,
 * `0b1`, ` 12 ` and `12.0`; a parameter that names a count or an id has one
 * spelling.
 */
export function decimalInteger(options: DecimalIntegerOptions) {
  return z.string()
    .regex(/^[0-9]{1,15}$/, "must be plain decimal digits")
    .transform(Number)
    .pipe(z.number().int().min(options.min).max(options.max))
    .openapi({ type: "integer", minimum: options.min, maximum: options.max });
}
